/**
 * The published contracts of the buses: the JSON Schemas (draft 4, the
 * dialect the EventBridge schema registry takes) of a `Trailhound Finding`
 * event (the findings bus) and of a `Trailhound Incident` event (an
 * `eventbridge` alert destination), envelope and detail. The detail parts are
 * generated from the zod schemas of what is sent (the core's `Finding`, the
 * `OcsfDetectionFinding`), so they cannot drift;
 * `schemas/trailhound-finding-event.schema.json` and
 * `schemas/trailhound-incident-event.schema.json` are their committed
 * renderings (`npm run docs:schemas`; a test fails when one is stale).
 */
import { z } from 'zod';
import { OCSF_VERSION, OcsfDetectionFinding } from '../../detectors/alerting/format/ocsf.js';
import { FINDING_SCHEMA_VERSION, Finding } from '../../detectors/schema/finding.js';
import { FINDING_DETAIL_TYPE, FINDING_EVENT_SOURCE } from './finding-bus.js';
import { INCIDENT_DETAIL_TYPE, INCIDENT_EVENT_SOURCE } from './incident-bus.js';

export const FINDING_EVENT_SCHEMA_FILE = 'schemas/trailhound-finding-event.schema.json';
export const INCIDENT_EVENT_SCHEMA_FILE = 'schemas/trailhound-incident-event.schema.json';

export function findingEventSchema(): Record<string, unknown> {
  return eventSchema(Finding, {
    title: 'TrailhoundFinding',
    description: `A Trailhound finding (OCSF Detection Finding, contract ${FINDING_SCHEMA_VERSION}) as an EventBridge event on the findings bus.`,
    source: FINDING_EVENT_SOURCE,
    detailType: FINDING_DETAIL_TYPE,
  });
}

export function incidentEventSchema(): Record<string, unknown> {
  return eventSchema(OcsfDetectionFinding, {
    title: 'TrailhoundIncident',
    description: `A Trailhound incident update (OCSF ${OCSF_VERSION} Detection Finding, finding_info.uid the incident) as an EventBridge event on an alerting bus.`,
    source: INCIDENT_EVENT_SOURCE,
    detailType: INCIDENT_DETAIL_TYPE,
  });
}

function eventSchema(
  schema: z.ZodType,
  names: { title: string; description: string; source: string; detailType: string },
): Record<string, unknown> {
  const { $schema: _dialect, ...detail } = z.toJSONSchema(schema, { target: 'draft-4' }) as Record<
    string,
    unknown
  >;
  return {
    $schema: 'http://json-schema.org/draft-04/schema#',
    title: names.title,
    description: names.description,
    type: 'object',
    required: ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail'],
    properties: {
      version: { type: 'string' },
      id: { type: 'string' },
      'detail-type': { type: 'string', enum: [names.detailType] },
      source: { type: 'string', enum: [names.source] },
      account: { type: 'string' },
      time: { type: 'string', format: 'date-time' },
      region: { type: 'string' },
      resources: { type: 'array', items: { type: 'string' } },
      detail: detail,
    },
  };
}

/** The committed file's text: stable key order, two-space indent, final newline. */
export function renderFindingEventSchema(): string {
  return `${JSON.stringify(findingEventSchema(), null, 2)}\n`;
}

/** The committed incident schema's text, rendered the same way. */
export function renderIncidentEventSchema(): string {
  return `${JSON.stringify(incidentEventSchema(), null, 2)}\n`;
}
