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
  requiredOperations,
} from './condition.js';
import { parseDuration } from './duration.js';
import { RuleLoadError } from './errors.js';
import { compileFieldPath, type FieldGetter } from './field-path.js';
import { type Condition, RuleDocument, type RuleTestCase, Vocabulary } from './rule.js';
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
  readonly dedupKey: readonly FieldGetter[];
  readonly dedupWindowMs: number;
  readonly threshold?: {
    readonly count: number;
    readonly windowMs: number;
    readonly key: readonly FieldGetter[];
    readonly distinct?: FieldGetter;
  };
  readonly explain: (event: NormalizedEvent) => string;
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
  return {
    id: doc.id,
    file: file.path,
    origin: file.origin,
    doc,
    tests,
    matches,
    operations: requiredOperations(doc.condition, context),
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
  };
}

function indexRules(rules: CompiledRule[]): RuleSet {
  // source → operation → rules, plus source → rules that must see everything.
  const byOperation = new Map<string, Map<string, CompiledRule[]>>();
  const unindexed = new Map<string, CompiledRule[]>();
  for (const rule of rules) {
    // A deprecated rule keeps its file (and its cases) so its id stays reserved, but no longer runs.
    if (rule.doc.deprecated !== undefined) continue;
    const source = rule.doc.log_source;
    if (rule.operations === undefined) {
      const list = unindexed.get(source) ?? [];
      list.push(rule);
      unindexed.set(source, list);
      continue;
    }
    const table = byOperation.get(source) ?? new Map<string, CompiledRule[]>();
    byOperation.set(source, table);
    for (const op of rule.operations) {
      const list = table.get(op) ?? [];
      list.push(rule);
      table.set(op, list);
    }
  }
  // Pre-merge each operation's list with the unindexed rules so lookup allocates nothing.
  const merged = new Map<string, Map<string, CompiledRule[]>>();
  for (const [source, table] of byOperation) {
    const extra = unindexed.get(source) ?? [];
    const out = new Map<string, CompiledRule[]>();
    for (const [op, list] of table) out.set(op, [...list, ...extra]);
    merged.set(source, out);
  }
  const empty: CompiledRule[] = [];
  return {
    rules,
    candidates(event) {
      return merged.get(event.source)?.get(event.api.operation) ?? unindexed.get(event.source) ?? empty;
    },
  };
}
