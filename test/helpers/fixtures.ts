import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../adapters/fs/rule-files.js';

type Json = Record<string, unknown>;

/** Loads a JSON fixture under test/fixtures, deep-merging `overrides` into a fresh copy. */
export function loadFixture(path: string, overrides: Json = {}): Json {
  const base = JSON.parse(readFileSync(join(packageRoot(), 'test', 'fixtures', path), 'utf8')) as Json;
  return merge(base, overrides);
}

function merge(target: Json, source: Json): Json {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key];
    if (isPlain(value) && isPlain(current)) target[key] = merge({ ...current }, value);
    else target[key] = value;
  }
  return target;
}

const isPlain = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
