/**
 * The rule file format. One YAML document per rule: metadata, a declarative
 * condition, dedup / threshold settings and the rule's own test cases.
 * `detectors/rules/README.md` is the style guide; this schema is the law.
 */
import { z } from 'zod';
import { FEATURES } from '../baselines/features.js';
import { LogSource } from '../schema/event.js';
import { Severity } from '../schema/finding.js';
import { parseDuration } from './duration.js';

const Duration = z.string().refine((text) => parseDuration(text) !== undefined, {
  message: 'expected a duration such as 30s, 10m, 1h or 7d',
});

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const OneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]);

/** A leaf that tests one field. Exactly one operator besides `field` and `nocase`. */
export const FieldMatcher = z
  .object({
    field: z.string().min(1),
    equals: OneOrMany(Scalar).optional(),
    one_of: z.array(Scalar).min(1).optional(),
    in_list: z.string().optional(),
    contains: OneOrMany(z.string()).optional(),
    startswith: OneOrMany(z.string()).optional(),
    endswith: OneOrMany(z.string()).optional(),
    regex: z.string().optional(),
    cidr: OneOrMany(z.string()).optional(),
    exists: z.boolean().optional(),
    gt: z.number().optional(),
    gte: z.number().optional(),
    lt: z.number().optional(),
    lte: z.number().optional(),
    nocase: z.boolean().optional(),
  })
  .strict();
export type FieldMatcher = z.infer<typeof FieldMatcher>;

export const OPERATORS = [
  'equals',
  'one_of',
  'in_list',
  'contains',
  'startswith',
  'endswith',
  'regex',
  'cidr',
  'exists',
  'gt',
  'gte',
  'lt',
  'lte',
] as const;
export type Operator = (typeof OPERATORS)[number];

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { macro: string }
  | { predicate: string }
  | FieldMatcher;

export const Condition: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ all: z.array(Condition).min(1) }).strict(),
    z.object({ any: z.array(Condition).min(1) }).strict(),
    z.object({ not: Condition }).strict(),
    z.object({ macro: z.string().min(1) }).strict(),
    z.object({ predicate: z.string().min(1) }).strict(),
    FieldMatcher,
  ]),
);

export const Maturity = z.enum(['stable', 'test', 'experimental']);
export type Maturity = z.infer<typeof Maturity>;

/**
 * A compact description of a subject's learned profile, for the cases of
 * baseline rules: what the principal (or account) has done so far, without
 * spelling out hundreds of history events.
 */
export const BaselineSketch = z
  .object({
    subject: z
      .string()
      .regex(
        /^(principal|key|account|function):/,
        'subject is principal:<uid>, key:<id>, account:<provider>:<id> or function:<account>:<name>[:<version>]',
      ),
    events: z.number().int().min(1),
    first_seen: z.string(),
    last_seen: z.string(),
    values: z.partialRecord(z.enum(FEATURES), z.record(z.string(), z.number().int().min(1))),
    failures: z.number().int().min(0).optional(),
    denied: z.number().int().min(0).optional(),
  })
  .strict();
export type BaselineSketch = z.infer<typeof BaselineSketch>;

export const RuleTestCase = z
  .object({
    name: z.string().min(1),
    expect: z.boolean().describe('true: the rule must fire; false: it must not.'),
    event: z.record(z.string(), z.unknown()).optional(),
    events: z.array(z.record(z.string(), z.unknown())).min(1).optional(),
    baselines: z
      .array(BaselineSketch)
      .optional()
      .describe('Profiles learned before the case runs (baseline rules).'),
  })
  .strict()
  .refine((test) => (test.event === undefined) !== (test.events === undefined), {
    message: 'a test case has either `event` or `events`',
  });
export type RuleTestCase = z.infer<typeof RuleTestCase>;

/**
 * An ordered pair of events: the rule's `condition` matches the later event,
 * `after` an earlier one, and the two share a key (`join`) within `within`.
 * Either may be read first (CloudTrail reaches S3 minutes after the runtime
 * log): the engine keeps each side until its partner arrives or the window
 * passes. The finding is the later event's, and cites both.
 */
export const Sequence = z
  .object({
    after: Condition.describe('What the earlier event must match.'),
    within: Duration.describe('Longest time from the earlier event to the later one.'),
    join: z
      .array(
        z
          .object({ earlier: z.array(z.string()).min(1), later: z.array(z.string()).min(1) })
          .strict()
          .refine((pair) => pair.earlier.length === pair.later.length, {
            message: 'join.earlier and join.later name the same number of fields',
          }),
      )
      .min(1)
      .describe(
        'Ways the two events are about the same thing: the values of the `earlier` fields of the earlier event equal those of the `later` fields of the later one. Any pair suffices; a pair with a missing field does not match.',
      ),
  })
  .strict();
export type Sequence = z.infer<typeof Sequence>;

const RULE_ID = /^[a-z0-9]+(\.[a-z0-9-]+)+$/;

export const RuleDocument = z
  .object({
    id: z
      .string()
      .regex(RULE_ID, 'rule ids are dotted lower-case, e.g. aws.defense-evasion.cloudtrail-stopped'),
    title: z.string().min(5),
    description: z.string().min(10),
    log_source: z
      .union([LogSource, z.array(LogSource).min(1)])
      .describe('The source the rule reads, or a list when its fields are shared (`kubernetes.*`).'),
    severity: Severity,
    maturity: Maturity,
    attack: z
      .array(
        z
          .object({
            tactic: z.string().min(3),
            technique_id: z.string().regex(/^T\d{4}(\.\d{3})?$/),
            technique_name: z.string().min(3),
          })
          .strict(),
      )
      .min(1),
    false_positives: z.array(z.string()).min(1),
    runbook: z.string().min(10),
    references: z.array(z.string()).optional(),
    tags: z.array(z.string()).optional(),
    condition: Condition,
    dedup: z
      .object({ key: z.array(z.string()).min(1), window: Duration })
      .strict()
      .default({ key: ['cloud.account', 'actor.user.uid'], window: '1h' }),
    threshold: z
      .object({
        count: z.number().int().min(2),
        window: Duration,
        key: z.array(z.string()).min(1).optional(),
        distinct: z.string().optional(),
      })
      .strict()
      .optional(),
    sequence: Sequence.optional(),
    explanation: z.string().min(10),
    deprecated: z.object({ replaced_by: z.string() }).strict().optional(),
    tests: z.array(RuleTestCase).min(2),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (!rule.tests.some((t) => t.expect))
      ctx.addIssue({ code: 'custom', message: 'needs a positive test case' });
    if (!rule.tests.some((t) => !t.expect))
      ctx.addIssue({ code: 'custom', message: 'needs a negative test case' });
    if (rule.sequence !== undefined && rule.threshold !== undefined)
      ctx.addIssue({ code: 'custom', message: 'a rule has a threshold or a sequence, not both' });
  });
export type RuleDocument = z.infer<typeof RuleDocument>;

/** The sources a rule reads, as a list whichever way it names them. */
export function logSources(doc: Pick<RuleDocument, 'log_source'>): readonly LogSource[] {
  return Array.isArray(doc.log_source) ? doc.log_source : [doc.log_source];
}

/** Lists and macros shared by rules: the vocabulary, and the tuning hooks users override. */
export const Vocabulary = z
  .object({
    lists: z.record(z.string(), z.array(Scalar)).default({}),
    macros: z.record(z.string(), Condition).default({}),
  })
  .strict();
export type Vocabulary = z.infer<typeof Vocabulary>;
