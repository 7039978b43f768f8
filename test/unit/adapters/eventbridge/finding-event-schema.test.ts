/**
 * The findings bus's published contract stays in step with the Finding schema.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FINDING_EVENT_SCHEMA_FILE,
  findingEventSchema,
  INCIDENT_EVENT_SCHEMA_FILE,
  incidentEventSchema,
  renderFindingEventSchema,
  renderIncidentEventSchema,
} from '../../../../adapters/eventbridge/finding-event-schema.js';
import { packageRoot } from '../../../../adapters/fs/rule-files.js';

describe('the Trailhound Finding event schema', () => {
  it('is committed as generated (run `npm run docs:schemas` after changing the Finding schema)', () => {
    expect(readFileSync(join(packageRoot(), FINDING_EVENT_SCHEMA_FILE), 'utf8')).toBe(
      renderFindingEventSchema(),
    );
  });

  it('is a draft-4 schema of the EventBridge envelope with the finding as detail', () => {
    const schema = findingEventSchema() as {
      $schema: string;
      properties: Record<string, { enum?: string[]; required?: string[] }>;
    };
    expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(schema.properties['detail-type']?.enum).toEqual(['Trailhound Finding']);
    expect(schema.properties.source?.enum).toEqual(['trailhound']);
    expect(schema.properties.detail?.required).toEqual(
      expect.arrayContaining(['finding_uid', 'rule', 'severity', 'actor', 'evidence']),
    );
  });
});

describe('the Trailhound Incident event schema', () => {
  it('is committed as generated, with the OCSF Detection Finding as detail', () => {
    expect(readFileSync(join(packageRoot(), INCIDENT_EVENT_SCHEMA_FILE), 'utf8')).toBe(
      renderIncidentEventSchema(),
    );
    const schema = incidentEventSchema() as {
      properties: Record<string, { enum?: string[]; required?: string[] }>;
    };
    expect(schema.properties['detail-type']?.enum).toEqual(['Trailhound Incident']);
    expect(schema.properties.source?.enum).toEqual(['trailhound']);
    expect(schema.properties.detail?.required).toEqual(
      expect.arrayContaining(['activity_id', 'class_uid', 'finding_info', 'metadata', 'severity_id']),
    );
  });
});
