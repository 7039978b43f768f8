import { z } from 'zod';
import { ApiActivity, AuditSource } from './api-activity.js';
import { RuntimeActivity, RuntimeSource } from './runtime-activity.js';

/**
 * Every event a normalizer emits: a union on `source`. Audit events
 * (`aws.cloudtrail`, `gcp.audit`…) are OCSF API Activity; runtime events from
 * inside Lambda functions (`aws.lambda.runtime`) are OCSF Process / File /
 * Network / DNS Activity. Code that reads `api`, `src_endpoint` or
 * `user_agent` narrows first ({@link isAuditEvent}); `actor`, `cloud`,
 * `resources`, `metadata`, `time`, `status` and `anomaly` are common to both.
 */
export const NormalizedEvent = z.union([ApiActivity, RuntimeActivity]);
export type NormalizedEvent = ApiActivity | RuntimeActivity;

/** Every source tag: what readers recognize, normalizers produce and rules name in `log_source`. */
export const LogSource = z.union([AuditSource, RuntimeSource]);
export type LogSource = z.infer<typeof LogSource>;

export const isAuditEvent = (event: NormalizedEvent): event is ApiActivity => event.class_uid === 6003;
export const isRuntimeEvent = (event: NormalizedEvent): event is RuntimeActivity =>
  event.source === 'aws.lambda.runtime';
