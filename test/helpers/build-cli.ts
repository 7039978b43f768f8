import { execFileSync } from 'node:child_process';

/** vitest global setup: bundle the CLI so end-to-end tests run exactly what users run. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
