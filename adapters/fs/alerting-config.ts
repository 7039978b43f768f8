/**
 * The alerting configuration from a folder: `alerting.yml` (required) and
 * `suppressions.yml` (optional), as the CLI's `--notify DIR` and the
 * deployed functions (`ALERTING_DIR`, from the data layer) both read it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AlertingConfig,
  AlertingConfigError,
  parseAlertingConfig,
} from '../../detectors/alerting/config.js';
import { packageRoot } from './rule-files.js';

export const ALERTING_FILE = 'alerting.yml';
export const SUPPRESSIONS_FILE = 'suppressions.yml';

/** The sample configuration of the source tree (`samples/alerting`). */
export function sampleAlertingDir(): string {
  return join(packageRoot(), 'samples', 'alerting');
}

export function readAlertingConfigDir(dir: string): AlertingConfig {
  const alertingPath = join(dir, ALERTING_FILE);
  if (!existsSync(alertingPath)) throw new AlertingConfigError(alertingPath, ['no such file']);
  const suppressionsPath = join(dir, SUPPRESSIONS_FILE);
  return parseAlertingConfig(
    { text: readFileSync(alertingPath, 'utf8'), source: alertingPath },
    existsSync(suppressionsPath)
      ? { text: readFileSync(suppressionsPath, 'utf8'), source: suppressionsPath }
      : undefined,
  );
}
