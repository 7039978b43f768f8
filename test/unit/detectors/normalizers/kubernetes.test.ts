import { describe, expect, it } from 'vitest';
import { normalizeGcpAudit } from '../../../../detectors/normalizers/gcp-audit.js';
import {
  kubernetesFromGke,
  kubernetesMethod,
  normalizeKubernetesAudit,
} from '../../../../detectors/normalizers/kubernetes.js';
import { unpackDocument } from '../../../../detectors/readers/unpack.js';
import { ApiActivity } from '../../../../detectors/schema/api-activity.js';

/** An audit.k8s.io/v1 Event as the API server's log backend writes it. */
function auditEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Request',
    auditID: '0b6c2e1a-4f3d-4c8b-9a7e-1d2c3b4a5f6e',
    stage: 'ResponseStarted',
    requestURI:
      '/api/v1/namespaces/shop/pods/cart-7d9f8/exec?command=sh&command=-c&command=id&container=cart&stdin=true&tty=true',
    verb: 'get',
    user: {
      username: 'dana@contoso.com',
      uid: 'a1b2c3',
      groups: ['platform-admins', 'system:authenticated'],
    },
    impersonatedUser: { username: 'system:serviceaccount:shop:cart', groups: ['system:serviceaccounts'] },
    sourceIPs: ['198.51.100.61', '10.240.0.4'],
    userAgent: 'kubectl/v1.30.1 (linux/amd64) kubernetes/6911225',
    objectRef: {
      resource: 'pods',
      namespace: 'shop',
      name: 'cart-7d9f8',
      apiVersion: 'v1',
      subresource: 'exec',
    },
    responseStatus: { metadata: {}, code: 101 },
    requestReceivedTimestamp: '2026-03-06T08:00:00.000000Z',
    stageTimestamp: '2026-03-06T08:00:00.051000Z',
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed' },
    ...overrides,
  };
}

const AKS_RESOURCE_ID =
  '/SUBSCRIPTIONS/0F4B7A2E-1C3D-4E5F-8A9B-0C1D2E3F4A5B/RESOURCEGROUPS/RG-AKS/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/PROD-AKS';

function aksRecord(event: Record<string, unknown>, category = 'kube-audit'): Record<string, unknown> {
  return {
    time: '2026-03-06T08:00:00.0510000Z',
    resourceId: AKS_RESOURCE_ID,
    category,
    operationName: 'Microsoft.ContainerService/managedClusters/diagnosticLogs/Read',
    properties: { log: JSON.stringify(event), stream: 'stdout', pod: 'kube-apiserver-5d8f7c9b6-x2k4p' },
  };
}

describe('normalizeKubernetesAudit', () => {
  it('reads an AKS kube-audit record: cluster, subscription, request, exec command, annotations', () => {
    // Prepare
    const record = aksRecord(auditEvent());
    // Act
    const event = normalizeKubernetesAudit(record);
    // Assess
    expect(ApiActivity.safeParse(event).success).toBe(true);
    expect(event).toMatchObject({
      source: 'kubernetes.audit',
      status: 'Success',
      time: Date.parse('2026-03-06T08:00:00Z'),
      cloud: { provider: 'Azure', account: '0f4b7a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b' },
      actor: { user: { uid: 'dana@contoso.com', name: 'dana@contoso.com', type: 'User' } },
      api: {
        service: 'k8s.io',
        operation: 'io.k8s.core.v1.pods.exec.get',
        request: { uid: '0b6c2e1a-4f3d-4c8b-9a7e-1d2c3b4a5f6e' },
      },
      src_endpoint: { ip: '198.51.100.61' },
      user_agent: 'kubectl/v1.30.1 (linux/amd64) kubernetes/6911225',
      resources: [{ uid: 'core/v1/namespaces/shop/pods/cart-7d9f8/exec', name: 'cart-7d9f8', type: 'pods' }],
      metadata: { uid: '0b6c2e1a-4f3d-4c8b-9a7e-1d2c3b4a5f6e', log_name: 'kube-audit', read_only: false },
    });
    expect(event.kubernetes).toMatchObject({
      cluster: 'PROD-AKS',
      verb: 'get',
      resource: 'pods',
      subresource: 'exec',
      namespace: 'shop',
      name: 'cart-7d9f8',
      api_version: 'v1',
      response_code: 101,
      stage: 'ResponseStarted',
      command: ['sh', '-c', 'id'],
      source_ips: ['198.51.100.61', '10.240.0.4'],
      user: { username: 'dana@contoso.com', groups: ['platform-admins', 'system:authenticated'] },
      impersonated_user: { username: 'system:serviceaccount:shop:cart' },
      annotations: { 'authorization.k8s.io/decision': 'allow' },
    });
    expect(event.kubernetes?.api_group).toBeUndefined();
  });

  it('reads a bare Event (EKS): the account from the IAM ARN, a 403 as a failure', () => {
    const event = normalizeKubernetesAudit(
      auditEvent({
        verb: 'list',
        stage: 'ResponseComplete',
        requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
        objectRef: { resource: 'clusterroles', apiGroup: 'rbac.authorization.k8s.io', apiVersion: 'v1' },
        user: {
          username: 'arn:aws:sts::111122223333:assumed-role/dev/alice',
          extra: { arn: ['arn:aws:sts::111122223333:assumed-role/dev/alice'] },
        },
        impersonatedUser: undefined,
        responseStatus: {
          code: 403,
          status: 'Failure',
          reason: 'Forbidden',
          message: 'clusterroles is forbidden',
        },
      }),
    );
    expect(event).toMatchObject({
      status: 'Failure',
      activity_id: 2,
      cloud: { provider: 'AWS', account: '111122223333' },
      api: {
        operation: 'io.k8s.authorization.rbac.v1.clusterroles.list',
        response: { error: 'Forbidden', message: 'clusterroles is forbidden' },
      },
      metadata: { product: 'Kubernetes audit', log_name: 'audit', read_only: true },
    });
    expect(event.kubernetes?.cluster).toBeUndefined();
  });

  it('takes the command from the request body, and the group and version from the URI when objectRef omits them', () => {
    const event = normalizeKubernetesAudit(
      auditEvent({
        verb: 'update',
        requestURI: '/apis/batch/v1/namespaces/ops/cronjobs/nightly',
        objectRef: { resource: 'cronjobs', namespace: 'ops', name: 'nightly' },
        requestObject: { command: ['tar', 'cf', '-', '/data'] },
      }),
    );
    expect(event.api.operation).toBe('io.k8s.batch.v1.cronjobs.update');
    expect(event.kubernetes).toMatchObject({
      api_group: 'batch',
      api_version: 'v1',
      command: ['tar', 'cf', '-', '/data'],
    });
  });

  it('places an Event without a cloud hint as Other, and dates a record without times by its arrival', () => {
    const bare = auditEvent({
      requestReceivedTimestamp: undefined,
      stageTimestamp: undefined,
      user: { username: 'kubernetes-admin' },
    });
    const event = normalizeKubernetesAudit(bare, { receivedAt: 1_700_000_000_000 });
    expect(event.cloud).toEqual({ provider: 'Other', account: 'unknown' });
    expect(event.time).toBe(1_700_000_000_000);
    expect(event.metadata).toMatchObject({ original_time: '', time_source: 'ingested' });
    expect(event.status).toBe('Success');
  });

  it('reports no outcome when the Event has no response yet, and refuses what is not an audit Event', () => {
    const received = normalizeKubernetesAudit(
      auditEvent({ stage: 'RequestReceived', responseStatus: undefined }),
    );
    expect(received.status).toBe('Unknown');
    expect(() => normalizeKubernetesAudit({ kind: 'Pod', apiVersion: 'v1' })).toThrow(
      /not a Kubernetes audit Event/,
    );
    expect(() => normalizeKubernetesAudit(aksRecord({ hello: 'world' }))).toThrow(
      /not a Kubernetes audit Event/,
    );
  });
});

describe('kubernetesFromGke', () => {
  const entry = {
    insertId: 'k8s0001e2a1b2c',
    logName: 'projects/acme-prod-123/logs/cloudaudit.googleapis.com%2Factivity',
    labels: {
      'authorization.k8s.io/decision': 'allow',
      'authorization.k8s.io/reason': 'access granted by IAM',
    },
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      status: {},
      authenticationInfo: { principalEmail: 'alice@example.com' },
      requestMetadata: { callerIp: '203.0.113.24', callerSuppliedUserAgent: 'kubectl/v1.29.2' },
      serviceName: 'k8s.io',
      methodName: 'io.k8s.core.v1.pods.exec.create',
      resourceName: 'core/v1/namespaces/payments/pods/api-0/exec',
      request: { command: ['cat', '/var/run/secrets/kubernetes.io/serviceaccount/token'], container: 'api' },
    },
    resource: {
      type: 'k8s_cluster',
      labels: { project_id: 'acme-prod-123', cluster_name: 'prod-gke', location: 'us-central1' },
    },
    timestamp: '2026-03-06T08:00:00.000Z',
  };

  it('builds the same kubernetes object from a GKE entry, and gcp-audit attaches it', () => {
    const k8s = kubernetesFromGke(entry);
    expect(k8s).toEqual({
      cluster: 'prod-gke',
      verb: 'create',
      resource: 'pods',
      subresource: 'exec',
      namespace: 'payments',
      name: 'api-0',
      api_version: 'v1',
      user: { username: 'alice@example.com' },
      source_ips: ['203.0.113.24'],
      user_agent: 'kubectl/v1.29.2',
      request_object: entry.protoPayload.request,
      command: ['cat', '/var/run/secrets/kubernetes.io/serviceaccount/token'],
      annotations: entry.labels,
    });
    const event = normalizeGcpAudit(entry);
    expect(ApiActivity.safeParse(event).success).toBe(true);
    expect(event.source).toBe('gcp.audit');
    expect(event.kubernetes).toEqual(k8s);
  });

  it('reads cluster-scoped and all-namespace names, groups, and a denied request as 403', () => {
    const k8s = kubernetesFromGke({
      ...entry,
      protoPayload: {
        ...entry.protoPayload,
        methodName: 'io.k8s.core.v1.secrets.list',
        resourceName: 'core/v1/secrets',
        status: { code: 7, message: 'PERMISSION_DENIED' },
        request: undefined,
      },
    });
    expect(k8s).toMatchObject({ verb: 'list', resource: 'secrets', response_code: 403 });
    expect(k8s.namespace).toBeUndefined();
    const role = kubernetesFromGke({
      ...entry,
      protoPayload: {
        ...entry.protoPayload,
        methodName: 'io.k8s.authorization.rbac.v1.clusterroles.create',
        resourceName: 'rbac.authorization.k8s.io/v1/clusterroles/debugger',
      },
    });
    expect(role).toMatchObject({
      resource: 'clusterroles',
      name: 'debugger',
      api_group: 'rbac.authorization.k8s.io',
    });
    expect(kubernetesMethod(role)).toBe('io.k8s.authorization.rbac.v1.clusterroles.create');
  });

  it('names an anonymous caller GKE logs only as authoritySelector, in kubernetes.user and the actor', () => {
    const anonymous = {
      ...entry,
      protoPayload: {
        ...entry.protoPayload,
        authenticationInfo: { authoritySelector: 'system:anonymous' },
        methodName: 'io.k8s.core.v1.configmaps.get',
        resourceName: 'core/v1/namespaces/kube-system/configmaps/cluster-info',
        request: undefined,
      },
    };
    expect(kubernetesFromGke(anonymous).user).toEqual({ username: 'system:anonymous' });
    const event = normalizeGcpAudit(anonymous);
    expect(event.kubernetes?.user).toEqual({ username: 'system:anonymous' });
    expect(event.actor.user).toMatchObject({ uid: 'system:anonymous', type: 'Unknown' });
    // A named principal still wins over the selector.
    const named = {
      ...anonymous,
      protoPayload: {
        ...anonymous.protoPayload,
        authenticationInfo: { principalEmail: 'alice@example.com', authoritySelector: 'system:anonymous' },
      },
    };
    expect(kubernetesFromGke(named).user).toEqual({ username: 'alice@example.com' });
  });

  it('leaves non-Kubernetes GCP entries without a kubernetes object', () => {
    const event = normalizeGcpAudit({
      ...entry,
      protoPayload: {
        ...entry.protoPayload,
        serviceName: 'compute.googleapis.com',
        methodName: 'v1.compute.instances.list',
      },
    });
    expect(event.kubernetes).toBeUndefined();
  });
});

describe('reading Kubernetes audit records', () => {
  it('recognizes AKS kube-audit and kube-audit-admin records alone, in {"records": [...]}, and bare Events', () => {
    const event = auditEvent();
    const sources = (value: unknown) =>
      unpackDocument(value).map((item) => (item.kind === 'record' ? item.source : item.reason));
    expect(sources(aksRecord(event))).toEqual(['kubernetes.audit']);
    expect(sources({ records: [aksRecord(event), aksRecord(event, 'kube-audit-admin')] })).toEqual([
      'kubernetes.audit',
      'kubernetes.audit',
    ]);
    expect(sources(event)).toEqual(['kubernetes.audit']);
    expect(sources({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [event, event] })).toEqual([
      'kubernetes.audit',
      'kubernetes.audit',
    ]);
  });

  it('leaves other AKS resource logs and Activity records to the Azure normalizer', () => {
    const [item] = unpackDocument({
      ...aksRecord(auditEvent()),
      category: 'kube-apiserver',
      properties: { log: 'I0306 08:00:00.000000 1 trace.go:236] Trace' },
    });
    expect(item).toMatchObject({ kind: 'record', source: 'azure.activity' });
  });
});
