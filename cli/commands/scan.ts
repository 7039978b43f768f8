import type { Command } from 'commander';
export function registerScanCommand(_program: Command): void {}
