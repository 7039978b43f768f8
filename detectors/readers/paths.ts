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

const CLOUDTRAIL_FILE_TIME = /_(\d{8}T\d{4})Z_[^/\\]*$/;

/**
 * The time a CloudTrail log file starts at, from its name
 * (`<account>_CloudTrail_<region>_<yyyymmddThhmm>Z_<random>.json.gz`), as a
 * sortable string; `undefined` for other names. Hosts read files in this order
 * so events reach the engine nearly in time order whatever the folder layout
 * (an organization trail nests account before region before day).
 */
export function cloudTrailFileTime(path: string): string | undefined {
  return CLOUDTRAIL_FILE_TIME.exec(path)?.[1];
}

/** Orders paths by CloudTrail file time (files without one first, by path), then by path. */
export function compareByFileTime(a: string, b: string): number {
  const ta = cloudTrailFileTime(a) ?? '';
  const tb = cloudTrailFileTime(b) ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
