/**
 * A local HTTP server on 127.0.0.1 that answers the two AWS APIs the Lambda
 * functions call besides DynamoDB, over their real wire protocols, for tests
 * of the real SDK clients:
 *
 * - Secrets Manager `GetSecretValue` (AWS JSON 1.1: `POST /` with
 *   `X-Amz-Target: secretsmanager.GetSecretValue`, body `{"SecretId"}`),
 *   answering `{ARN, Name, SecretString, VersionId, VersionStages,
 *   CreatedDate}`, or `ResourceNotFoundException` as the service does.
 * - STS `GetWebIdentityToken` (AWS query protocol: a form body
 *   `Action=GetWebIdentityToken&Audience.member.1=…&SigningAlgorithm=RS256`),
 *   answering the XML response with a token made by `issueToken`.
 *
 * Every request must carry a SigV4 `Authorization` header (the SDK signs with
 * whatever credentials the test client has); its access key id is recorded.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendText, sigV4AccessKeyId, startLocalServer } from './local-server.js';

export interface AwsCall {
  readonly service: 'secretsmanager' | 'sts';
  readonly action: string;
  readonly accessKeyId: string | undefined;
  readonly params: Record<string, unknown>;
}

export interface FakeAws {
  /** `http://127.0.0.1:<port>`: the clients' `endpoint`. */
  readonly endpoint: string;
  readonly calls: AwsCall[];
  /** Stores (or replaces: a new version id) a secret's string. */
  putSecret(arn: string, value: string): void;
  close(): Promise<void>;
}

export interface FakeAwsOptions {
  /** The web identity token STS issues for the request's parameters. */
  readonly issueToken?: (params: Record<string, string>) => string;
}

export async function startFakeAws(options: FakeAwsOptions = {}): Promise<FakeAws> {
  const secrets = new Map<string, { value: string; versionId: string; created: number }>();
  const calls: AwsCall[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const text = (await readBody(req)).toString('utf8');
    const accessKeyId = sigV4AccessKeyId(req);
    if (accessKeyId === undefined)
      return send(
        res,
        403,
        'application/json',
        JSON.stringify({ __type: 'MissingAuthenticationTokenException' }),
      );
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && target.startsWith('secretsmanager.')) {
      const action = target.slice('secretsmanager.'.length);
      const params = JSON.parse(text || '{}') as Record<string, unknown>;
      calls.push({ service: 'secretsmanager', action, accessKeyId, params });
      if (action !== 'GetSecretValue')
        return jsonError(res, 'InvalidRequestException', `${action} is not supported here`);
      const id = String(params.SecretId ?? '');
      const secret = secrets.get(id);
      if (secret === undefined)
        return jsonError(
          res,
          'ResourceNotFoundException',
          "Secrets Manager can't find the specified secret.",
        );
      return send(
        res,
        200,
        'application/x-amz-json-1.1',
        JSON.stringify({
          ARN: id,
          Name: id.split(':secret:')[1] ?? id,
          SecretString: secret.value,
          VersionId: secret.versionId,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: secret.created / 1000,
        }),
      );
    }
    const form = Object.fromEntries(new URLSearchParams(text));
    calls.push({ service: 'sts', action: form.Action ?? '', accessKeyId, params: form });
    if (form.Action !== 'GetWebIdentityToken' || options.issueToken === undefined)
      return send(res, 400, 'text/xml', stsError('InvalidAction', `${form.Action} is not supported here`));
    const token = options.issueToken(form);
    const expiration = new Date(Date.now() + Number(form.DurationSeconds ?? 300) * 1000).toISOString();
    return send(
      res,
      200,
      'text/xml',
      `<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult><WebIdentityToken>${token}</WebIdentityToken><Expiration>${expiration}</Expiration></GetWebIdentityTokenResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetWebIdentityTokenResponse>`,
    );
  }

  const local = await startLocalServer(handle, {
    onError: (error, _req, res) => send(res, 500, 'text/plain', String(error)),
  });
  return {
    endpoint: local.endpoint,
    calls,
    putSecret(arn, value) {
      secrets.set(arn, { value, versionId: randomUUID(), created: Date.now() });
    },
    close: local.close,
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  sendText(res, status, body, { contentType, requestIdHeader: 'x-amzn-requestid' });
}

function jsonError(res: ServerResponse, type: string, message: string): void {
  send(res, 400, 'application/x-amz-json-1.1', JSON.stringify({ __type: type, message }));
}

function stsError(code: string, message: string): string {
  return `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}
