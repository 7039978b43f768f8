/** Callers that recur across activities: AWS services, and services acting with a role session. */
import { assumedRoleIdentity, awsServiceIdentity, type RoleSession } from './identities.js';
import type { Caller } from './record.js';

/** AWS acting on its own: the service's name stands in for address and agent, and no TLS is recorded. */
export function serviceCaller(service: string, account: string): Caller {
  return { identity: awsServiceIdentity(service), account, sourceIPAddress: service, userAgent: service };
}

/** A role session used by an AWS service on the principal's behalf (`invokedBy`). */
export function invokedByCaller(session: RoleSession, service: string): Caller {
  return {
    identity: assumedRoleIdentity(session, { invokedBy: service }),
    account: session.role.account,
    sourceIPAddress: service,
    userAgent: service,
  };
}
