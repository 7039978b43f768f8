import type { LogSource, NormalizedEvent } from '../schema/event.js';
import { normalizeAzureActivity } from './azure-activity.js';
import { normalizeAzureEntra } from './azure-entra.js';
import { normalizeCloudTrail } from './cloudtrail.js';
import { normalizeGcpAudit } from './gcp-audit.js';
import { normalizeKubernetesAudit } from './kubernetes.js';
import { normalizeLambdaRuntime } from './lambda-runtime.js';
import type { NormalizeContext } from './time.js';

export { normalizeAzureActivity, parseResourceId } from './azure-activity.js';
export { normalizeAzureEntra } from './azure-entra.js';
export { actorFromUserIdentity, isIpAddress, normalizeCloudTrail } from './cloudtrail.js';
export { NormalizationError } from './errors.js';
export { normalizeGcpAudit } from './gcp-audit.js';
export { canonicalLogEntry, hasAuditPayload } from './gcp-log-entry.js';
export { kubernetesFromGke, normalizeKubernetesAudit } from './kubernetes.js';
export { isPrivateAddress, isRuntimeRecord, normalizeLambdaRuntime } from './lambda-runtime.js';
export { type NormalizeContext, parseTimestamp } from './time.js';

/**
 * Turns one raw record into the schema. `context` carries what only the host
 * knows (when the record arrived), for records that lack their own time.
 */
export type Normalizer = (record: Record<string, unknown>, context?: NormalizeContext) => NormalizedEvent;

/** The normalizer of each log source; readers tag every raw record with one. */
export const NORMALIZERS: Partial<Record<LogSource, Normalizer>> = {
  'aws.cloudtrail': normalizeCloudTrail,
  'gcp.audit': normalizeGcpAudit,
  'azure.activity': normalizeAzureActivity,
  'azure.entra': normalizeAzureEntra,
  'kubernetes.audit': normalizeKubernetesAudit,
  'aws.lambda.runtime': normalizeLambdaRuntime,
};
