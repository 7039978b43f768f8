/**
 * Object keys and file paths a reader should pass over without reading: they
 * are part of a trail's layout but hold no events (integrity digests, the
 * access check CloudTrail writes when a trail is created).
 */
export function skipReasonForPath(path: string): string | undefined {
  if (path.includes('CloudTrail-Digest/') || path.includes('CloudTrail-Digest\\')) return 'cloudtrail-digest';
  if (path.endsWith('/ConfigWritabilityCheckFile') || path.endsWith('_CloudTrail-Insight-Check'))
    return 'access-check';
  return undefined;
}
