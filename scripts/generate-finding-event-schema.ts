import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  FINDING_EVENT_SCHEMA_FILE,
  renderFindingEventSchema,
} from '../adapters/eventbridge/finding-event-schema.js';

mkdirSync(dirname(FINDING_EVENT_SCHEMA_FILE), { recursive: true });
writeFileSync(FINDING_EVENT_SCHEMA_FILE, renderFindingEventSchema());
console.log(`wrote ${FINDING_EVENT_SCHEMA_FILE}`);
