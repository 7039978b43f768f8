/**
 * Field access by dotted path over normalized events (`actor.user.uid`) and
 * raw records (`raw.requestParameters.bucketName`). An array met on the way is
 * fanned out: the path yields every element's value, and a matcher is true
 * when any of them matches (Sigma's semantics for lists).
 */
export type FieldGetter = (root: unknown) => unknown[];

export function compileFieldPath(path: string): FieldGetter {
  const segments = path.split('.');
  const count = segments.length;
  return (root) => {
    // Fast path: walk plain objects until an array appears.
    let value: unknown = root;
    for (let i = 0; i < count; i++) {
      if (value === null || value === undefined) return [];
      if (Array.isArray(value)) return fanOut(value, segments, i);
      value = (value as Record<string, unknown>)[segments[i] as string];
    }
    if (value === undefined || value === null) return [];
    return Array.isArray(value) ? value : [value];
  };
}

function fanOut(items: unknown[], segments: string[], from: number): unknown[] {
  const out: unknown[] = [];
  const visit = (value: unknown, i: number): void => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item, i);
      return;
    }
    if (i === segments.length) {
      out.push(value);
      return;
    }
    if (typeof value === 'object') visit((value as Record<string, unknown>)[segments[i] as string], i + 1);
  };
  for (const item of items) visit(item, from);
  return out;
}

/** First value at `path`, as a string, for keys and templates. */
export function firstString(getter: FieldGetter, root: unknown): string | undefined {
  const [value] = getter(root);
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Compiles "does any value at `path` pass `test`" without allocating on the
 * common path: plain objects are walked directly and only an array met on the
 * way falls back to fanning out. This is what rule conditions run per event.
 */
export function compileFieldTest(
  path: string,
  test: (value: unknown) => boolean,
): (root: unknown) => boolean {
  const segments = path.split('.');
  const count = segments.length;
  return (root) => {
    let value: unknown = root;
    for (let i = 0; i < count; i++) {
      if (value === null || value === undefined) return false;
      if (Array.isArray(value)) return fanOut(value, segments, i).some(test);
      value = (value as Record<string, unknown>)[segments[i] as string];
    }
    if (value === undefined || value === null) return false;
    if (Array.isArray(value)) {
      for (const item of value) if (item !== null && item !== undefined && test(item)) return true;
      return false;
    }
    return test(value);
  };
}
