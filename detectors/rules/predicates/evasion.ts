/**
 * Predicates for the defense-evasion rules: reading the configuration a
 * request installs (CloudTrail selectors, S3 lifecycle rules, SSM session
 * preferences) to tell a change that reduces coverage from a routine one.
 * Each is pure and total: odd or missing input reads as "not reduced".
 */
import type { AuditPredicate, Lists } from '../../engine/condition.js';
import type { ApiActivity } from '../../schema/api-activity.js';
import { asList, asObject, isOwnOrTrustedAccount, type Json } from './json.js';

const MS_PER_DAY = 86_400_000;

/** Expiry at or below this many days counts as "expires quickly" for log buckets. */
export const SHORT_EXPIRY_DAYS = 7;

/** A request's parameters, or an empty object. */
const paramsOf = (event: ApiActivity): Json => asObject(event.raw.requestParameters) ?? {};

/** Numbers that arrive as numbers or as XML-ish strings ("1"). */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const isFalse = (value: unknown): boolean => value === false || value === 'false';

// --- CloudTrail event selectors ------------------------------------------------------------

/** Basic selectors: management events are on unless a selector says `includeManagementEvents: false`. */
function basicSelectorsReduce(selectors: unknown[]): boolean {
  const management = selectors
    .map(asObject)
    .filter((s): s is Json => s !== undefined && !isFalse(s.includeManagementEvents));
  if (management.length === 0) return true; // no selector keeps management events
  // Every management selector records reads only: the write calls an intruder makes go unlogged.
  return management.every((s) => s.readWriteType === 'ReadOnly');
}

function fieldSelector(selector: Json, field: string): Json | undefined {
  for (const item of asList(selector.fieldSelectors)) {
    const entry = asObject(item);
    if (entry !== undefined && entry.field === field) return entry;
  }
  return undefined;
}

const equalsValues = (entry: Json | undefined): string[] => asList(entry?.equals).map(String);

/** Advanced selectors: management events need a selector with `eventCategory = Management`. */
function advancedSelectorsReduce(selectors: unknown[]): boolean {
  const management = selectors
    .map(asObject)
    .filter(
      (s): s is Json =>
        s !== undefined && equalsValues(fieldSelector(s, 'eventCategory')).includes('Management'),
    );
  if (management.length === 0) return true;
  return management.every((s) => {
    const readOnly = fieldSelector(s, 'readOnly');
    const equals = equalsValues(readOnly);
    const notEquals = asList(readOnly?.notEquals).map(String);
    return (equals.length > 0 && equals.every((v) => v === 'true')) || notEquals.includes('false');
  });
}

/**
 * PutEventSelectors that leaves the trail without management events, or with
 * read-only management events (write calls unlogged); PutInsightSelectors that
 * clears every Insights selector. Selectors that keep all management events,
 * or only drop reads (WriteOnly) or the KMS / RDS Data event sources, are
 * routine cost tuning and do not count.
 */
export function trailSelectorsReduceCoverage(event: ApiActivity): boolean {
  const params = paramsOf(event);
  switch (event.api.operation) {
    case 'PutEventSelectors': {
      if (Array.isArray(params.advancedEventSelectors))
        return advancedSelectorsReduce(params.advancedEventSelectors);
      if (Array.isArray(params.eventSelectors)) return basicSelectorsReduce(params.eventSelectors);
      return false;
    }
    case 'PutInsightSelectors':
      return Array.isArray(params.insightSelectors) && params.insightSelectors.length === 0;
    default:
      return false;
  }
}

// --- S3 lifecycle --------------------------------------------------------------------------

function expiresWithin(expiration: Json | undefined, eventTime: number, days: number): boolean {
  if (expiration === undefined) return false;
  const afterDays = toNumber(expiration.Days);
  if (afterDays !== undefined && afterDays <= days) return true;
  if (typeof expiration.Date === 'string') {
    const at = Date.parse(expiration.Date);
    if (!Number.isNaN(at) && at <= eventTime + days * MS_PER_DAY) return true;
  }
  return false;
}

/**
 * PutBucketLifecycle installing an enabled rule that expires current objects
 * (or purges noncurrent versions) within {@link SHORT_EXPIRY_DAYS} days.
 * Abort-multipart and transition rules do not delete logs and are ignored.
 */
export function lifecycleExpiresQuickly(event: ApiActivity): boolean {
  const config = asObject(paramsOf(event).LifecycleConfiguration);
  for (const item of asList(config?.Rule)) {
    const rule = asObject(item);
    if (rule === undefined || rule.Status !== 'Enabled') continue;
    if (expiresWithin(asObject(rule.Expiration), event.time, SHORT_EXPIRY_DAYS)) return true;
    const noncurrent = toNumber(asObject(rule.NoncurrentVersionExpiration)?.NoncurrentDays);
    if (noncurrent !== undefined && noncurrent <= SHORT_EXPIRY_DAYS) return true;
  }
  return false;
}

// --- KMS keys owned elsewhere --------------------------------------------------------------

const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:(\d{12}):/;

/** KMS key ARNs a request names, under the names CloudTrail and EC2 use. */
function requestedKmsKeys(params: Json): string[] {
  const ebs = asObject(params.ModifyEbsDefaultKmsKeyIdRequest);
  return [params.kmsKeyId, params.KmsKeyId, ebs?.KmsKeyId].filter((k): k is string => typeof k === 'string');
}

/**
 * The request points encryption (a trail's logs, EBS default encryption) at a
 * KMS key in another account: whoever owns that key can make the data
 * unreadable, or read it. Aliases and bare key ids are always local; accounts in
 * `trusted_accounts` are not counted.
 */
export function kmsKeyInOtherAccount(event: ApiActivity, lists: Lists): boolean {
  for (const key of requestedKmsKeys(paramsOf(event))) {
    const account = KMS_ARN.exec(key)?.[1];
    if (account !== undefined && !isOwnOrTrustedAccount(account, event.cloud.account, lists)) return true;
  }
  return false;
}

// --- CloudWatch alarms ---------------------------------------------------------------------

/** Alarms deleted or silenced in one call at or above which the call counts as bulk. */
export const BULK_ALARM_COUNT = 5;

/** DeleteAlarms / DisableAlarmActions naming {@link BULK_ALARM_COUNT} or more alarms at once. */
export function manyAlarmsInRequest(event: ApiActivity): boolean {
  return asList(paramsOf(event).alarmNames).length >= BULK_ALARM_COUNT;
}

// --- SSM Session Manager preferences -------------------------------------------------------

export const SESSION_PREFERENCES_DOCUMENT = 'SSM-SessionManagerRunShell';

function parseJsonObject(text: unknown): Json | undefined {
  if (typeof text !== 'string') return asObject(text);
  try {
    return asObject(JSON.parse(text));
  } catch {
    return undefined;
  }
}

const blank = (value: unknown): boolean => value === undefined || value === null || value === '';

/**
 * UpdateDocument on the Session Manager preferences document whose new
 * content sends session output nowhere: no S3 bucket, no CloudWatch log group
 * and no CloudWatch streaming. Content the record does not carry, or carries
 * in YAML, reads as "not disabled".
 */
export function sessionLoggingDisabled(event: ApiActivity): boolean {
  const params = paramsOf(event);
  if (params.name !== SESSION_PREFERENCES_DOCUMENT) return false;
  const content = parseJsonObject(params.content);
  const inputs = asObject(content?.inputs);
  if (inputs === undefined) return false;
  const streaming =
    inputs.cloudWatchStreamingEnabled === true || inputs.cloudWatchStreamingEnabled === 'true';
  return blank(inputs.s3BucketName) && blank(inputs.cloudWatchLogGroupName) && !streaming;
}

/** Predicates for the evasion rules. */
export const EVASION_PREDICATES: Readonly<Record<string, AuditPredicate>> = {
  trailSelectorsReduceCoverage,
  lifecycleExpiresQuickly,
  kmsKeyInOtherAccount,
  manyAlarmsInRequest,
  sessionLoggingDisabled,
};
