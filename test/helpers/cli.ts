import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../adapters/fs/rule-files.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled `trailhound` command (built by the vitest global setup) as a user would. */
export function runCli(args: string[], cwd: string = packageRoot()): CliResult {
  const result = spawnSync(process.execPath, [join(packageRoot(), 'bin', 'trailhound.js'), ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
