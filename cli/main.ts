import { Command, CommanderError } from 'commander';
import { ProfileStoreError } from '../adapters/dynamodb/errors.js';
import { AlertingConfigError } from '../detectors/alerting/config.js';
import { DetectorError } from '../detectors/errors.js';
import { TRAILHOUND_VERSION } from '../detectors/version.js';
import { registerBaselineCommands } from './commands/baseline.js';
import { registerBaselineSeedCommand } from './commands/baseline-seed.js';
import { registerNotifyCommands } from './commands/notify.js';
import { registerRulesCommands } from './commands/rules.js';
import { registerScanCommand } from './commands/scan.js';
import { UsageError } from './errors.js';

const program = new Command()
  .name('trailhound')
  .description(
    'Threat detection for cloud audit logs: scan AWS, GCP, Azure and Kubernetes logs, test rules, show baselines, alert',
  )
  .version(TRAILHOUND_VERSION)
  .exitOverride();

registerScanCommand(program);
registerRulesCommands(program);
registerNotifyCommands(program);
// More `baseline` subcommands (e.g. `seed`) plug in through `extend`: { extend: (baseline) => … }.
registerBaselineCommands(program, { extend: registerBaselineSeedCommand });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version "errors" exit 0; real usage errors exit 2.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (
    error instanceof UsageError ||
    error instanceof DetectorError ||
    error instanceof ProfileStoreError ||
    error instanceof AlertingConfigError
  ) {
    process.stderr.write(`trailhound: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(
      `trailhound: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 2;
  }
}
