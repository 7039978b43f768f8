/**
 * The published contract of the findings bus: the JSON Schema (draft 4, the
 * dialect the EventBridge schema registry takes) of a `Trailhound Finding`
 * event, envelope and detail. The detail part is generated from the core's zod
 * `Finding`, so the schema cannot drift from what is sent;
 * `schemas/trailhound-finding-event.schema.json` is its committed rendering
 * (`npm run docs:schemas`; a test fails when it is stale).
 */
import { z } from 'zod';
import { FINDING_SCHEMA_VERSION, Finding } from '../../detectors/schema/finding.js';
import { FINDING_DETAIL_TYPE, FINDING_EVENT_SOURCE } from './finding-bus.js';

export const FINDING_EVENT_SCHEMA_FILE = 'schemas/trailhound-finding-event.schema.json';

export function findingEventSchema(): Record<string, unknown> {
  const { $schema: _dialect, ...detail } = z.toJSONSchema(Finding, { target: 'draft-4' }) as Record<
    string,
    unknown
  >;
  return {
    $schema: 'http://json-schema.org/draft-04/schema#',
    title: 'TrailhoundFinding',
    description: `A Trailhound finding (OCSF Detection Finding, contract ${FINDING_SCHEMA_VERSION}) as an EventBridge event on the findings bus.`,
    type: 'object',
    required: ['version', 'id', 'detail-type', 'source', 'account', 'time', 'region', 'resources', 'detail'],
    properties: {
      version: { type: 'string' },
      id: { type: 'string' },
      'detail-type': { type: 'string', enum: [FINDING_DETAIL_TYPE] },
      source: { type: 'string', enum: [FINDING_EVENT_SOURCE] },
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
