/**
 * Runtime collector record (`schema/runtime-record.ts`) → OCSF runtime event
 * (`schema/runtime-activity.ts`). Pure: the record is validated with its zod
 * schema (a line that carries the marker but not the shape is a normalization
 * problem, quarantined like any other), then mapped field by field.
 */
import { createHash } from 'node:crypto';
import type { Actor, Resource } from '../schema/common.js';
import type { RuntimeActivity } from '../schema/runtime-activity.js';
import { RuntimeRecord } from '../schema/runtime-record.js';
import { NormalizationError } from './errors.js';
import type { NormalizeContext } from './time.js';

/** Whether a parsed JSON object is a runtime collector record (by its marker; the shape is checked later). */
export function isRuntimeRecord(value: Record<string, unknown>): boolean {
  return value.trailhound_runtime !== undefined && typeof value.kind === 'string';
}

type ClassShape = Pick<RuntimeActivity, 'class_uid' | 'category_uid' | 'activity_id' | 'activity_name'>;

const CLASS_OF: Record<RuntimeRecord['kind'], ClassShape> = {
  'process.exec': { class_uid: 1007, category_uid: 1, activity_id: 1, activity_name: 'Launch' },
  'process.spawn': { class_uid: 1007, category_uid: 1, activity_id: 1, activity_name: 'Launch' },
  'process.system': { class_uid: 1007, category_uid: 1, activity_id: 1, activity_name: 'Launch' },
  'process.backstop': { class_uid: 1007, category_uid: 1, activity_id: 1, activity_name: 'Launch' },
  'network.connect': { class_uid: 4001, category_uid: 4, activity_id: 1, activity_name: 'Open' },
  'network.backstop': { class_uid: 4001, category_uid: 4, activity_id: 1, activity_name: 'Open' },
  'network.dns': { class_uid: 4003, category_uid: 4, activity_id: 1, activity_name: 'Query' },
  'file.read-sensitive': { class_uid: 1001, category_uid: 1, activity_id: 2, activity_name: 'Read' },
  'file.write-tmp': { class_uid: 1001, category_uid: 1, activity_id: 3, activity_name: 'Update' },
  'file.chmod-exec': { class_uid: 1001, category_uid: 1, activity_id: 6, activity_name: 'Set Attributes' },
  'platform.event': { class_uid: 6002, category_uid: 6, activity_id: 99, activity_name: 'Other' },
  'collector.health': { class_uid: 6002, category_uid: 6, activity_id: 99, activity_name: 'Other' },
};

/** Telemetry API events that start or stop the runtime (Application Lifecycle Start / Stop). */
const PLATFORM_ACTIVITY: Record<string, [number, string]> = {
  'platform.initStart': [3, 'Start'],
  'platform.start': [3, 'Start'],
  'platform.runtimeDone': [4, 'Stop'],
  'platform.report': [4, 'Stop'],
};

/** Loopback, link-local (Runtime API, IMDS), private, CGNAT and unique-local addresses. */
const PRIVATE_ADDRESS =
  /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.|0\.0\.0\.0$|::1$|::$|f[cd][0-9a-f]{2}:|fe80:|::ffff:(127|10)\.)/i;

export const isPrivateAddress = (address: string): boolean => PRIVATE_ADDRESS.test(address);

function fileOf(path: string): NonNullable<RuntimeActivity['file']> {
  const slash = path.lastIndexOf('/');
  return {
    path,
    name: slash >= 0 ? path.slice(slash + 1) : path,
    parent_folder: slash > 0 ? path.slice(0, slash) : slash === 0 ? '/' : '',
  };
}

/** The execution role behind `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
function actorOf(record: RuntimeRecord, functionArn: string): Actor {
  const session = record.function.role_session;
  const match =
    session === undefined ? null : /^arn:(aws[\w-]*):sts::(\d+):assumed-role\/([^/]+)\/(.+)$/.exec(session);
  if (session === undefined || match === null) {
    // No session known: the function itself is the actor, so findings still name something stable.
    return {
      user: {
        uid: functionArn,
        name: record.function.name,
        type: 'Application',
        account: record.function.account,
      },
    };
  }
  const [, partition, account, role, sessionName] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  const roleArn = `arn:${partition}:iam::${account}:role/${role}`;
  return {
    user: { uid: roleArn, name: role, type: 'AssumedRole', account },
    session: { uid: session, name: sessionName, issuer: roleArn, mfa: false },
    invoked_by: 'lambda.amazonaws.com',
  };
}

/** `function+pid+time+kind+path(+port)`: the same record read twice has the same id on every path. */
function uidOf(record: RuntimeRecord, functionArn: string): string {
  return createHash('sha256')
    .update(
      [
        functionArn,
        record.function.version,
        record.pid ?? '',
        record.time,
        record.kind,
        record.path ?? record.platform?.type ?? '',
        record.port ?? '',
      ].join('\u0000'),
    )
    .digest('hex')
    .slice(0, 32);
}

export function normalizeLambdaRuntime(
  input: Record<string, unknown>,
  _context?: NormalizeContext,
): RuntimeActivity {
  const parsed = RuntimeRecord.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NormalizationError(
      `runtime record: ${issue?.path.map(String).join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
      'invalid-runtime-record',
    );
  }
  const record = parsed.data;
  const fn = record.function;
  const partition = fn.role_session?.split(':')[1] ?? 'aws';
  const functionArn =
    fn.arn?.split(':').slice(0, 7).join(':') ??
    `arn:${partition}:lambda:${fn.region}:${fn.account}:function:${fn.name}`;
  const shape = CLASS_OF[record.kind];
  let { activity_id: activityId, activity_name: activityName } = shape;
  if (record.kind === 'platform.event') {
    const known = PLATFORM_ACTIVITY[record.platform?.type ?? ''];
    if (known !== undefined) [activityId, activityName] = known;
  }
  const failed = record.denied === true || (record.result !== undefined && record.result < 0);
  const resource: Resource = {
    uid: functionArn,
    name: fn.name,
    type: 'AWS::Lambda::Function',
    account: fn.account,
  };
  const event: RuntimeActivity = {
    source: 'aws.lambda.runtime',
    class_uid: shape.class_uid,
    category_uid: shape.category_uid,
    activity_id: activityId,
    activity_name: activityName,
    type_uid: shape.class_uid * 100 + activityId,
    time: record.time,
    status: failed ? 'Failure' : record.result === 0 || record.result === undefined ? 'Success' : 'Unknown',
    cloud: { provider: 'AWS', account: fn.account, region: fn.region },
    actor: actorOf(record, functionArn),
    resources: [resource],
    runtime: {
      kind: record.kind,
      function: { uid: functionArn, name: fn.name, version: fn.version },
      phase: record.request_id === undefined ? 'init' : 'invoke',
      denied: record.denied === true,
      backstop: record.backstop === true,
      truncated: record.truncated === true,
    },
    metadata: {
      uid: uidOf(record, functionArn),
      original_time: new Date(record.time).toISOString(),
      product: 'Trailhound Lambda runtime collector',
      log_name: record.kind,
      version: String(record.trailhound_runtime),
    },
    raw: input,
  };
  const runtime = event.runtime;
  if (fn.runtime !== undefined) runtime.function.runtime = fn.runtime;
  if (record.request_id !== undefined) runtime.request_id = record.request_id;
  if (record.result !== undefined) runtime.result = record.result;
  if (record.platform !== undefined) runtime.platform = record.platform;
  if (record.health !== undefined) runtime.health = record.health;
  mapClassObject(event, record);
  return event;
}

function mapClassObject(event: RuntimeActivity, record: RuntimeRecord): void {
  const path = record.path;
  const kind = record.kind;
  if (
    kind === 'process.exec' ||
    kind === 'process.spawn' ||
    kind === 'process.system' ||
    kind === 'process.backstop'
  ) {
    // `system` runs `/bin/sh -c <command>`: the program launched is the shell.
    const executable = kind === 'process.system' ? '/bin/sh' : path;
    const args = kind === 'process.system' ? ['sh', '-c', ...(record.args ?? [])] : record.args;
    const launched: NonNullable<RuntimeActivity['process']> = {};
    // exec replaces the caller, so the record's pid is the new program's; spawn and system report the caller's.
    if (kind === 'process.exec' || kind === 'process.backstop') {
      if (record.pid !== undefined) launched.pid = record.pid;
      if (record.ppid !== undefined) launched.parent_process = { pid: record.ppid };
    } else if (record.pid !== undefined) launched.parent_process = { pid: record.pid };
    if (executable !== undefined) {
      launched.file = fileOf(executable);
      launched.name = launched.file.name;
    }
    if (args !== undefined) {
      launched.args = args;
      launched.cmd_line = args.join(' ');
    }
    event.process = launched;
    return;
  }
  if (kind === 'platform.event' || kind === 'collector.health') return;
  // Network and file records: the process that made the call.
  const caller: NonNullable<RuntimeActivity['process']> = {};
  if (record.pid !== undefined) caller.pid = record.pid;
  if (record.ppid !== undefined) caller.parent_process = { pid: record.ppid };
  if (record.exe !== undefined) {
    caller.file = fileOf(record.exe);
    caller.name = caller.file.name;
  }
  event.process = caller;
  if (kind === 'network.connect' || kind === 'network.backstop') {
    const endpoint: NonNullable<RuntimeActivity['dst_endpoint']> = {
      is_private: path !== undefined && isPrivateAddress(path),
    };
    if (path !== undefined) endpoint.ip = path;
    if (record.port !== undefined) endpoint.port = record.port;
    if (record.family !== undefined) endpoint.family = record.family;
    if (record.family === 'unix') endpoint.is_private = true;
    event.dst_endpoint = endpoint;
  } else if (kind === 'network.dns') {
    if (path !== undefined) event.query = { hostname: path.toLowerCase().replace(/\.$/, '') };
    if (record.addresses !== undefined) event.answers = record.addresses.map((rdata) => ({ rdata }));
  } else if (path !== undefined) {
    event.file = fileOf(path);
  }
}
