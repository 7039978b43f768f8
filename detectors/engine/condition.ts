/**
 * Compiles a declarative condition into a closure once, at load time, so the
 * hot path evaluates plain functions with no parsing, lookups or allocation
 * beyond the field values themselves.
 */
import type { ApiActivity } from '../schema/api-activity.js';
import type { NormalizedEvent } from '../schema/event.js';
import { compileCidrTest } from './cidr.js';
import { compileFieldTest } from './field-path.js';
import { type Condition, type FieldMatcher, OPERATORS, type Operator } from './rule.js';

export type EventPredicate = (event: NormalizedEvent) => boolean;

/** Named lists, after user overrides: the tuning hooks rules and predicates read. */
export type Lists = Readonly<Record<string, ReadonlyArray<string | number | boolean>>>;

/**
 * A TypeScript predicate a rule names. It receives the lists so it honours the
 * same tuning hooks as YAML conditions (e.g. `trusted_accounts`).
 */
export type RulePredicate = (event: NormalizedEvent, lists: Lists) => boolean;

/** A predicate over audit events only; {@link forAuditEvents} makes it a rule predicate (false on other events). */
export type AuditPredicate = (event: ApiActivity, lists: Lists) => boolean;

/** Wraps audit-event predicates so a rule over several sources can name them safely. */
export function forAuditEvents(
  predicates: Readonly<Record<string, AuditPredicate>>,
): Record<string, RulePredicate> {
  const out: Record<string, RulePredicate> = {};
  for (const [name, predicate] of Object.entries(predicates))
    out[name] = (event, lists) => event.class_uid === 6003 && predicate(event, lists);
  return out;
}

/** What a condition may refer to by name. */
export interface ConditionContext {
  readonly lists: Lists;
  readonly macros: Readonly<Record<string, Condition>>;
  readonly predicates: Readonly<Record<string, RulePredicate>>;
}

/** Thrown for a condition that names something unknown or is ill-formed; the loader adds the file. */
export class ConditionError extends Error {
  override name = 'ConditionError';
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

export function compileCondition(
  condition: Condition,
  context: ConditionContext,
  macroStack: string[] = [],
): EventPredicate {
  if ('all' in condition) {
    const parts = condition.all.map((c) => compileCondition(c, context, macroStack));
    return (event) => {
      for (const part of parts) if (!part(event)) return false;
      return true;
    };
  }
  if ('any' in condition) {
    const parts = condition.any.map((c) => compileCondition(c, context, macroStack));
    return (event) => {
      for (const part of parts) if (part(event)) return true;
      return false;
    };
  }
  if ('not' in condition) {
    const inner = compileCondition(condition.not, context, macroStack);
    return (event) => !inner(event);
  }
  if ('macro' in condition) {
    const body = context.macros[condition.macro];
    if (body === undefined) throw new ConditionError(`unknown macro "${condition.macro}"`);
    if (macroStack.includes(condition.macro)) {
      throw new ConditionError(`macro cycle: ${[...macroStack, condition.macro].join(' → ')}`);
    }
    return compileCondition(body, context, [...macroStack, condition.macro]);
  }
  if ('predicate' in condition) {
    const predicate = context.predicates[condition.predicate];
    if (predicate === undefined) throw new ConditionError(`unknown predicate "${condition.predicate}"`);
    const lists = context.lists;
    return (event) => predicate(event, lists);
  }
  return compileFieldMatcher(condition, context);
}

function operatorOf(matcher: FieldMatcher): Operator {
  const present = OPERATORS.filter((op) => matcher[op] !== undefined);
  if (present.length !== 1) {
    throw new ConditionError(
      `field "${matcher.field}" needs exactly one operator (${OPERATORS.join(', ')}), found ${present.length === 0 ? 'none' : present.join(', ')}`,
    );
  }
  return present[0] as Operator;
}

function compileFieldMatcher(matcher: FieldMatcher, context: ConditionContext): EventPredicate {
  const op = operatorOf(matcher);
  const nocase = matcher.nocase === true;
  const fold = (text: string) => (nocase ? text.toLowerCase() : text);
  if (op === 'exists') {
    const present = compileFieldTest(matcher.field, () => true);
    return matcher.exists === true ? present : (event) => !present(event);
  }
  return compileFieldTest(matcher.field, compileValueTest(op, matcher, context, fold));
}

type ValueTest = (value: unknown) => boolean;

function compileValueTest(
  op: Operator,
  matcher: FieldMatcher,
  context: ConditionContext,
  fold: (text: string) => string,
): ValueTest {
  const text = (value: unknown): string | undefined =>
    typeof value === 'string'
      ? fold(value)
      : typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : undefined;
  switch (op) {
    case 'equals':
    case 'one_of':
    case 'in_list': {
      let expected: ReadonlyArray<string | number | boolean>;
      if (op === 'in_list') {
        const list = context.lists[matcher.in_list as string];
        if (list === undefined) throw new ConditionError(`unknown list "${matcher.in_list}"`);
        expected = list;
      } else expected = asArray(op === 'equals' ? matcher.equals! : matcher.one_of!);
      const wanted = new Set(expected.map((v) => fold(String(v))));
      return (value) => {
        const t = text(value);
        return t !== undefined && wanted.has(t);
      };
    }
    case 'contains':
    case 'startswith':
    case 'endswith': {
      const needles = asArray(matcher[op]!).map(fold);
      const method = op === 'contains' ? 'includes' : op === 'startswith' ? 'startsWith' : 'endsWith';
      return (value) => {
        const t = text(value);
        if (t === undefined) return false;
        for (const needle of needles) if (t[method](needle)) return true;
        return false;
      };
    }
    case 'regex': {
      let pattern: RegExp;
      try {
        pattern = new RegExp(matcher.regex!, matcher.nocase ? 'i' : '');
      } catch (error) {
        throw new ConditionError(`field "${matcher.field}": bad regex: ${(error as Error).message}`);
      }
      return (value) => typeof value === 'string' && pattern.test(value);
    }
    case 'cidr': {
      let inBlocks: (address: string) => boolean;
      try {
        inBlocks = compileCidrTest(asArray(matcher.cidr!));
      } catch (error) {
        throw new ConditionError(`field "${matcher.field}": ${(error as Error).message}`);
      }
      return (value) => typeof value === 'string' && inBlocks(value);
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const bound = matcher[op] as number;
      return (value) => {
        const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
        if (Number.isNaN(n)) return false;
        return op === 'gt' ? n > bound : op === 'gte' ? n >= bound : op === 'lt' ? n < bound : n <= bound;
      };
    }
    case 'exists':
      return () => true;
  }
}

/**
 * The operations a condition can only ever match, when it says so at its top
 * (an `all` or a leaf pinning `api.operation` with `equals`/`one_of`). The
 * engine uses it to run a rule only on events of those operations.
 */
export function requiredOperations(condition: Condition, context: ConditionContext): Set<string> | undefined {
  return requiredValues(condition, context, 'api.operation');
}

/**
 * The Kubernetes resources (`kubernetes.resource`: pods, secrets…) a condition
 * can only match, pinned the same way: the index of rules written on the
 * shared `kubernetes.*` fields, whose operations differ between clusters.
 */
export function requiredKubernetesResources(
  condition: Condition,
  context: ConditionContext,
): Set<string> | undefined {
  return requiredValues(condition, context, 'kubernetes.resource');
}

/** The values a condition requires of `field` (exact, case-sensitive), when its top says so. */
export function requiredValues(
  condition: Condition,
  context: ConditionContext,
  field: string,
): Set<string> | undefined {
  if ('field' in condition) {
    if (condition.field !== field || condition.nocase) return undefined;
    if (condition.equals !== undefined) return new Set(asArray(condition.equals).map(String));
    if (condition.one_of !== undefined) return new Set(condition.one_of.map(String));
    if (condition.in_list !== undefined) {
      const list = context.lists[condition.in_list];
      return list ? new Set(list.map(String)) : undefined;
    }
    return undefined;
  }
  if ('all' in condition) {
    let narrowest: Set<string> | undefined;
    for (const part of condition.all) {
      const values = requiredValues(part, context, field);
      if (values !== undefined && (narrowest === undefined || values.size < narrowest.size))
        narrowest = values;
    }
    return narrowest;
  }
  if ('any' in condition) {
    const union = new Set<string>();
    for (const part of condition.any) {
      const values = requiredValues(part, context, field);
      if (values === undefined) return undefined;
      for (const value of values) union.add(value);
    }
    return union;
  }
  if ('macro' in condition) {
    const body = context.macros[condition.macro];
    return body ? requiredValues(body, context, field) : undefined;
  }
  return undefined;
}

/**
 * The field the engine fills, for rules that run after the others on an
 * event, with the ids of the rules that fired on it (see `afterOtherRules`).
 */
export const MATCHED_RULES_FIELD = 'matched_rules';

/** Whether a condition (macros expanded) reads `field` or a path below it. */
export function referencesField(condition: Condition, context: ConditionContext, field: string): boolean {
  if ('field' in condition) return condition.field === field || condition.field.startsWith(`${field}.`);
  if ('all' in condition) return condition.all.some((c) => referencesField(c, context, field));
  if ('any' in condition) return condition.any.some((c) => referencesField(c, context, field));
  if ('not' in condition) return referencesField(condition.not, context, field);
  if ('macro' in condition) {
    const body = context.macros[condition.macro];
    return body !== undefined && referencesField(body, context, field);
  }
  return false;
}
