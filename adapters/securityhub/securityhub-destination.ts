/**
 * Incidents into AWS Security Hub: one ASFF finding per incident
 * (`detectors/alerting/format/asff.ts`), imported with `BatchImportFindings`
 * into the account's default custom integration
 * (`arn:<partition>:securityhub:<region>:<account>:product/<account>/default`).
 * The finding's `Id` is the incident key, so each update replaces the same
 * finding in place, and its `UpdatedAt` orders revisions (Security Hub ignores
 * an update older than what it holds: a late redrive cannot undo a newer one).
 *
 * Requests hold at most 100 findings and, by default, 240 KB of JSON (Security
 * Hub itself takes up to 6 MB a request and 240 KB a finding; smaller requests
 * keep one throttled retry cheap). Within one delivery an incident appears
 * once, at its highest revision. `FailedFindings` that failed for a passing
 * reason (throttling, an internal error) are sent again, alone, with jittered
 * backoff; those refused for their content (`InvalidInput`) are reported at
 * once, not retried. A whole request throttled or failing with a 5xx (after
 * the SDK client's own retries) is retried the same way. The result is per
 * update; nothing here throws for an unreachable Security Hub.
 */
import {
  type AwsSecurityFinding,
  BatchImportFindingsCommand,
  type SecurityHubClient,
} from '@aws-sdk/client-securityhub';
import {
  type AsffFinding,
  type AsffPartition,
  asffSize,
  toAsffFinding,
} from '../../detectors/alerting/format/asff.js';
import type { IncidentUpdate } from '../../detectors/alerting/incident.js';
import type {
  AlertDestination,
  DeliveredUpdate,
  DeliveryResult,
  FailedUpdate,
} from '../../detectors/alerting/ports.js';
import { type BackoffOptions, backoffDelay, sleep as defaultSleep, type Sleep } from '../retry/backoff.js';

/** BatchImportFindings limits. */
export const MAX_FINDINGS_PER_REQUEST = 100;
export const DEFAULT_MAX_REQUEST_BYTES = 240 * 1024;
/** What Security Hub accepts in one request at most. */
const SERVICE_MAX_REQUEST_BYTES = 6 * 1024 * 1024;
/** `{"Findings":[` and `]}` around the findings. */
const ENVELOPE_BYTES = '{"Findings":[]}'.length;

/** Error codes (per finding, or of a whole request) worth sending again. */
const RETRYABLE_CODE = /throttl|internal|limitexceeded|toomanyrequests|serviceunavailable|timeout|slowdown/i;
/** Codes that say the content was refused: sending it again cannot help. */
const REFUSED_CODE = /^(InvalidInput|InvalidInputException|ValidationException|SerializationException)$/;

export class SecurityHubDestinationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecurityHubDestinationError';
  }
}

export interface SecurityHubDestinationOptions {
  /** The SDK client, created once by the host (its region is where findings land). */
  readonly client: SecurityHubClient;
  /** Name in the routing configuration (default `securityhub`). */
  readonly name?: string;
  /** Region of the product ARN (normally the client's). */
  readonly region: string;
  /** The deploying account: the product ARN's, and every finding's `AwsAccountId`. */
  readonly accountId: string;
  /** Default `aws`. */
  readonly partition?: AsffPartition;
  /** Runbook links: `<runbookBaseUrl>/<rule id>`. */
  readonly runbookBaseUrl?: string;
  /** `SourceUrl`: `<sourceUrlBase>/<incident key>`. */
  readonly sourceUrlBase?: string;
  /** Bytes of findings JSON per request (default 240 KB, at most 6 MB). */
  readonly maxRequestBytes?: number;
  /** Retries after the first request (default 5; waits 200 ms doubling, at most 5 s, jittered). */
  readonly retry?: BackoffOptions;
  readonly sleep?: Sleep;
}

export interface SecurityHubStats {
  requests: number;
  imported: number;
  findingRetries: number;
  requestRetries: number;
}

interface Pending {
  readonly update: IncidentUpdate;
  readonly finding: AsffFinding;
  readonly size: number;
  /** The lower revisions of the same incident in this delivery, reported with it. */
  readonly superseded: IncidentUpdate[];
}

function errorCode(error: unknown): string {
  if (error instanceof Error) return error.name || 'Error';
  return 'Error';
}

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata?.httpStatusCode;
}

export class SecurityHubDestination implements AlertDestination {
  readonly kind = 'securityhub' as const;
  readonly name: string;
  readonly stats: SecurityHubStats = { requests: 0, imported: 0, findingRetries: 0, requestRetries: 0 };
  private readonly client: SecurityHubClient;
  private readonly options: SecurityHubDestinationOptions;
  private readonly maxRequestBytes: number;
  private readonly retry: Required<BackoffOptions>;
  private readonly sleep: Sleep;

  constructor(options: SecurityHubDestinationOptions) {
    if (!/^\d{12}$/.test(options.accountId))
      throw new SecurityHubDestinationError(`accountId must be a 12-digit AWS account id`);
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(options.region))
      throw new SecurityHubDestinationError(`region ${options.region} is not an AWS region name`);
    const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    if (maxRequestBytes < 1024 || maxRequestBytes > SERVICE_MAX_REQUEST_BYTES)
      throw new SecurityHubDestinationError(`maxRequestBytes must be between 1 KB and 6 MB`);
    this.client = options.client;
    this.options = options;
    this.name = options.name ?? 'securityhub';
    this.maxRequestBytes = maxRequestBytes;
    this.retry = { retries: 5, baseMs: 200, maxMs: 5_000, ...options.retry };
    this.sleep = options.sleep ?? defaultSleep;
  }

  async deliver(updates: readonly IncidentUpdate[]): Promise<DeliveryResult> {
    const delivered: DeliveredUpdate[] = [];
    const failed: FailedUpdate[] = [];
    for (const batch of this.batches(this.pending(updates))) {
      const outcome = await this.send(batch);
      for (const item of batch) {
        const failure = outcome.get(item.finding.Id);
        const all = [item.update, ...item.superseded];
        if (failure === undefined) {
          this.stats.imported += 1;
          for (const u of all) delivered.push({ key: u.incident.key, revision: u.incident.revision });
        } else {
          for (const u of all)
            failed.push({ key: u.incident.key, revision: u.incident.revision, ...failure });
        }
      }
    }
    return { delivered, failed };
  }

  /** One finding per incident, at its highest revision, in first-seen order. */
  private pending(updates: readonly IncidentUpdate[]): Pending[] {
    const byKey = new Map<string, { update: IncidentUpdate; superseded: IncidentUpdate[] }>();
    for (const update of updates) {
      const known = byKey.get(update.incident.key);
      if (known === undefined) byKey.set(update.incident.key, { update, superseded: [] });
      else if (update.incident.revision > known.update.incident.revision) {
        known.superseded.push(known.update);
        known.update = update;
      } else known.superseded.push(update);
    }
    return [...byKey.values()].map(({ update, superseded }) => {
      const finding = toAsffFinding(update, {
        region: this.options.region,
        accountId: this.options.accountId,
        partition: this.options.partition,
        runbookBaseUrl: this.options.runbookBaseUrl,
        sourceUrlBase: this.options.sourceUrlBase,
      });
      return { update, finding, size: asffSize(finding), superseded };
    });
  }

  /** Findings grouped into requests within both limits, in order. */
  private batches(items: readonly Pending[]): Pending[][] {
    const batches: Pending[][] = [];
    let current: Pending[] = [];
    let bytes = ENVELOPE_BYTES;
    for (const item of items) {
      const added = item.size + (current.length > 0 ? 1 : 0);
      if (
        current.length === MAX_FINDINGS_PER_REQUEST ||
        (current.length > 0 && bytes + added > this.maxRequestBytes)
      ) {
        batches.push(current);
        current = [];
        bytes = ENVELOPE_BYTES;
      }
      bytes += item.size + (current.length > 0 ? 1 : 0);
      current.push(item);
    }
    if (current.length > 0) batches.push(current);
    return batches;
  }

  /**
   * Imports one request's findings, then again those that failed for a
   * passing reason. Returns the failures left, by finding id.
   */
  private async send(
    batch: readonly Pending[],
  ): Promise<Map<string, Omit<FailedUpdate, 'key' | 'revision'>>> {
    const left = new Map<string, Omit<FailedUpdate, 'key' | 'revision'>>();
    let pending = batch;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) await this.sleep(backoffDelay(attempt, this.retry));
      this.stats.requests += 1;
      let again: Pending[];
      try {
        const response = await this.client.send(
          new BatchImportFindingsCommand({ Findings: pending.map((p) => p.finding as AwsSecurityFinding) }),
        );
        const failures = new Map((response.FailedFindings ?? []).map((f) => [f.Id ?? '', f]));
        again = [];
        for (const item of pending) {
          const failure = failures.get(item.finding.Id);
          if (failure === undefined) {
            left.delete(item.finding.Id);
            continue;
          }
          const code = failure.ErrorCode ?? 'Unknown';
          const entry = {
            error: `${code}: ${failure.ErrorMessage ?? 'import failed'}`.slice(0, 300),
            retryable: !REFUSED_CODE.test(code),
          };
          left.set(item.finding.Id, entry);
          if (RETRYABLE_CODE.test(code)) again.push(item);
        }
        if (again.length > 0) this.stats.findingRetries += again.length;
      } catch (error) {
        // The whole request failed, after the SDK client's own retries.
        const code = errorCode(error);
        const status = httpStatus(error);
        const passing =
          RETRYABLE_CODE.test(code) || status === 429 || (status !== undefined && status >= 500);
        const reason = `${code}${status !== undefined ? ` (HTTP ${status})` : ''}: ${
          error instanceof Error ? error.message : String(error)
        }`.slice(0, 300);
        // A request that never got an HTTP answer (network) is worth another try too.
        const retryRequest = passing || status === undefined;
        for (const item of pending)
          left.set(item.finding.Id, { error: reason, retryable: !REFUSED_CODE.test(code) });
        if (!retryRequest) return left;
        again = [...pending];
        this.stats.requestRetries += 1;
      }
      if (again.length === 0 || attempt >= this.retry.retries) return left;
      pending = again;
    }
  }
}
