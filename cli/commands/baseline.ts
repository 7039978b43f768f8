/**
 * `trailhound baseline …`: the behavioural profiles of local mode, kept by
 * `trailhound scan --baselines --state DIR` in dynalite under `DIR/profiles`.
 *
 * Also the one place that opens local profiles, for `scan` and for other
 * baseline subcommands (`baseline seed` registers itself through
 * {@link registerBaselineCommands}' `extend` hook and opens the store with
 * {@link openLocalBaselines}).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Command, Option } from 'commander';
import { ProfileStoreError } from '../../adapters/dynamodb/errors.js';
import { startLocalDynalite } from '../../adapters/dynamodb/local-dynalite.js';
import {
  createProfileTable,
  DEFAULT_PROFILE_TABLE,
  DynamoProfileStore,
} from '../../adapters/dynamodb/profile-store.js';
import { FEATURES, type FeatureName } from '../../detectors/baselines/features.js';
import { type Profile, type ValueStats, volumeStdDev } from '../../detectors/baselines/profile.js';
import { UsageError } from '../errors.js';

/** Profiles of `--state DIR` live in `DIR/profiles` (a LevelDB folder of dynalite). */
export function profilesDir(stateDir: string): string {
  return join(stateDir, 'profiles');
}

export interface LocalBaselines extends LocalTable {
  readonly store: DynamoProfileStore;
}

/** The local DynamoDB table the CLI keeps profiles, incidents and rate limits in. */
export interface LocalTable {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Where the table is: the folder, or `in memory`. */
  readonly location: string;
  readonly persisted: boolean;
  close(): Promise<void>;
}

/**
 * Starts dynalite (persisted under `<stateDir>/profiles`, or in memory without
 * a state folder) and makes sure the table exists. Close it when done: it
 * holds the folder's lock.
 */
export async function openLocalTable(stateDir: string | undefined): Promise<LocalTable> {
  const path = stateDir !== undefined ? profilesDir(stateDir) : undefined;
  let local: Awaited<ReturnType<typeof startLocalDynalite>>;
  try {
    local = await startLocalDynalite(path !== undefined ? { path } : {});
  } catch (error) {
    if (error instanceof ProfileStoreError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  try {
    await createProfileTable(local.client, DEFAULT_PROFILE_TABLE);
  } catch (error) {
    await local.close();
    throw error;
  }
  return {
    client: local.client,
    tableName: DEFAULT_PROFILE_TABLE,
    location: path ?? 'in memory (discarded at exit; use --state DIR to keep it)',
    persisted: path !== undefined,
    close: () => local.close(),
  };
}

/** {@link openLocalTable} with the profile store on it. */
export async function openLocalBaselines(stateDir: string | undefined): Promise<LocalBaselines> {
  const table = await openLocalTable(stateDir);
  return { ...table, store: new DynamoProfileStore({ client: table.client, tableName: table.tableName }) };
}

/**
 * The profile subject a user means: `principal:<uid>`, `key:<id>`,
 * `function:<account>:<name>` and `account:<provider>:<id>` as they are; a bare ARN (or other principal id) is
 * a principal, a bare `AKIA…` id a key, and twelve digits an AWS account.
 */
export function subjectOf(input: string): string {
  const text = input.trim();
  if (/^(principal|key|function|account):/.test(text)) return text;
  if (/^AKIA[A-Z0-9]{12,}$/.test(text)) return `key:${text}`;
  if (/^\d{12}$/.test(text)) return `account:AWS:${text}`;
  return `principal:${text}`;
}

export interface BaselineCommandHooks {
  /** Adds more subcommands to `trailhound baseline` (e.g. `seed`). */
  readonly extend?: (baseline: Command) => void;
}

/** Registers `trailhound baseline` with `show`; returns the `baseline` command for more subcommands. */
export function registerBaselineCommands(program: Command, hooks: BaselineCommandHooks = {}): Command {
  const baseline = program
    .command('baseline')
    .description('Behavioural baselines kept by `scan --baselines --state DIR`: show a profile');

  baseline
    .command('show')
    .description(
      'Print the profile of a principal (ARN or principal:<arn>), an access key (key:<id>), a Lambda function (function:<account>:<name>) or an account (account:AWS:<id>)',
    )
    .argument('<subject>', 'an ARN, principal:<uid>, key:<AKIA…>, account:AWS:<12 digits>')
    .requiredOption('--state <dir>', 'the state folder given to `trailhound scan --baselines --state DIR`')
    .addOption(
      new Option('--format <format>', 'readable text or the profile as JSON')
        .choices(['text', 'json'])
        .default('text'),
    )
    .option('--top <n>', 'values listed per feature in text', (v) => positiveInteger(v, '--top'), 10)
    .action(async (input: string, options: { state: string; format: 'text' | 'json'; top: number }) => {
      const profile = await readProfile(options.state, subjectOf(input));
      process.stdout.write(
        options.format === 'json'
          ? `${JSON.stringify(profile, null, 2)}\n`
          : renderProfile(profile, { top: options.top }),
      );
    });

  hooks.extend?.(baseline);
  return baseline;
}

function positiveInteger(value: string, name: string): number {
  if (!/^[1-9]\d*$/.test(value))
    throw new UsageError(`${name} must be a positive whole number, got "${value}"`);
  return Number(value);
}

async function readProfile(stateDir: string, subject: string): Promise<Profile> {
  // Never create an empty database where the user pointed by mistake.
  if (!existsSync(profilesDir(stateDir)))
    throw new UsageError(
      `no baselines in ${stateDir} (no profiles folder): run \`trailhound scan --baselines --state ${stateDir} …\` first`,
    );
  const local = await openLocalBaselines(stateDir);
  try {
    const profile = (await local.store.load([subject])).get(subject);
    if (profile === undefined)
      throw new UsageError(
        `no profile for ${subject} in ${local.location}${subject.startsWith('principal:') ? ' (subjects are principal:<arn>, key:<access key id> or account:AWS:<account id>)' : ''}`,
      );
    return profile;
  } finally {
    await local.close();
  }
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/:\d\d\.\d{3}Z$/, 'Z');
const count = (n: number) => n.toLocaleString('en-US');

const FEATURE_TITLES: Record<FeatureName, string> = {
  operation: 'operations',
  network: 'networks',
  country: 'countries',
  region: 'regions',
  client: 'clients',
  resource: 'resources',
  executable: 'executables',
  destination: 'destinations',
  path: 'paths',
};

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const SHADES = ' ▁▂▃▄▅▆▇█';

/** A profile for people: totals, top values per feature with counts and first/last seen, week activity, volume. */
export function renderProfile(profile: Profile, options: { top?: number } = {}): string {
  const top = options.top ?? 10;
  const pct = (n: number) => (profile.events === 0 ? '0' : ((100 * n) / profile.events).toFixed(1));
  const { volume } = profile;
  const lines = [
    `${profile.subject}  (${profile.kind})`,
    `events    ${count(profile.events)}, ${count(profile.failures)} failed (${pct(profile.failures)}%), ${count(profile.denied)} denied (${pct(profile.denied)}%)`,
    `seen      ${iso(profile.firstSeen)} → ${iso(profile.lastSeen)}`,
    `volume    ${volume.mean.toFixed(1)} ± ${volumeStdDev(volume).toFixed(1)} events per active hour over ${count(volume.n)} completed hour(s); ${count(volume.count)} so far in the hour of ${iso(volume.hour)}`,
    `version   ${profile.version} (batches merged; the last ${profile.batches.length} remembered for replays)`,
  ];
  for (const feature of FEATURES) {
    const table = profile.values[feature];
    const entries = Object.entries(table ?? {}).sort((a, b) => b[1].c - a[1].c || b[1].l - a[1].l);
    if (entries.length === 0) continue;
    lines.push(
      '',
      `${FEATURE_TITLES[feature]} (${entries.length > top ? `top ${top} of ` : ''}${entries.length})`,
    );
    lines.push(...valueTable(entries.slice(0, top)));
  }
  lines.push('', 'activity by hour of the week (UTC)', ...weekGrid(profile.hours));
  return `${lines.join('\n')}\n`;
}

function valueTable(entries: ReadonlyArray<readonly [string, ValueStats]>): string[] {
  const width = Math.max(5, ...entries.map(([, s]) => count(s.c).length));
  return [
    `  ${'count'.padStart(width)}  first seen         last seen          value`,
    ...entries.map(
      ([value, stats]) => `  ${count(stats.c).padStart(width)}  ${iso(stats.f)}  ${iso(stats.l)}  ${value}`,
    ),
  ];
}

/** Seven rows of 24 hours, shaded by count relative to the busiest hour, with each day's total. */
function weekGrid(hours: readonly number[]): string[] {
  const max = Math.max(0, ...hours);
  const header = `       ${Array.from({ length: 24 }, (_, h) => (h % 6 === 0 ? String(h).padEnd(6) : '')).join('')}  total`;
  const rows = DAYS.map((day, d) => {
    const slice = hours.slice(d * 24, d * 24 + 24);
    const cells = slice
      .map((n) => (n === 0 ? '·' : SHADES[Math.max(1, Math.round((n / max) * (SHADES.length - 1)))]))
      .join('');
    return `  ${day}  ${cells}  ${count(slice.reduce((a, b) => a + b, 0))}`;
  });
  return [header, ...rows, `  (█ = ${count(max)} events in one hour of the week, · = none)`];
}
