/**
 * The shared constructor of `ApiCall`s. Service modules beside it describe
 * each operation's `requestParameters` and `responseElements` as the service
 * logs them; read-only calls log no response (`responseElements: null`).
 */
import type { ApiCall, JsonObject, Resource } from '../record.js';

export function apiCall(
  service: string,
  operation: string,
  region: string,
  request: JsonObject | null = null,
  extra: Omit<Partial<ApiCall>, 'service' | 'operation' | 'region' | 'request'> = {},
): ApiCall {
  return { service, operation, region, request, ...extra };
}

export const resource = (type: string, arn: string, accountId?: string): Resource =>
  accountId === undefined ? { type, ARN: arn } : { accountId, type, ARN: arn };
