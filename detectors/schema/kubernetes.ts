/**
 * The Kubernetes API request behind an audit event, in one shape whatever
 * carried it: a GKE Cloud Audit Logs entry (`serviceName: k8s.io`), an AKS
 * `kube-audit` diagnostic record, an EKS or self-managed `audit.k8s.io/v1`
 * Event. Rules written on `kubernetes.*` fire for every cluster the same way.
 *
 * Names follow the audit.k8s.io/v1 Event (https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/),
 * in snake case; OCSF has no Kubernetes object of its own, so this is an
 * extension of API Activity like OCSF's `unmapped`, kept typed.
 */
import { z } from 'zod';

export const KubernetesUser = z
  .object({
    username: z
      .string()
      .optional()
      .describe(
        'User name as the API server authenticated it: `system:serviceaccount:<ns>:<name>`, `system:node:<node>`, `system:anonymous`, an e-mail or UPN.',
      ),
    uid: z.string().optional().describe('User uid, when logged (AKS: the Entra object id).'),
    groups: z
      .array(z.string())
      .optional()
      .describe('Groups of the user (`system:masters`, `system:authenticated`…); GKE does not log them.'),
  })
  .describe('A Kubernetes user.');
export type KubernetesUser = z.infer<typeof KubernetesUser>;

export const Kubernetes = z
  .object({
    cluster: z
      .string()
      .optional()
      .describe(
        'Cluster name: GKE `resource.labels.cluster_name`, the AKS managed cluster of `resourceId`, else absent.',
      ),
    verb: z
      .string()
      .describe(
        'Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection; for exec over WebSocket `get`.',
      ),
    resource: z.string().optional().describe('Resource type, plural (`pods`, `secrets`, `clusterroles`).'),
    subresource: z
      .string()
      .optional()
      .describe('Subresource (`exec`, `attach`, `token`, `proxy`, `status`).'),
    namespace: z
      .string()
      .optional()
      .describe('Namespace; absent for cluster-scoped requests and lists across all namespaces.'),
    name: z.string().optional().describe('Object name; absent for list, watch and create without a name.'),
    api_group: z
      .string()
      .optional()
      .describe('API group (`apps`, `rbac.authorization.k8s.io`); absent for the core group.'),
    api_version: z.string().optional().describe('API version (`v1`).'),
    request_uri: z.string().optional().describe('Request URI with its query (exec `?command=...`).'),
    user: KubernetesUser,
    impersonated_user: KubernetesUser.optional().describe('User the caller impersonated (`kubectl --as`).'),
    source_ips: z
      .array(z.string())
      .optional()
      .describe('Source addresses, the client first then any proxies (GKE: the one caller IP).'),
    user_agent: z.string().optional().describe('User agent of the client (`kubectl/v1.29.2 ...`).'),
    response_code: z
      .number()
      .optional()
      .describe('HTTP status (101 exec upgraded, 200, 201, 401, 403); for GKE derived from the RPC code.'),
    stage: z
      .string()
      .optional()
      .describe('Audit stage (`ResponseStarted` for exec and watch, `ResponseComplete`); absent for GKE.'),
    command: z
      .array(z.string())
      .optional()
      .describe('Command of an exec or attach request, from the request URI query or the request body.'),
    request_object: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('The object sent (Pod, Role, Service…), at audit level Request or above.'),
    response_object: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('The object returned, at audit level RequestResponse.'),
    annotations: z
      .record(z.string(), z.string())
      .optional()
      .describe(
        'Audit annotations: `authorization.k8s.io/decision` (allow / forbid), `authorization.k8s.io/reason`, pod security.',
      ),
  })
  .describe('The Kubernetes API request, for events of a cluster control plane (GKE, AKS, EKS, any).');
export type Kubernetes = z.infer<typeof Kubernetes>;
