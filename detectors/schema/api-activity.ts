import { z } from 'zod';
import { ActivityId, Actor, Api, Cloud, Endpoint, Metadata, Resource, Status } from './common.js';
import { Kubernetes } from './kubernetes.js';

/** Source tags of audit-log events; the discriminator of {@link NormalizedEvent}. */
export const AuditSource = z
  .enum(['aws.cloudtrail', 'gcp.audit', 'azure.activity', 'azure.entra', 'kubernetes.audit'])
  .describe(
    'Which normalizer produced the event; rules name it (or a list of them) in `log_source`. `kubernetes.audit` is a Kubernetes audit.k8s.io Event read on its own: AKS `kube-audit` records, EKS and self-managed clusters (GKE arrives as `gcp.audit`).',
  );
export type AuditSource = z.infer<typeof AuditSource>;

/** A departure from the subject's own baseline, one per unusual feature value. */
export const AnomalyObservation = z
  .object({
    feature: z
      .string()
      .describe(
        'Feature group: operation, network, country, region, client, hour, volume, errors; runtime events: executable, destination, path.',
      ),
    value: z.string().describe('The value observed in this event.'),
    pattern: z.enum(['UNSEEN', 'RARE', 'INFREQUENT', 'FREQUENT']).describe('OCSF observed pattern.'),
    baseline: z.string().describe('What the subject usually shows for this feature.'),
    weight: z.number().describe('Contribution to the score, 0–100.'),
    text: z.string().describe('The observation as a sentence.'),
  })
  .describe('One unusual feature value.');

/** The behavioural assessment the baseline stage attaches before rules run. */
export const Anomaly = z
  .object({
    score: z
      .number()
      .min(0)
      .max(100)
      .describe('0–100 rarity of the event for its principal (0 while learning).'),
    learning: z.boolean().describe('True while the principal is still being learned: no score.'),
    workload: z
      .boolean()
      .describe('True when the principal usually calls from inside AWS or private networks.'),
    sensitive: z
      .boolean()
      .describe('True for a write to identity, keys, logging, secrets or sharing services.'),
    unseen: z
      .record(z.string(), z.boolean())
      .describe(
        'Feature groups (operation, network, country, region, client, resource) whose value this principal never showed; `account_operation` when the account never called the operation. Runtime events, against their function version: `executable`, `destination` (a DNS name, or an address whose network and port are new too), `path`.',
      ),
    explanation: z.string().describe('Why the event is unusual, in sentences.'),
    observations: z.array(AnomalyObservation).describe('Each unusual value with its baseline.'),
  })
  .describe('Behavioural baseline assessment; present only when baselines are on.');
export type Anomaly = z.infer<typeof Anomaly>;

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
    kubernetes: Kubernetes.optional(),
    metadata: Metadata,
    anomaly: Anomaly.optional(),
    raw: z
      .record(z.string(), z.unknown())
      .describe('The record exactly as the source wrote it; rules may match `raw.*` fields.'),
  })
  .describe('An audit-log event: one call to a cloud control- or data-plane API.');
export type ApiActivity = z.infer<typeof ApiActivity>;
