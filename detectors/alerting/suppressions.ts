/**
 * Suppressions as governed configuration. Every suppression says what it
 * matches, who owns it, why it exists and when it stops applying; nothing is
 * suppressed forever by accident. A suppressed finding is still stored and
 * counted (the alerter records it), it is only not sent anywhere. An expired
 * suppression stops applying at its expiry and is reported, so the owner
 * renews it on purpose or lets alerts flow again.
 *
 * Patterns on rule, actor, account and resource are globs (`*` for any run of
 * characters, matched whole); `source_cidr` is a list of CIDR ranges. All
 * given fields must match (an AND); a suppression must name at least one.
 */
import { z } from 'zod';
import { compileCidrTest } from '../engine/cidr.js';
import type { Finding } from '../schema/finding.js';
import { globTest } from './glob.js';

const Patterns = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** `2027-03-01` (end of that day, UTC) or a full ISO timestamp. */
const ExpiryDate = z.union([z.string(), z.date()]).transform((value, ctx) => {
  if (value instanceof Date) return value.getTime() + (isDateOnly(value) ? DAY_MS - 1 : 0);
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T23:59:59.999Z`) : Date.parse(value);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a date (YYYY-MM-DD or ISO 8601)` });
    return z.NEVER;
  }
  return ms;
});

const DAY_MS = 86_400_000;
/** YAML reads `2027-03-01` as a Date at midnight UTC: treat it as the whole day. */
function isDateOnly(date: Date): boolean {
  return date.getTime() % DAY_MS === 0;
}

export const SuppressionDocument = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'suppression ids are lower-case words joined by . _ or -'),
    match: z
      .object({
        rule: Patterns.optional(),
        actor: Patterns.optional(),
        account: Patterns.optional(),
        resource: Patterns.optional(),
        source_cidr: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
      })
      .strict()
      .refine((m) => Object.values(m).some((v) => v !== undefined), {
        message: 'a suppression must match on at least one of rule, actor, account, resource, source_cidr',
      }),
    owner: z.string().min(3).describe('Who answers for it: a person or a team address.'),
    reason: z.string().min(10).describe('Why these findings are expected.'),
    expires: ExpiryDate.describe('After this the suppression stops applying and is reported.'),
    ticket: z.string().optional(),
  })
  .strict();
export type SuppressionDocument = z.input<typeof SuppressionDocument>;

export const SuppressionFile = z.object({ suppressions: z.array(SuppressionDocument).default([]) }).strict();

export interface Suppression {
  readonly id: string;
  readonly owner: string;
  readonly reason: string;
  readonly expiresAt: number;
  matches(finding: Finding): boolean;
}

function list(value: string | readonly string[] | undefined): readonly string[] | undefined {
  return value === undefined ? undefined : typeof value === 'string' ? [value] : value;
}

function anyGlob(
  patterns: readonly string[] | undefined,
): ((text: string | undefined) => boolean) | undefined {
  if (patterns === undefined) return undefined;
  const tests = patterns.map(globTest);
  return (text) => text !== undefined && tests.some((t) => t(text));
}

/** Compiles parsed suppression documents; throws on a bad CIDR (the file is refused whole). */
export function compileSuppressions(docs: readonly z.output<typeof SuppressionDocument>[]): Suppression[] {
  const ids = new Set<string>();
  return docs.map((doc) => {
    if (ids.has(doc.id)) throw new Error(`suppression id "${doc.id}" is used twice`);
    ids.add(doc.id);
    const rule = anyGlob(list(doc.match.rule));
    const actor = anyGlob(list(doc.match.actor));
    const account = anyGlob(list(doc.match.account));
    const resource = anyGlob(list(doc.match.resource));
    const cidrs = list(doc.match.source_cidr);
    const inRange = cidrs !== undefined ? compileCidrTest(cidrs) : undefined;
    return {
      id: doc.id,
      owner: doc.owner,
      reason: doc.reason,
      expiresAt: doc.expires,
      matches(finding: Finding): boolean {
        if (rule !== undefined && !rule(finding.rule.uid)) return false;
        if (actor !== undefined && !actor(finding.actor.principal)) return false;
        if (account !== undefined && !account(finding.cloud.account)) return false;
        if (resource !== undefined && !finding.resources.some((r) => resource(r.uid ?? r.name))) return false;
        if (inRange !== undefined) {
          const ip = finding.actor.ip;
          if (ip === undefined || !safeTest(inRange, ip)) return false;
        }
        return true;
      },
    };
  });
}

function safeTest(test: (address: string) => boolean, ip: string): boolean {
  try {
    return test(ip);
  } catch {
    // A source that is not an address (an AWS service name) is outside every range.
    return false;
  }
}

/** The first suppression that applies to `finding` at `now` (expired ones never do). */
export function suppressionFor(
  suppressions: readonly Suppression[],
  finding: Finding,
  now: number,
): Suppression | undefined {
  return suppressions.find((s) => now <= s.expiresAt && s.matches(finding));
}

/** Suppressions past their expiry at `now`: to report, so their owners renew or remove them. */
export function expiredSuppressions(suppressions: readonly Suppression[], now: number): Suppression[] {
  return suppressions.filter((s) => now > s.expiresAt);
}
