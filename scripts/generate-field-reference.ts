import { writeFileSync } from 'node:fs';
import { renderFieldReference } from '../detectors/schema/field-reference.js';

writeFileSync('detectors/schema/FIELDS.md', renderFieldReference());
console.log('wrote detectors/schema/FIELDS.md');
