/**
 * A `@google-cloud/logging` client on the library's HTTP/JSON transport
 * (`fallback: 'rest'`): `POST https://logging.googleapis.com/v2/entries:list`
 * instead of gRPC, which needs no HTTP/2 and lets tests answer it from a
 * plain local server.
 *
 * One adjustment makes it usable for audit logs. On this transport the
 * library turns the JSON response back into protobuf messages, and an entry's
 * `protoPayload` is a `google.protobuf.Any`: decoding it needs the message
 * type named by its `@type`, and the library ships no descriptor for
 * `google.cloud.audit.AuditLog` (nor for the `serviceData` types nested in
 * older audit logs). Every audit entry would fail to decode, and the library
 * would retry that failure as UNAVAILABLE for ten minutes. So this client's
 * copy of the descriptors declares `LogEntry.protoPayload` as a
 * `google.protobuf.Struct`: on the JSON transport the payload is a plain JSON
 * object either way, and as a Struct it comes through whole, `@type` and
 * fields we have never heard of included. (On gRPC the bytes differ, which is
 * why this is only ever done for the JSON transport.) The shared descriptor
 * cache is not touched.
 */
import { Logging, type LoggingOptions } from '@google-cloud/logging';
import type { AuthClient } from 'google-auth-library';
import gax from 'google-gax';

export interface LoggingClientOptions {
  /** The project the client is billed to and whose quota it uses. */
  readonly projectId: string;
  /** Signs the requests (`createGcpAuthClient` in `credentials.ts`). */
  readonly authClient: AuthClient;
  /** Another host than `logging.googleapis.com` (a local server in tests, a private endpoint). */
  readonly apiEndpoint?: string;
  readonly port?: number;
  /** `http` only for a local server. */
  readonly protocol?: 'http' | 'https';
}

/** The options `Logging` passes on to its generated client; the transport ones are not in its type. */
type RestLoggingOptions = LoggingOptions & { fallback: 'rest'; protocol?: 'http' | 'https' };

export function createLoggingClient(options: LoggingClientOptions): Logging {
  const clientOptions: RestLoggingOptions = {
    projectId: options.projectId,
    authClient: options.authClient,
    fallback: 'rest',
    ...(options.apiEndpoint !== undefined ? { apiEndpoint: options.apiEndpoint } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.protocol !== undefined ? { protocol: options.protocol } : {}),
  };
  return new Logging(clientOptions, restGaxWithStructPayload());
}

/** Path of `LogEntry.protoPayload` in the generated client's JSON descriptors. */
const LOG_ENTRY_PATH = ['google', 'logging', 'v2', 'LogEntry'] as const;

interface DescriptorNode {
  nested?: Record<string, DescriptorNode>;
  fields?: Record<string, { type: string }>;
}

let cached: typeof gax | undefined;

/**
 * google-gax with its JSON-transport client class replaced by one that loads
 * the descriptors with `protoPayload` retyped (see the module comment). Built
 * on prototypes, so everything else is the library's own.
 */
function restGaxWithStructPayload(): typeof gax {
  if (cached !== undefined) return cached;
  const Base = gax.fallback.GrpcClient;
  class StructPayloadGrpcClient extends Base {
    override loadProtoJSON(json: Parameters<InstanceType<typeof Base>['loadProtoJSON']>[0]) {
      const copy = structuredClone(json) as DescriptorNode;
      let node: DescriptorNode | undefined = copy;
      for (const name of LOG_ENTRY_PATH) node = node?.nested?.[name];
      const field = node?.fields?.protoPayload;
      if (field === undefined || field.type !== 'google.protobuf.Any')
        throw new Error('google.logging.v2.LogEntry.protoPayload is not where this adapter expects it');
      field.type = 'google.protobuf.Struct';
      // The copy differs from the library's descriptors, so it gets its own cache entry.
      return super.loadProtoJSON(copy as typeof json);
    }
  }
  const fallback = Object.assign(Object.create(gax.fallback) as typeof gax.fallback, {
    GrpcClient: StructPayloadGrpcClient,
  });
  cached = Object.assign(Object.create(gax) as typeof gax, { fallback });
  return cached;
}
