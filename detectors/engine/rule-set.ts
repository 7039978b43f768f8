/**
 * Loading, validating, compiling and indexing rules. Pure: callers hand in the
 * rule texts (the CLI reads them from folders, a Lambda bundle embeds them).
 */
import { parseDocument } from 'yaml';
import type { NormalizedEvent } from '../schema/event.js';
import {
  type ConditionContext,
  compileCondition,
  type EventPredicate,
  MATCHED_RULES_FIELD,
  referencesField,
  requiredKubernetesResources,
  requiredOperations,
  requiredValues,
} from './condition.js';
import { parseDuration } from './duration.js';
import { RuleLoadError } from './errors.js';
import { compileFieldPath, type FieldGetter } from './field-path.js';
import { type Condition, logSources, RuleDocument, type RuleTestCase, Vocabulary } from './rule.js';
import { compileTemplate } from './template.js';

/** A rule or vocabulary file's text and where it came from. */
export interface RuleSourceFile {
  /** Path shown in errors and reports. */
  readonly path: string;
  readonly text: string;
  /** `trailhound` for the built-in rules, else a name for the folder they came from. */
  readonly origin: string;
}

export interface CompiledRule {
  readonly id: string;
  readonly file: string;
  readonly origin: string;
  readonly doc: Omit<RuleDocument, 'tests'>;
  readonly tests: readonly RuleTestCase[];
  readonly matches: EventPredicate;
  /** Operations this rule can only match; `undefined` when it must see every event. */
  readonly operations: ReadonlySet<string> | undefined;
  /**
   * Kubernetes resources (`kubernetes.resource`) this rule can only match, for
   * a rule that pins no operation; `undefined` when it pins none.
   */
  readonly kubernetesResources: ReadonlySet<string> | undefined;
  readonly dedupKey: readonly FieldGetter[];
  readonly dedupWindowMs: number;
  readonly threshold?: {
    readonly count: number;
    readonly windowMs: number;
    readonly key: readonly FieldGetter[];
    readonly distinct?: FieldGetter;
  };
  readonly explain: (event: NormalizedEvent) => string;
  /** The earlier event this rule's match must follow, when it is a sequence rule. */
  readonly sequence?: CompiledSequence;
  /**
   * True when the condition reads `matched_rules`: the rule runs after the
   * other rules on each event, and sees which of them fired.
   */
  readonly afterOtherRules: boolean;
}

export interface CompiledSequence {
  readonly after: EventPredicate;
  readonly withinMs: number;
  readonly join: ReadonlyArray<{
    readonly earlier: readonly FieldGetter[];
    readonly later: readonly FieldGetter[];
  }>;
}

/**
 * What the index files an event under: its API operation, or for a runtime
 * event the collector's record kind (`process.exec`…), which runtime rules pin
 * as `runtime.kind` the way audit rules pin `api.operation`.
 */
export function indexKeyOf(event: NormalizedEvent): string {
  return event.source === 'aws.lambda.runtime' ? event.runtime.kind : event.api.operation;
}

/** The index keys a condition can only match: pinned operations, else pinned runtime kinds. */
function requiredIndexKeys(condition: Condition, context: ConditionContext): Set<string> | undefined {
  return requiredOperations(condition, context) ?? requiredValues(condition, context, 'runtime.kind');
}

export interface RuleSet {
  readonly rules: readonly CompiledRule[];
  /** The rules worth running on this event (by source and operation index). */
  candidates(event: NormalizedEvent): readonly CompiledRule[];
}

/** File names that hold lists and macros rather than a rule. */
export const VOCABULARY_FILE = /(^|\/)([a-z0-9-]+-)?(lists|macros)\.ya?ml$/;

function parseYaml(file: RuleSourceFile): unknown {
  const document = parseDocument(file.text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new RuleLoadError(file.path, `invalid YAML: ${document.errors[0]?.message}`);
  }
  return document.toJS();
}

function describeIssues(error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

/**
 * Builds a rule set. Vocabulary files are merged first (later files override
 * earlier lists and macros of the same name: that is how users tune), then each
 * rule is validated and compiled. Every problem names its file.
 */
export function loadRuleSet(
  files: readonly RuleSourceFile[],
  predicates: ConditionContext['predicates'] = {},
): RuleSet {
  const lists: Record<string, Array<string | number | boolean>> = {};
  const macros: Record<string, Condition> = {};
  for (const file of files.filter((f) => VOCABULARY_FILE.test(f.path))) {
    const parsed = Vocabulary.safeParse(parseYaml(file) ?? {});
    if (!parsed.success) throw new RuleLoadError(file.path, describeIssues(parsed.error));
    Object.assign(lists, parsed.data.lists);
    Object.assign(macros, parsed.data.macros);
  }
  const context: ConditionContext = { lists, macros, predicates };
  const rules: CompiledRule[] = [];
  const seen = new Map<string, string>();
  for (const file of files.filter((f) => !VOCABULARY_FILE.test(f.path))) {
    const rule = compileRule(file, context);
    const previous = seen.get(rule.id);
    if (previous !== undefined)
      throw new RuleLoadError(file.path, `duplicate rule id ${rule.id} (also in ${previous})`);
    seen.set(rule.id, file.path);
    rules.push(rule);
  }
  return indexRules(rules);
}

export function compileRule(file: RuleSourceFile, context: ConditionContext): CompiledRule {
  const parsed = RuleDocument.safeParse(parseYaml(file));
  if (!parsed.success) throw new RuleLoadError(file.path, describeIssues(parsed.error));
  const { tests, ...doc } = parsed.data;
  let matches: EventPredicate;
  try {
    matches = compileCondition(doc.condition, context);
  } catch (error) {
    throw new RuleLoadError(file.path, (error as Error).message, { cause: error });
  }
  const threshold = doc.threshold;
  let operations = requiredIndexKeys(doc.condition, context);
  let sequence: CompiledSequence | undefined;
  if (doc.sequence !== undefined) {
    try {
      sequence = {
        after: compileCondition(doc.sequence.after, context),
        withinMs: parseDuration(doc.sequence.within) as number,
        join: doc.sequence.join.map((pair) => ({
          earlier: pair.earlier.map(compileFieldPath),
          later: pair.later.map(compileFieldPath),
        })),
      };
    } catch (error) {
      throw new RuleLoadError(file.path, `sequence.after: ${(error as Error).message}`, { cause: error });
    }
    // The rule must also see the events that can start its sequence.
    const first = requiredIndexKeys(doc.sequence.after, context);
    operations =
      operations === undefined || first === undefined ? undefined : new Set([...operations, ...first]);
  }
  return {
    id: doc.id,
    file: file.path,
    origin: file.origin,
    doc,
    tests,
    matches,
    operations,
    kubernetesResources:
      operations === undefined ? requiredKubernetesResources(doc.condition, context) : undefined,
    dedupKey: doc.dedup.key.map(compileFieldPath),
    dedupWindowMs: parseDuration(doc.dedup.window) as number,
    ...(threshold
      ? {
          threshold: {
            count: threshold.count,
            windowMs: parseDuration(threshold.window) as number,
            key: (threshold.key ?? doc.dedup.key).map(compileFieldPath),
            ...(threshold.distinct ? { distinct: compileFieldPath(threshold.distinct) } : {}),
          },
        }
      : {}),
    explain: compileTemplate(doc.explanation),
    ...(sequence !== undefined ? { sequence } : {}),
    afterOtherRules: referencesField(doc.condition, context, MATCHED_RULES_FIELD),
  };
}

/** Whether the index would offer `rule` for `event` (its sources aside): the rule-case runner asks too. */
export function indexAdmits(rule: CompiledRule, event: NormalizedEvent): boolean {
  if (rule.operations !== undefined) return rule.operations.has(indexKeyOf(event));
  if (rule.kubernetesResources !== undefined) {
    const resource = event.source === 'aws.lambda.runtime' ? undefined : event.kubernetes?.resource;
    return resource !== undefined && rule.kubernetesResources.has(resource);
  }
  return true;
}

const push = <K, V>(map: Map<K, V[]>, key: K, value: V): void => {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
};

/** One source's rules: by operation, by Kubernetes resource, and those that must see every event. */
interface SourceIndex {
  readonly byOperation: Map<string, CompiledRule[]>;
  readonly byResource: Map<string, CompiledRule[]>;
  readonly unindexed: CompiledRule[];
  /** Candidate lists already merged, per operation and per operation + resource: lookups allocate once. */
  readonly merged: Map<string, CompiledRule[]>;
}

function indexRules(rules: CompiledRule[]): RuleSet {
  const sources = new Map<string, SourceIndex>();
  const indexOf = (source: string): SourceIndex => {
    let index = sources.get(source);
    if (index === undefined) {
      index = { byOperation: new Map(), byResource: new Map(), unindexed: [], merged: new Map() };
      sources.set(source, index);
    }
    return index;
  };
  for (const rule of rules) {
    // A deprecated rule keeps its file (and its cases) so its id stays reserved, but no longer runs.
    if (rule.doc.deprecated !== undefined) continue;
    for (const source of logSources(rule.doc)) {
      const index = indexOf(source);
      if (rule.operations !== undefined) for (const op of rule.operations) push(index.byOperation, op, rule);
      else if (rule.kubernetesResources !== undefined)
        for (const resource of rule.kubernetesResources) push(index.byResource, resource, rule);
      else index.unindexed.push(rule);
    }
  }
  const empty: CompiledRule[] = [];
  return {
    rules,
    candidates(event) {
      const index = sources.get(event.source);
      if (index === undefined) return empty;
      const operation = indexKeyOf(event);
      const resource = event.source === 'aws.lambda.runtime' ? undefined : event.kubernetes?.resource;
      const byResource = resource === undefined ? undefined : index.byResource.get(resource);
      const byOperation = index.byOperation.get(operation);
      if (byOperation === undefined && byResource === undefined) return index.unindexed;
      // Keys are indexed operations and resources only (the rules' own vocabulary), so the cache stays small.
      const key = byResource === undefined ? operation : `${operation}\u0000${resource}`;
      let list = index.merged.get(key);
      if (list === undefined) {
        list = [...(byOperation ?? empty), ...(byResource ?? empty), ...index.unindexed];
        index.merged.set(key, list);
      }
      return list;
    },
  };
}
