/**
 * The telemetry contract between the functions and the alarms that watch
 * them. The functions' Powertools singletons (`functions/commons/powertools.ts`)
 * use the same service name and namespace; the values are repeated here
 * rather than imported because that module builds the Powertools clients
 * when it is loaded, which has no place in a synthesis.
 */
export const SERVICE_NAME = 'trailhound';
export const METRICS_NAMESPACE = 'Trailhound';

/**
 * Each ingest function counts the events it receives as `EventsIn`
 * (namespace {@link METRICS_NAMESPACE}, dimensions exactly
 * `{service: "trailhound", source: <one of INGEST_SOURCES>}`). A source's
 * dead-man alarm watches that one series.
 */
export const EVENTS_IN_METRIC = 'EventsIn';

/** The audit-log sources a deployment can ingest, by the `source` dimension their function emits. */
export const INGEST_SOURCES = [
  'cloudtrail-s3',
  'cloudtrail-eventbridge',
  'gcp-push',
  'gcp-pull',
  'azure-pull',
] as const;

export type IngestSource = (typeof INGEST_SOURCES)[number];
