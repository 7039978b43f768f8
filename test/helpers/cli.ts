import { execFile, spawnSync } from 'node:child_process';
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

/**
 * Runs the bundled command without blocking this process, so servers the test
 * started in it (local stand-ins of Slack, PagerDuty, Secrets Manager) can answer.
 */
export function runCliAsync(
  args: string[],
  options: { env?: Readonly<Record<string, string>>; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(packageRoot(), 'bin', 'trailhound.js'), ...args],
      {
        cwd: options.cwd ?? packageRoot(),
        encoding: 'utf8',
        timeout: 120_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ...options.env },
      },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ status, stdout, stderr });
      },
    );
  });
}
