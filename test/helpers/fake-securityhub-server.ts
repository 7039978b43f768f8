/**
 * A local HTTP server on 127.0.0.1 that speaks Security Hub's
 * `BatchImportFindings` over its REST-JSON wire protocol, for tests of the
 * real SDK client:
 *
 * - `POST /findings/import`, `Content-Type: application/json`, body
 *   `{"Findings":[AwsSecurityFinding...]}`; answer 200 `{FailedCount,
 *   SuccessCount, FailedFindings:[{Id, ErrorCode, ErrorMessage}]}`: a request
 *   with refused findings still answers 200, as the service does;
 * - request-level errors as `x-amzn-ErrorType` plus `{"Code","Message"}`: no
 *   `Findings`, more than 100, or a body over 6 MB is 400
 *   `InvalidInputException`;
 * - per-finding validation, answered as `InvalidInput` in `FailedFindings`:
 *   the required attributes (AwsAccountId, CreatedAt, Description,
 *   GeneratorId, Id, ProductArn, Resources, SchemaVersion, Severity, Title,
 *   Types, UpdatedAt), `SchemaVersion` 2018-10-08, RFC 3339 timestamps, Types
 *   in a documented namespace, the lengths and counts of the ASFF reference
 *   (Title 256, Description 1024, recommendation text 512, 1–32 resources, at
 *   most 50 types and 50 ProductFields with keys ≤ 128 and values ≤ 2048) and
 *   240 KB a finding; a `ProductArn` other than the caller's default product,
 *   or an `AwsAccountId` other than the caller's, is `InvalidAccess`;
 * - findings kept by (ProductArn, Id): an import with a later `UpdatedAt`
 *   replaces the stored finding, an older (or equal) one is accepted and
 *   ignored, as Security Hub documents; on an update `Workflow`, `Note`,
 *   `UserDefinedFields` and `VerificationState` stay as stored, and the
 *   top-level `Severity` and `Types` follow `FindingProviderFields` (the
 *   customer never changed them here); at creation each of the two is filled
 *   from the other when missing.
 *
 * Failures can be injected per finding ({@link FakeSecurityHub.failFindings})
 * or per request ({@link FakeSecurityHub.failNextRequests}: 429
 * `ThrottlingException`, 500 `InternalException`...). Every request must carry
 * a SigV4 `Authorization` header (else 403).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  FailurePlan,
  type RequestFailure,
  readBody,
  sendJson,
  sigV4AccessKeyId,
  startLocalServer,
} from './local-server.js';

type Json = Record<string, unknown>;

export interface StoredFinding {
  /** The finding as Security Hub holds it now. */
  readonly finding: Json;
  /** Every version that replaced it, oldest first (the first is its creation). */
  readonly versions: Json[];
  /** Imports ignored because their `UpdatedAt` was not later. */
  ignored: number;
}

export interface ImportCall {
  readonly accessKeyId: string;
  readonly bodyBytes: number;
  readonly findings: readonly Json[];
  status: number;
  errorType: string | undefined;
  failed: { Id: string; ErrorCode: string; ErrorMessage: string }[];
}

/**
 * Chooses findings to fail: an error code and message, or undefined to
 * process the finding. `attempt` counts earlier imports of the same `Id` (0
 * the first time), so a finding can fail N times and then be accepted.
 */
export type FindingFailurePlan = (
  finding: Json,
  attempt: number,
) => { code: string; message?: string } | undefined;

export interface FakeSecurityHub {
  readonly endpoint: string;
  readonly calls: ImportCall[];
  /** Stored findings by `${ProductArn}|${Id}`. */
  readonly findings: Map<string, StoredFinding>;
  /** The stored finding of this id (any product). */
  get(id: string): Json | undefined;
  stored(id: string): StoredFinding | undefined;
  /**
   * Fails the findings `plan` chooses, from now on; undefined stops it.
   * Attempts are counted from this call on.
   */
  failFindings(plan: FindingFailurePlan | undefined): void;
  /** Forgets calls, findings, attempts and injected failures. */
  reset(): void;
  /** Answers the next `count` requests with this error instead. */
  failNextRequests(count: number, status: number, type: string, message?: string): void;
  close(): Promise<void>;
}

export interface FakeSecurityHubOptions {
  /** The caller's account (default 111122223333). */
  readonly accountId?: string;
  /** The region of its default product ARN (default us-east-1). */
  readonly region?: string;
  readonly partition?: string;
}

const MAX_FINDINGS = 100;
const MAX_BODY_BYTES = 6 * 1024 * 1024;
const MAX_FINDING_BYTES = 240 * 1024;
const NAMESPACES = [
  'Software and Configuration Checks',
  'TTPs',
  'Effects',
  'Unusual Behaviors',
  'Sensitive Data Identifications',
];
const REQUIRED = [
  'AwsAccountId',
  'CreatedAt',
  'Description',
  'GeneratorId',
  'Id',
  'ProductArn',
  'Resources',
  'SchemaVersion',
  'Severity',
  'Title',
  'Types',
  'UpdatedAt',
] as const;
const LABELS = new Set(['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
/** Customer-owned after creation: an import cannot change them. */
const CUSTOMER_FIELDS = ['Workflow', 'Note', 'UserDefinedFields', 'VerificationState'] as const;

/** An RFC 3339 timestamp as epoch nanoseconds, for ordering `UpdatedAt`. */
export function timestampNanos(text: string): bigint {
  const match = RFC3339.exec(text);
  if (match === null) throw new Error(`not an RFC 3339 timestamp: ${text}`);
  const fraction = (match[1] ?? '.').slice(1).padEnd(9, '0');
  const whole = Date.parse(text.replace(/\.\d+/, ''));
  return BigInt(whole) * 1_000_000n + BigInt(fraction);
}

export async function startFakeSecurityHub(options: FakeSecurityHubOptions = {}): Promise<FakeSecurityHub> {
  const accountId = options.accountId ?? '111122223333';
  const region = options.region ?? 'us-east-1';
  const partition = options.partition ?? 'aws';
  const productArn = `arn:${partition}:securityhub:${region}:${accountId}:product/${accountId}/default`;
  const calls: ImportCall[] = [];
  const findings = new Map<string, StoredFinding>();
  const attempts = new Map<string, number>();
  let plan: FindingFailurePlan | undefined;
  const requestFailures = new FailurePlan<RequestFailure>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const accessKeyId = sigV4AccessKeyId(req);
    if (accessKeyId === undefined)
      return sendError(res, 403, 'AccessDeniedException', 'Missing Authentication Token');
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/findings/import')
      return sendError(
        res,
        404,
        'UnknownOperationException',
        `${req.method} ${req.url} is not implemented here`,
      );
    let parsed: { Findings?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8') || '{}') as { Findings?: unknown };
    } catch {
      return sendError(res, 400, 'InvalidInputException', 'The request body is not valid JSON.');
    }
    const list = Array.isArray(parsed.Findings) ? (parsed.Findings as Json[]) : undefined;
    const call: ImportCall = {
      accessKeyId,
      bodyBytes: body.length,
      findings: list ?? [],
      status: 0,
      errorType: undefined,
      failed: [],
    };
    calls.push(call);
    const fail = (status: number, type: string, message: string) => {
      call.status = status;
      call.errorType = type;
      sendError(res, status, type, message);
    };
    const requestFailure = requestFailures.take();
    if (requestFailure !== undefined)
      return fail(requestFailure.status, requestFailure.type, requestFailure.message);
    if (list === undefined) return fail(400, 'InvalidInputException', 'Findings is required.');
    if (list.length > MAX_FINDINGS)
      return fail(400, 'InvalidInputException', `Findings must contain at most ${MAX_FINDINGS} items.`);
    if (body.length > MAX_BODY_BYTES) return fail(400, 'InvalidInputException', 'Request is too large.');

    let success = 0;
    for (const finding of list) {
      const id = typeof finding.Id === 'string' ? finding.Id : '';
      const attempt = attempts.get(id) ?? 0;
      attempts.set(id, attempt + 1);
      const refused = validate(finding) ?? access(finding) ?? injected(finding, attempt);
      if (refused !== undefined) {
        call.failed.push({ Id: id, ErrorCode: refused.code, ErrorMessage: refused.message });
        continue;
      }
      store(finding);
      success += 1;
    }
    call.status = 200;
    sendJson(
      res,
      200,
      { FailedCount: call.failed.length, SuccessCount: success, FailedFindings: call.failed },
      { requestIdHeader: REQUEST_ID },
    );
  }

  function injected(finding: Json, attempt: number) {
    const chosen = plan?.(finding, attempt);
    return chosen === undefined ? undefined : { code: chosen.code, message: chosen.message ?? chosen.code };
  }

  function access(finding: Json): { code: string; message: string } | undefined {
    if (finding.ProductArn !== productArn)
      return {
        code: 'InvalidAccess',
        message: `The product ${String(finding.ProductArn)} is not enabled for ${accountId}.`,
      };
    if (finding.AwsAccountId !== accountId)
      return {
        code: 'InvalidAccess',
        message: 'AwsAccountId must be the calling account for the default product.',
      };
    return undefined;
  }

  function store(finding: Json): void {
    const key = `${String(finding.ProductArn)}|${String(finding.Id)}`;
    const current = findings.get(key);
    const incoming = structuredClone(finding);
    if (current === undefined) {
      const fpf = (incoming.FindingProviderFields ?? {}) as Json;
      incoming.FindingProviderFields = {
        ...fpf,
        Severity: fpf.Severity ?? incoming.Severity,
        Types: fpf.Types ?? incoming.Types,
      };
      incoming.Severity ??= fpf.Severity;
      incoming.Types ??= fpf.Types;
      incoming.Workflow ??= { Status: 'NEW' };
      incoming.RecordState ??= 'ACTIVE';
      findings.set(key, { finding: incoming, versions: [incoming], ignored: 0 });
      return;
    }
    if (timestampNanos(String(incoming.UpdatedAt)) <= timestampNanos(String(current.finding.UpdatedAt))) {
      current.ignored += 1;
      return;
    }
    for (const field of CUSTOMER_FIELDS)
      if (current.finding[field] !== undefined) incoming[field] = current.finding[field];
      else delete incoming[field];
    const fpf = (incoming.FindingProviderFields ?? current.finding.FindingProviderFields ?? {}) as Json;
    incoming.FindingProviderFields = fpf;
    incoming.Severity = fpf.Severity ?? current.finding.Severity;
    incoming.Types = fpf.Types ?? current.finding.Types;
    incoming.CreatedAt = current.finding.CreatedAt;
    incoming.RecordState ??= current.finding.RecordState;
    const replaced: StoredFinding = {
      finding: incoming,
      versions: [...current.versions, incoming],
      ignored: current.ignored,
    };
    findings.set(key, replaced);
  }

  const local = await startLocalServer(handle, {
    onError: (error, _req, res) => sendError(res, 500, 'InternalException', String(error)),
  });
  const stored = (id: string) => [...findings.values()].find((s) => s.finding.Id === id);
  return {
    endpoint: local.endpoint,
    calls,
    findings,
    stored,
    get: (id) => stored(id)?.finding,
    failFindings(next) {
      plan = next;
      attempts.clear();
    },
    reset() {
      calls.length = 0;
      findings.clear();
      attempts.clear();
      plan = undefined;
      requestFailures.clear();
    },
    failNextRequests(count, status, type, message = type) {
      requestFailures.replace(count, { status, type, message });
    },
    close: local.close,
  };
}

/** The finding's `InvalidInput` refusal, or undefined when it is a valid ASFF finding. */
export function validate(finding: Json): { code: string; message: string } | undefined {
  const invalid = (message: string) => ({ code: 'InvalidInput', message });
  for (const field of REQUIRED)
    if (finding[field] === undefined || finding[field] === null || finding[field] === '')
      return invalid(`Finding does not adhere to Amazon Finding Format. data.${field} is required.`);
  if (finding.SchemaVersion !== '2018-10-08') return invalid('SchemaVersion must be 2018-10-08.');
  const size = Buffer.byteLength(JSON.stringify(finding), 'utf8');
  if (size > MAX_FINDING_BYTES) return invalid(`Finding is ${size} bytes, more than 240 KB.`);
  for (const field of ['CreatedAt', 'UpdatedAt', 'FirstObservedAt', 'LastObservedAt'])
    if (finding[field] !== undefined && !RFC3339.test(String(finding[field])))
      return invalid(`${field} is not an RFC 3339 timestamp.`);
  const text = (value: unknown, max: number, name: string) =>
    typeof value !== 'string'
      ? `${name} must be a string.`
      : value.length > max
        ? `${name} is longer than ${max}.`
        : undefined;
  const problem =
    text(finding.Id, 512, 'Id') ??
    text(finding.GeneratorId, 512, 'GeneratorId') ??
    text(finding.Title, 256, 'Title') ??
    text(finding.Description, 1024, 'Description');
  if (problem !== undefined) return invalid(problem);
  const recommendation = (finding.Remediation as { Recommendation?: { Text?: unknown } } | undefined)
    ?.Recommendation;
  if (recommendation?.Text !== undefined) {
    const p = text(recommendation.Text, 512, 'Remediation.Recommendation.Text');
    if (p !== undefined) return invalid(p);
  }
  const severity = finding.Severity as { Label?: unknown; Normalized?: unknown };
  if (severity.Label === undefined && severity.Normalized === undefined)
    return invalid('Severity needs a Label or Normalized value.');
  if (severity.Label !== undefined && !LABELS.has(String(severity.Label)))
    return invalid('Severity.Label is not valid.');
  const fpfSeverity = (finding.FindingProviderFields as { Severity?: { Label?: unknown } } | undefined)
    ?.Severity;
  if (fpfSeverity?.Label !== undefined && !LABELS.has(String(fpfSeverity.Label)))
    return invalid('FindingProviderFields.Severity.Label is not valid.');
  const typeLists = [
    finding.Types,
    (finding.FindingProviderFields as { Types?: unknown } | undefined)?.Types,
  ];
  for (const types of typeLists) {
    if (types === undefined) continue;
    if (!Array.isArray(types) || types.length > 50) return invalid('Types must be a list of at most 50.');
    for (const type of types) {
      const [namespace, category, ...rest] = String(type).split('/');
      if (
        !NAMESPACES.includes(namespace ?? '') ||
        (category !== undefined && category === '') ||
        rest.length > 1
      )
        return invalid(`Type ${String(type)} is not namespace/category/classifier in a valid namespace.`);
    }
  }
  const resources = finding.Resources;
  if (!Array.isArray(resources) || resources.length < 1 || resources.length > 32)
    return invalid('Resources must hold 1 to 32 resources.');
  for (const resource of resources as Json[])
    if (typeof resource.Type !== 'string' || typeof resource.Id !== 'string' || resource.Id === '')
      return invalid('Each resource needs a Type and an Id.');
  const fields = finding.ProductFields as Record<string, unknown> | undefined;
  if (fields !== undefined) {
    const entries = Object.entries(fields);
    if (entries.length > 50) return invalid('ProductFields holds more than 50 entries.');
    for (const [key, value] of entries)
      if (key.length > 128 || typeof value !== 'string' || value.length > 2048)
        return invalid(`ProductFields.${key} is over the key or value limit.`);
  }
  return undefined;
}

const REQUEST_ID = 'x-amzn-requestid';

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(
    res,
    status,
    { Code: type, Message: message },
    {
      requestIdHeader: REQUEST_ID,
      headers: { 'x-amzn-errortype': type },
    },
  );
}
