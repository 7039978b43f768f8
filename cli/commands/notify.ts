/**
 * `trailhound notify test|redrive` and `trailhound incident list|ack|resolve`:
 * the alerting path from the command line, through the same Alerter,
 * destinations and incident store as the deployed functions (see
 * `cli/alerting.ts` for where each lives locally).
 */
import { type Command, Option } from 'commander';
import { sampleAlertingDir } from '../../adapters/fs/alerting-config.js';
import { redriveFileDeadLetters } from '../../adapters/fs/file-dead-letters.js';
import type { AlertSummary } from '../../detectors/alerting/alerter.js';
import { foldFinding, type Incident, IncidentState } from '../../detectors/alerting/incident.js';
import { FINDING_SCHEMA_VERSION, type Finding, Severity } from '../../detectors/schema/finding.js';
import { openLocalAlerting } from '../alerting.js';
import { UsageError } from '../errors.js';

const ALERTING_OPTION = ['--alerting <dir>', 'folder of alerting.yml and suppressions.yml'] as const;

/** A finding that says plainly it is a test, for `notify test`. */
export function testFinding(severity: Severity, now: number): Finding {
  return {
    schema_version: FINDING_SCHEMA_VERSION,
    class_uid: 2004,
    finding_uid: `trailhound-notify-test-${now}`,
    time: now,
    first_seen: now,
    last_seen: now,
    count: 1,
    rule: {
      uid: 'trailhound.test.notification',
      name: 'Trailhound test notification',
      source: 'trailhound',
      maturity: 'stable',
    },
    severity,
    risk_score: 0,
    attack: [
      { tactic: 'Discovery', technique_id: 'T1087.004', technique_name: 'Account Discovery: Cloud Account' },
    ],
    cloud: { provider: 'AWS', account: '000000000000', region: 'us-east-1' },
    actor: { principal: 'trailhound-notify-test', type: 'Test' },
    resources: [],
    evidence: { event_uids: [], operations: [] },
    explanation:
      'This is a test notification sent by `trailhound notify test`: no activity happened. If you can read it, this destination works.',
    runbook: 'Nothing to do: this checks that notifications arrive.',
  };
}

export function registerNotifyCommands(program: Command): void {
  const notify = program
    .command('notify')
    .description('Check and operate the alert destinations of an alerting configuration')
    .addHelpText(
      'after',
      '\nCredentials are read from Secrets Manager with your AWS credentials. Endpoints can be overridden with\nAWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_SECURITYHUB, TRAILHOUND_SLACK_API_URL and TRAILHOUND_PAGERDUTY_URL.',
    );

  notify
    .command('test')
    .description('Send a sample finding, marked as a test, to one destination')
    .requiredOption('--destination <name|kind>', 'a destination name, or slack, pagerduty or securityhub')
    .option(...ALERTING_OPTION, sampleAlertingDir())
    .addOption(
      new Option('--severity <severity>', 'severity of the sample').choices(Severity.options).default('high'),
    )
    .action(async (options: { destination: string; alerting: string; severity: Severity }) => {
      const local = await openLocalAlerting({ alertingDir: options.alerting });
      try {
        const destination =
          local.destinations.find((d) => d.name === options.destination) ??
          local.destinations.find((d) => d.kind === options.destination);
        if (destination === undefined)
          throw new UsageError(
            `no destination named or of kind "${options.destination}" in ${options.alerting} (there: ${
              local.destinations.map((d) => `${d.name} (${d.kind})`).join(', ') || 'none'
            })`,
          );
        const now = Date.now();
        const finding = testFinding(options.severity, now);
        const { incident } = foldFinding(undefined, finding, now);
        const result = await destination.deliver([{ incident, change: 'opened', finding }]);
        for (const failure of result.failed)
          process.stderr.write(
            `trailhound: ${destination.name}: not delivered: ${failure.error}${failure.retryable ? ' (worth retrying)' : ''}\n`,
          );
        if (result.delivered.length > 0)
          process.stdout.write(`sent a test notification to ${destination.name} (${destination.kind})\n`);
        process.exitCode = result.failed.length > 0 ? 1 : 0;
      } finally {
        await local.close();
      }
    });

  notify
    .command('redrive')
    .description('Deliver again what destinations could not take (kept under <state>/undelivered)')
    .requiredOption('--state <dir>', 'the state folder of the scans that notified')
    .option(...ALERTING_OPTION, sampleAlertingDir())
    .action(async (options: { state: string; alerting: string }) => {
      const local = await openLocalAlerting({ alertingDir: options.alerting, stateDir: options.state });
      try {
        const summary = await redriveFileDeadLetters({
          dir: local.deadLetterDir,
          destinations: new Map(local.destinations.map((d) => [d.name, d])),
          redeliver: local.alerter.redeliver,
        });
        process.stdout.write(
          `redrive: ${summary.delivered} delivered, ${summary.failed} still failing, ${summary.unknownDestination} for unknown destinations, ${summary.unreadable} unreadable\n`,
        );
        process.exitCode = summary.failed + summary.unknownDestination + summary.unreadable > 0 ? 1 : 0;
      } finally {
        await local.close();
      }
    });

  const incident = program
    .command('incident')
    .description('List incidents and change their state, locally (--state) or in a deployment (--table)');

  incident
    .command('list')
    .description('Incidents not yet resolved')
    .option('--state <dir>', 'the state folder of the scans that notified')
    .option('--table <name>', "a deployment's profile table (read with your AWS credentials)")
    .option(...ALERTING_OPTION, sampleAlertingDir())
    .action(async (options: IncidentStoreOptions) => {
      const local = await openLocalAlerting({
        alertingDir: options.alerting,
        ...incidentStoreOf(options),
        withDestinations: false,
      });
      try {
        const incidents = (await local.store.listUnresolved()).sort(
          (a, b) => b.last_finding_at - a.last_finding_at,
        );
        for (const i of incidents) process.stdout.write(`${incidentLine(i)}\n`);
        if (incidents.length === 0) process.stdout.write('no unresolved incidents\n');
      } finally {
        await local.close();
      }
    });

  for (const [verb, state] of [
    ['ack', 'acknowledged'],
    ['resolve', 'resolved'],
    ['reopen', 'open'],
  ] as const) {
    incident
      .command(verb)
      .description(`Mark an incident ${state} and tell the destinations that were alerted`)
      .argument('<key>', 'the incident key (inc-…)')
      .option('--state <dir>', 'the state folder of the scans that notified')
      .option('--table <name>', "a deployment's profile table (changed with your AWS credentials)")
      .option(
        '--dead-letter-queue <url>',
        "with --table: the deployment's undelivered queue (stack output AlertingUndeliveredQueueUrl)",
      )
      .requiredOption('--by <who>', 'who is doing it (shown in the destinations)')
      .option(...ALERTING_OPTION, sampleAlertingDir())
      .action(
        async (key: string, options: IncidentStoreOptions & { by: string; deadLetterQueue?: string }) => {
          const local = await openLocalAlerting({
            alertingDir: options.alerting,
            ...incidentStoreOf(options),
            deadLetterQueueUrl: options.deadLetterQueue,
          });
          try {
            if ((await local.store.get(key)) === undefined)
              throw new UsageError(`no incident ${key} in ${options.table ?? options.state}`);
            const summary = await local.alerter.setState(key, IncidentState.parse(state), options.by);
            process.stdout.write(`${key}: ${state}${deliveryText(summary)}\n`);
          } finally {
            await local.close();
          }
        },
      );
  }
}

interface IncidentStoreOptions {
  state?: string;
  table?: string;
  alerting: string;
}

/** Where the incidents are: exactly one of a local state folder and a deployment's table. */
function incidentStoreOf(options: IncidentStoreOptions): { stateDir?: string; table?: string } {
  if ((options.state === undefined) === (options.table === undefined))
    throw new UsageError('give either --state DIR (local scans) or --table NAME (a deployment)');
  return options.table !== undefined ? { table: options.table } : { stateDir: options.state as string };
}

function incidentLine(i: Incident): string {
  return [
    i.key,
    i.severity.padEnd(8),
    i.state.padEnd(12),
    new Date(i.last_finding_at).toISOString(),
    `${i.findings_total} finding(s)`,
    i.title,
  ].join('  ');
}

/** `; sent to slack-soc (1), pagerduty (1 failed)` for a summary's destinations. */
export function deliveryText(summary: AlertSummary): string {
  const parts = Object.entries(summary.destinations).map(([name, t]) => {
    const notes = [
      t.delivered > 0 ? `${t.delivered} sent` : '',
      t.failed > 0 ? `${t.failed} undelivered, kept for redrive` : '',
      t.rateLimited > 0 ? `${t.rateLimited} held back by the rate limit` : '',
    ].filter((n) => n !== '');
    return `${name}: ${notes.join(', ')}`;
  });
  return parts.length > 0 ? `; ${parts.join('; ')}` : '';
}
