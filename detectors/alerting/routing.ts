/**
 * Which incident updates go to which destination. A route names one
 * destination and filters on the incident's severity (as it is after the
 * change, so an incident that escalates to high reaches a pager that wants
 * only high), its rules, accounts and rule tags, and the kinds of change. A
 * rate limit per route and rule keeps one noisy rule from flooding a channel:
 * updates over the limit are counted and stay on the incident, they are just
 * not sent; escalations and state changes are never limited, since those are
 * what a responder must see.
 */
import { z } from 'zod';
import { DurationMs } from '../engine/duration.js';
import { SEVERITY_ORDER, Severity } from '../schema/finding.js';
import { globTest } from './glob.js';
import { IncidentChange, type IncidentUpdate } from './incident.js';

/** Changes sent when a route does not say: everything a person should see, not `recorded`. */
const DEFAULT_CHANGES: readonly IncidentChange[] = [
  'opened',
  'escalated',
  'updated',
  'acknowledged',
  'resolved',
  'reopened',
];

/** Changes a rate limit never holds back. */
const NEVER_LIMITED = new Set<IncidentChange>(['escalated', 'acknowledged', 'resolved', 'reopened']);

export const RouteDocument = z
  .object({
    destination: z.string().min(1),
    min_severity: Severity.default('low'),
    rules: z.array(z.string().min(1)).min(1).optional().describe('Globs; any rule of the incident matching.'),
    exclude_rules: z.array(z.string().min(1)).optional(),
    accounts: z.array(z.string().min(1)).min(1).optional(),
    tags: z.array(z.string().min(1)).min(1).optional().describe('Any rule tag of the update’s finding.'),
    changes: z.array(IncidentChange).min(1).optional(),
    rate_limit: z
      .object({ max: z.number().int().min(1), per: DurationMs })
      .strict()
      .optional(),
  })
  .strict();
export type RouteDocument = z.input<typeof RouteDocument>;

export interface Route {
  readonly destination: string;
  readonly rateLimit: { readonly max: number; readonly perMs: number } | undefined;
  /** Whether the route wants this update at all (before any rate limit). */
  wants(update: IncidentUpdate): boolean;
  /** The rate-limit bucket of an update, or undefined when it is never limited. */
  bucketOf(update: IncidentUpdate): string | undefined;
}

function anyOf(
  patterns: readonly string[] | undefined,
): ((values: readonly string[]) => boolean) | undefined {
  if (patterns === undefined) return undefined;
  const tests = patterns.map(globTest);
  return (values) => values.some((v) => tests.some((t) => t(v)));
}

export function compileRoutes(docs: readonly z.output<typeof RouteDocument>[]): Route[] {
  return docs.map((doc) => {
    const rules = anyOf(doc.rules);
    const excluded = anyOf(doc.exclude_rules);
    const accounts = anyOf(doc.accounts);
    const changes = new Set(doc.changes ?? DEFAULT_CHANGES);
    const minimum = SEVERITY_ORDER[doc.min_severity];
    return {
      destination: doc.destination,
      rateLimit:
        doc.rate_limit !== undefined ? { max: doc.rate_limit.max, perMs: doc.rate_limit.per } : undefined,
      wants({ incident, change, finding }: IncidentUpdate): boolean {
        if (!changes.has(change)) return false;
        if (SEVERITY_ORDER[incident.severity] < minimum) return false;
        if (rules !== undefined && !rules(incident.rules)) return false;
        if (excluded !== undefined && incident.rules.every((r) => excluded([r]))) return false;
        if (accounts !== undefined && !accounts([incident.group.account])) return false;
        if (doc.tags !== undefined) {
          const tags = finding?.rule.tags ?? [];
          if (!doc.tags.some((t) => tags.includes(t))) return false;
        }
        return true;
      },
      bucketOf({ change, finding, incident }: IncidentUpdate): string | undefined {
        if (doc.rate_limit === undefined || NEVER_LIMITED.has(change)) return undefined;
        return `${doc.destination}|${finding?.rule.uid ?? incident.rules[0] ?? 'incident'}`;
      },
    };
  });
}
