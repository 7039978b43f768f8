/**
 * The alerting configuration, as a deployment or `trailhound scan --notify`
 * reads it: `alerting.yml` (destinations, routes, grouping) and
 * `suppressions.yml` (governed suppressions, kept apart so that a team can
 * own and review them on their own, e.g. with CODEOWNERS). Destinations name
 * the Secrets Manager secret their credentials are in, never the credentials.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DurationMs } from '../engine/duration.js';
import type { GroupingOptions } from './incident.js';
import { compileRoutes, type Route, RouteDocument } from './routing.js';
import { compileSuppressions, type Suppression, SuppressionFile } from './suppressions.js';

const DestinationName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'destination names are lower-case words joined by -');

/** A secret reference: a Secrets Manager id or ARN. */
const SecretRef = z
  .string()
  .min(1)
  .describe('Secrets Manager secret id or ARN holding the credentials as JSON.');

/** An EventBridge event bus: its name, or its ARN (a bus of another account or region). */
const EventBusRef = z
  .string()
  .regex(
    /^([A-Za-z0-9._\-/]{1,256}|arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._\-/]{1,256})$/,
    'an event bus is a name (letters, digits, . _ - /) or an event-bus ARN',
  );

export const DestinationDocument = z.discriminatedUnion('kind', [
  z
    .object({
      name: DestinationName,
      kind: z.literal('slack'),
      /** JSON `{"webhook_url"}` or `{"bot_token", "channel"}`. */
      secret: SecretRef,
    })
    .strict(),
  z
    .object({
      name: DestinationName,
      kind: z.literal('pagerduty'),
      /** JSON `{"routing_key"}`. */
      secret: SecretRef,
    })
    .strict(),
  z
    .object({
      name: DestinationName,
      kind: z.literal('securityhub'),
      /** Region of the Security Hub to import into; default: the deployment's. */
      region: z.string().optional(),
    })
    .strict(),
  z
    .object({
      name: DestinationName,
      kind: z.literal('eventbridge'),
      /** The event bus incidents are put on: a name (this account and region) or an ARN (another's). */
      bus: EventBusRef,
      /** The form of each event's `detail`; `ocsf` (an OCSF 1.1 Detection Finding) is the only one so far. */
      format: z.enum(['ocsf']).default('ocsf'),
    })
    .strict(),
]);
export type DestinationDocument = z.infer<typeof DestinationDocument>;

export const AlertingDocument = z
  .object({
    grouping: z
      .object({
        window: DurationMs.default(24 * 3_600_000),
        resolve_after: DurationMs.default(3 * 86_400_000),
      })
      .strict()
      .default({ window: 24 * 3_600_000, resolve_after: 3 * 86_400_000 }),
    runbook_base_url: z.url().optional(),
    destinations: z.array(DestinationDocument).default([]),
    routes: z.array(RouteDocument).default([]),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const names = new Set<string>();
    for (const d of doc.destinations) {
      if (names.has(d.name))
        ctx.addIssue({ code: 'custom', message: `destination "${d.name}" is declared twice` });
      names.add(d.name);
    }
    for (const route of doc.routes)
      if (!names.has(route.destination))
        ctx.addIssue({
          code: 'custom',
          message: `a route names destination "${route.destination}", which is not declared`,
        });
  });

export interface AlertingConfig {
  readonly grouping: GroupingOptions;
  /** Unresolved incidents quiet this long are resolved. */
  readonly resolveAfterMs: number;
  readonly runbookBaseUrl: string | undefined;
  readonly destinations: readonly DestinationDocument[];
  readonly routes: readonly Route[];
  readonly suppressions: readonly Suppression[];
}

export class AlertingConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${problems.join('; ')}`, options);
    this.name = 'AlertingConfigError';
  }
}

function parseText<T extends z.ZodType>(schema: T, text: string, source: string): z.output<T> {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new AlertingConfigError(source, [`not YAML: ${(error as Error).message}`], { cause: error });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new AlertingConfigError(
      source,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`),
    );
  return parsed.data;
}

/** Parses and checks both files; every problem is reported at once, with the file it is in. */
export function parseAlertingConfig(
  alerting: { readonly text: string; readonly source: string },
  suppressions?: { readonly text: string; readonly source: string },
): AlertingConfig {
  const doc = parseText(AlertingDocument, alerting.text, alerting.source);
  const suppressionDocs =
    suppressions !== undefined
      ? parseText(SuppressionFile, suppressions.text, suppressions.source).suppressions
      : [];
  let compiled: Suppression[];
  try {
    compiled = compileSuppressions(suppressionDocs);
  } catch (error) {
    throw new AlertingConfigError(suppressions?.source ?? 'suppressions', [(error as Error).message], {
      cause: error,
    });
  }
  return {
    grouping: { windowMs: doc.grouping.window },
    resolveAfterMs: doc.grouping.resolve_after,
    runbookBaseUrl: doc.runbook_base_url,
    destinations: doc.destinations,
    routes: compileRoutes(doc.routes),
    suppressions: compiled,
  };
}
