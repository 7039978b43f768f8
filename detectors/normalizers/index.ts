import type { AuditSource } from '../schema/api-activity.js';
import type { NormalizedEvent } from '../schema/event.js';
import { normalizeCloudTrail } from './cloudtrail.js';

export { actorFromUserIdentity, isIpAddress, normalizeCloudTrail } from './cloudtrail.js';
export { NormalizationError } from './errors.js';

export type Normalizer = (record: Record<string, unknown>) => NormalizedEvent;

/** The normalizer of each log source; readers tag every raw record with one. */
export const NORMALIZERS: Partial<Record<AuditSource, Normalizer>> = {
  'aws.cloudtrail': normalizeCloudTrail,
};
