/**
 * What happened inside a Lambda function, as the Trailhound runtime collector
 * saw it (`runtime-record.ts` is the wire record; `normalizers/lambda-runtime.ts`
 * maps it here). One schema for the four OCSF classes the collector feeds —
 * Process Activity (1007), File System Activity (1001), Network Activity
 * (4001), DNS Activity (4003) — plus Application Lifecycle (6002) for platform
 * and collector-health records, because they share one source and everything
 * but their class-specific object (`process`, `file`, `dst_endpoint`,
 * `query`). `class_uid` tells which object is filled.
 *
 * Who, where and on what follow the audit events, so findings, baselines and
 * alerting read both alike: `actor` is the function's execution-role session,
 * `cloud` its account and region, `resources[0]` the function (unqualified
 * ARN).
 */
import { z } from 'zod';
import { Anomaly } from './api-activity.js';
import { Actor, Cloud, Metadata, Resource, Status } from './common.js';
import { RuntimeKind } from './runtime-record.js';

/** Source tag of runtime events; the discriminator of {@link NormalizedEvent}. */
export const RuntimeSource = z
  .literal('aws.lambda.runtime')
  .describe('Runtime activity from inside a Lambda function, recorded by the Trailhound extension.');
export type RuntimeSource = z.infer<typeof RuntimeSource>;

export const RuntimeClassUid = z
  .union([z.literal(1001), z.literal(1007), z.literal(4001), z.literal(4003), z.literal(6002)])
  .describe(
    'OCSF class: 1007 Process Activity, 1001 File System Activity, 4001 Network Activity, 4003 DNS Activity, 6002 Application Lifecycle (platform and collector-health records).',
  );

export const RuntimeFile = z
  .object({
    path: z.string().describe('Absolute path.'),
    name: z.string().describe('Last path segment.'),
    parent_folder: z.string().describe('Folder of the file.'),
  })
  .describe('A file.');

export const RuntimeProcess = z
  .object({
    pid: z
      .number()
      .int()
      .optional()
      .describe(
        'Process id: the process itself (exec, and the process behind a network or file record); absent for a program launched with `posix_spawn` or `system`, whose pid the caller does not yet know.',
      ),
    name: z.string().optional().describe('Executable name (last segment of `file.path`), e.g. `sh`, `curl`.'),
    cmd_line: z
      .string()
      .optional()
      .describe('Arguments joined by spaces (exec, spawn) or the `system` command.'),
    args: z.array(z.string()).optional().describe('Arguments as recorded, `args[0]` first.'),
    file: RuntimeFile.optional().describe('The executable.'),
    parent_process: z
      .object({
        pid: z.number().int().optional().describe('Parent process id (the caller of spawn / system).'),
      })
      .optional()
      .describe('The parent process.'),
  })
  .describe('The process a record is about: the program launched, or the process that connected or opened.');

export const RuntimeEndpoint = z
  .object({
    ip: z.string().optional().describe('Destination address.'),
    port: z.number().int().optional().describe('Destination port.'),
    family: z.enum(['ipv4', 'ipv6', 'unix']).optional().describe('Address family.'),
    is_private: z
      .boolean()
      .describe('True for loopback, link-local (the Lambda Runtime API, IMDS) and private (VPC) addresses.'),
  })
  .describe('Where a connection went.');

export const Runtime = z
  .object({
    kind: RuntimeKind.describe(
      'The collector’s record kind (`process.exec`, `network.connect`, `file.write-tmp`…); runtime rules pin it the way audit rules pin `api.operation`.',
    ),
    function: z
      .object({
        uid: z
          .string()
          .describe('Unqualified function ARN, `arn:aws:lambda:<region>:<account>:function:<name>`.'),
        name: z.string().describe('Function name.'),
        version: z.string().describe('Function version (`$LATEST` or a number).'),
        runtime: z
          .string()
          .optional()
          .describe('Lambda runtime identifier, e.g. `nodejs22.x`, `python3.13`.'),
      })
      .describe('The function the record came from.'),
    request_id: z
      .string()
      .optional()
      .describe('Invocation the record happened in; absent during init and shutdown.'),
    phase: z
      .enum(['init', 'invoke'])
      .describe(
        '`invoke` inside an invocation (the record has a request id), else `init` (init or shutdown).',
      ),
    result: z.number().int().optional().describe('0, or the negative errno the call returned.'),
    denied: z.boolean().describe('Refused by the collector’s enforce mode.'),
    backstop: z.boolean().describe('Seen by the extension’s /proc scan, not through libc.'),
    truncated: z.boolean().describe('Text (path or arguments) was cut to fit the record.'),
    platform: z
      .object({
        type: z
          .string()
          .describe('Telemetry API event type, e.g. `platform.initStart`, `platform.runtimeDone`.'),
        record: z.record(z.string(), z.unknown()).describe('The Telemetry API record.'),
      })
      .optional()
      .describe('platform.event records: the Lambda Telemetry API event.'),
    health: z
      .object({
        written: z.number().describe('Records written since the previous health record.'),
        dropped: z.number().describe('Records lost because the ring was full.'),
        denied: z.number().describe('Calls refused by enforce mode.'),
        errors: z.array(z.string()).describe('Collector errors.'),
      })
      .optional()
      .describe('collector.health records: the collector’s counters since the previous one.'),
  })
  .describe('Trailhound’s runtime context: which function, which record kind, enforce-mode outcome.');
export type Runtime = z.infer<typeof Runtime>;

/** OCSF Process / File System / Network / DNS Activity from inside a Lambda function. */
export const RuntimeActivity = z
  .object({
    source: RuntimeSource,
    class_uid: RuntimeClassUid,
    category_uid: z
      .union([z.literal(1), z.literal(4), z.literal(6)])
      .describe('OCSF category: 1 System Activity, 4 Network Activity, 6 Application Activity.'),
    activity_id: z
      .number()
      .int()
      .describe(
        'OCSF activity of the class: Process 1 Launch; File 2 Read, 3 Update (write), 6 Set Attributes (chmod); Network 1 Open; DNS 1 Query; Application Lifecycle 3 Start, 4 Stop, 99 Other.',
      ),
    activity_name: z.string().describe('The activity as a word: Launch, Read, Update, Open, Query…'),
    type_uid: z.number().int().describe('OCSF type: `class_uid * 100 + activity_id`.'),
    time: z.number().describe('Event time, epoch milliseconds.'),
    status: Status,
    cloud: Cloud,
    actor: Actor,
    resources: z.array(Resource).describe('The function (first), as an `AWS::Lambda::Function` resource.'),
    runtime: Runtime,
    process: RuntimeProcess.optional(),
    file: RuntimeFile.optional().describe('File System Activity: the file read, written or made executable.'),
    dst_endpoint: RuntimeEndpoint.optional(),
    query: z
      .object({ hostname: z.string().describe('Name looked up (lower case, no trailing dot).') })
      .optional()
      .describe('DNS Activity: the query.'),
    answers: z
      .array(z.object({ rdata: z.string().describe('An address the name resolved to.') }))
      .optional()
      .describe('DNS Activity: the answers.'),
    metadata: Metadata,
    anomaly: Anomaly.optional(),
    raw: z.record(z.string(), z.unknown()).describe('The wire record exactly as the extension wrote it.'),
  })
  .describe('A runtime event: one process, file, network or DNS call observed inside a Lambda function.');
export type RuntimeActivity = z.infer<typeof RuntimeActivity>;
