import { compileFieldPath, type FieldGetter } from './field-path.js';

/**
 * Compiles an explanation such as `{actor.user.name} stopped trail {raw.requestParameters.name}`
 * into a function of the event. A missing field reads `(unknown)`, so a sentence never breaks.
 */
export function compileTemplate(template: string): (event: unknown) => string {
  const parts: Array<string | FieldGetter> = [];
  let last = 0;
  for (const match of template.matchAll(/\{([a-zA-Z0-9_.]+)\}/g)) {
    parts.push(template.slice(last, match.index));
    parts.push(compileFieldPath(match[1] as string));
    last = (match.index ?? 0) + match[0].length;
  }
  parts.push(template.slice(last));
  return (event) => {
    let out = '';
    for (const part of parts) {
      if (typeof part === 'string') out += part;
      else {
        const values = part(event);
        out +=
          values.length === 0
            ? '(unknown)'
            : values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
      }
    }
    return out;
  };
}
