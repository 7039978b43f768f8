import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  FINDING_EVENT_SCHEMA_FILE,
  INCIDENT_EVENT_SCHEMA_FILE,
  renderFindingEventSchema,
  renderIncidentEventSchema,
} from '../adapters/eventbridge/finding-event-schema.js';

for (const [file, render] of [
  [FINDING_EVENT_SCHEMA_FILE, renderFindingEventSchema],
  [INCIDENT_EVENT_SCHEMA_FILE, renderIncidentEventSchema],
] as const) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, render());
  console.log(`wrote ${file}`);
}
