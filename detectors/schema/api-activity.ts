import { z } from 'zod';
import { ActivityId, Actor, Api, Cloud, Endpoint, Metadata, Resource, Status } from './common.js';

/** Source tags of audit-log events; the discriminator of {@link NormalizedEvent}. */
export const AuditSource = z
  .enum(['aws.cloudtrail', 'gcp.audit', 'azure.activity', 'azure.entra'])
  .describe('Which normalizer produced the event; rules name it in `log_source`.');
export type AuditSource = z.infer<typeof AuditSource>;

/** OCSF API Activity (class 6003), the shape of every audit-log event. */
export const ApiActivity = z
  .object({
    source: AuditSource,
    class_uid: z.literal(6003).describe('OCSF class: API Activity.'),
    category_uid: z.literal(6).describe('OCSF category: Application Activity.'),
    activity_id: ActivityId,
    time: z.number().describe('Event time, epoch milliseconds.'),
    status: Status,
    cloud: Cloud,
    actor: Actor,
    api: Api,
    src_endpoint: Endpoint,
    user_agent: z.string().optional().describe('User agent string of the caller.'),
    resources: z.array(Resource).describe('Resources the call named.'),
    metadata: Metadata,
    raw: z
      .record(z.string(), z.unknown())
      .describe('The record exactly as the source wrote it; rules may match `raw.*` fields.'),
  })
  .describe('An audit-log event: one call to a cloud control- or data-plane API.');
export type ApiActivity = z.infer<typeof ApiActivity>;
