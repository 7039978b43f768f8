import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../../adapters/fs/rule-files.js';
import { renderFieldReference } from '../../../../detectors/schema/field-reference.js';

describe('FIELDS.md', () => {
  it('is what the schemas render (run `npm run docs:fields` after changing a schema)', () => {
    const committed = readFileSync(join(packageRoot(), 'detectors', 'schema', 'FIELDS.md'), 'utf8');
    expect(committed).toBe(renderFieldReference());
  });

  it('documents every field', () => {
    const undocumented = renderFieldReference()
      .split('\n')
      .filter((line) => line.startsWith('| `') && line.endsWith('|  |'));
    expect(undocumented).toEqual([]);
  });
});
