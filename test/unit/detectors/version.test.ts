import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../adapters/fs/rule-files.js';
import { TRAILHOUND_VERSION } from '../../../detectors/version.js';

describe('TRAILHOUND_VERSION', () => {
  it('is the version package.json releases', () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    expect(TRAILHOUND_VERSION).toBe(pkg.version);
  });
});
