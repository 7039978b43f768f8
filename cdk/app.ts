/**
 * The Trailhound CDK app: configuration → stacks → cdk-nag.
 *
 * `cdk.json` runs this file (`npx tsx cdk/app.ts`). The configuration comes
 * from `config.ts`, the only reader of context and environment; see
 * `cdk/README.md` for the keys and the deployment steps.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfig, type TrailhoundConfig } from './config.js';
import { buildTrailhound } from './trailhound.js';

const app = new App();
let config: TrailhoundConfig;
try {
  config = loadConfig(app);
} catch (error) {
  // A configuration mistake is the user's to fix: show the list of problems, not a stack trace.
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
buildTrailhound(app, config);
// Every AwsSolutions finding fails the synthesis unless acknowledged, with its reason, where it arises.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
