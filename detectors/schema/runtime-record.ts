/**
 * The runtime collector's wire record: what the Lambda extension
 * (`lambda-layer/`) emits for each ring record (`native-collector/FORMAT.md`)
 * and each platform event, one JSON object per line, to the function's log
 * stream (for a CloudWatch Logs subscription) or in batches to SQS. The
 * runtime normalizer turns it into OCSF Process / Network / File System
 * Activity. The marker field `trailhound_runtime` lets readers tell these
 * lines apart from the function's own logs.
 */
import { z } from 'zod';

export const RUNTIME_RECORD_VERSION = 1;

export const RuntimeKind = z.enum([
  'process.exec',
  'process.spawn',
  'process.system',
  'network.connect',
  'network.dns',
  'file.read-sensitive',
  'file.write-tmp',
  'file.chmod-exec',
  'process.backstop',
  'network.backstop',
  /** Telemetry API platform events worth keeping: init, timeouts, out of memory, shutdown. */
  'platform.event',
  /** The collector's own health: records dropped, ring errors, enforce-mode failures. */
  'collector.health',
]);
export type RuntimeKind = z.infer<typeof RuntimeKind>;

export const RuntimeRecord = z
  .object({
    trailhound_runtime: z.literal(RUNTIME_RECORD_VERSION),
    kind: RuntimeKind,
    /** Epoch milliseconds (from the record's time_ns). */
    time: z.number(),
    function: z.object({
      name: z.string(),
      version: z.string(),
      arn: z.string().optional(),
      region: z.string(),
      account: z.string(),
      /** The execution role's session, `arn:aws:sts::<account>:assumed-role/<role>/<function>`. */
      role_session: z.string().optional(),
      runtime: z.string().optional(),
    }),
    /** The invocation the record happened in; absent during init and shutdown. */
    request_id: z.string().optional(),
    pid: z.number().int().optional(),
    ppid: z.number().int().optional(),
    /** 0, or the negative errno the call returned. */
    result: z.number().int().optional(),
    /** Refused by enforce mode. */
    denied: z.boolean().optional(),
    /** Seen by the /proc backstop, not through libc. */
    backstop: z.boolean().optional(),
    truncated: z.boolean().optional(),
    /**
     * file and network records: the executable of the process that made the call (from
     * `/proc/<pid>/exe`), when the extension knows it. Optional, added after version 1 shipped.
     */
    exe: z.string().optional(),
    /** Executable, file path, DNS name, or destination address. */
    path: z.string().optional(),
    /** exec: argv; system: the command. */
    args: z.array(z.string()).optional(),
    port: z.number().int().optional(),
    family: z.enum(['ipv4', 'ipv6', 'unix']).optional(),
    /** dns: the addresses the name resolved to. */
    addresses: z.array(z.string()).optional(),
    /** platform.event: the Telemetry API type (`platform.initStart`, `platform.runtimeDone`…) and its record. */
    platform: z.object({ type: z.string(), record: z.record(z.string(), z.unknown()) }).optional(),
    /** collector.health: counters since the previous health record. */
    health: z
      .object({ written: z.number(), dropped: z.number(), denied: z.number(), errors: z.array(z.string()) })
      .optional(),
  })
  .describe('One runtime observation from inside a Lambda function, as the Trailhound extension emits it.');
export type RuntimeRecord = z.infer<typeof RuntimeRecord>;
