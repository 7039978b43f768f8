/**
 * Predicates of the Kubernetes rules (rules/kubernetes/), over the shared
 * `kubernetes.*` fields so they read GKE, AKS, EKS and any audit Event alike.
 */
import type { Lists } from '../../engine/condition.js';
import type { ApiActivity } from '../../schema/api-activity.js';
import { asList, asObject, type Json } from './json.js';

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const strings = (value: unknown): string[] =>
  asList(value).filter((item): item is string => typeof item === 'string');

/** The user a request ran as: the impersonated user when there is one, else the authenticated one. */
function usernameOf(event: ApiActivity): string | undefined {
  return event.kubernetes?.user.username ?? event.actor.user.uid;
}

/** Users of the control plane and of the managed services' own agents. */
const SYSTEM_USER_PREFIXES = [
  'system:node:',
  'system:kube-',
  'system:apiserver',
  'system:addon-manager',
  'system:gke-',
  'system:gcp-',
  'system:cloud-controller-manager',
  'system:konnectivity',
  'system:clustermetrics',
  'system:l7-lb-controller',
  'system:managed-certificate-controller',
  'system:vpa-',
  'system:volume-scheduler',
  'system:certificate-controller',
  'system:metrics-server',
  'eks:',
];
const SYSTEM_USERS = new Set(['aksService', 'aks-support', 'kubelet', 'kube-apiserver-kubelet-client']);

/**
 * The cluster acting on its own: control-plane components, nodes, the
 * managed service's agents (GKE robot accounts, AKS `aksService`, EKS `eks:`),
 * and service accounts of the namespaces in `k8s_controller_namespaces` or
 * named in `k8s_trusted_service_accounts`. Anonymous requests and other
 * service accounts are not: they are what a stolen token looks like.
 */
export function k8sClusterController(event: ApiActivity, lists: Lists): boolean {
  const username = usernameOf(event);
  if (username === undefined) return false;
  if (SYSTEM_USERS.has(username)) return true;
  if (SYSTEM_USER_PREFIXES.some((prefix) => username.startsWith(prefix))) return true;
  if (username.endsWith('@container-engine-robot.iam.gserviceaccount.com')) return true;
  if (event.kubernetes?.user.groups?.includes('system:nodes') === true) return true;
  if ((lists.k8s_trusted_service_accounts ?? []).some((trusted) => String(trusted) === username)) return true;
  if (username.startsWith('system:serviceaccount:')) {
    const namespace = username.slice(22, username.indexOf(':', 22));
    return (lists.k8s_controller_namespaces ?? []).some((ns) => String(ns) === namespace);
  }
  return false;
}

const SPEC_TEMPLATE_KINDS = new Set([
  'deployments',
  'daemonsets',
  'statefulsets',
  'replicasets',
  'replicationcontrollers',
  'jobs',
]);

/** The pod spec a request creates: of a Pod, of a workload's template, or of a CronJob's job template. */
function podSpecOf(event: ApiActivity): Json | undefined {
  const k8s = event.kubernetes;
  const request = asObject(k8s?.request_object);
  const spec = asObject(request?.spec);
  if (k8s === undefined || spec === undefined || k8s.subresource !== undefined) return undefined;
  const kind = text(request?.kind);
  if (k8s.resource === 'pods' || kind === 'Pod') return spec;
  if (k8s.resource === 'cronjobs' || kind === 'CronJob')
    return asObject(asObject(asObject(asObject(spec.jobTemplate)?.spec)?.template)?.spec);
  if (SPEC_TEMPLATE_KINDS.has(k8s.resource ?? '') || asObject(spec.template) !== undefined)
    return asObject(asObject(spec.template)?.spec);
  return undefined;
}

const DANGEROUS_CAPABILITIES = new Set([
  'all',
  'sys_admin',
  'sys_ptrace',
  'sys_module',
  'sys_rawio',
  'sys_boot',
  'dac_read_search',
  'net_admin',
  'bpf',
  'perfmon',
]);

/** Host paths that give a container the node: its root, kubelet and runtime state, devices, kernel views. */
const SENSITIVE_HOST_PATHS = [
  '/',
  '/etc',
  '/root',
  '/home',
  '/proc',
  '/sys',
  '/dev',
  '/boot',
  '/var/run',
  '/run',
  '/var/lib/kubelet',
  '/var/lib/docker',
  '/var/lib/containerd',
  '/home/kubernetes',
  '/var/log',
];

function isSensitiveHostPath(path: string): boolean {
  const clean = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return SENSITIVE_HOST_PATHS.some(
    (root) => clean === root || (root !== '/' && clean.startsWith(`${root}/`)),
  );
}

function containersOf(spec: Json): Json[] {
  return [...asList(spec.containers), ...asList(spec.initContainers), ...asList(spec.ephemeralContainers)]
    .map(asObject)
    .filter((c): c is Json => c !== undefined);
}

/**
 * A workload that breaks container isolation: a privileged container, a
 * dangerous added capability, the host's PID / IPC / network namespace, or a
 * hostPath volume of the node's root, system or runtime directories.
 */
export function k8sWorkloadEscapesContainer(event: ApiActivity): boolean {
  const spec = podSpecOf(event);
  if (spec === undefined) return false;
  if (spec.hostPID === true || spec.hostIPC === true || spec.hostNetwork === true) return true;
  for (const container of containersOf(spec)) {
    const context = asObject(container.securityContext);
    if (context?.privileged === true) return true;
    const added = strings(asObject(context?.capabilities)?.add).map((cap) =>
      cap.toLowerCase().replace(/^cap_/, ''),
    );
    if (added.some((cap) => DANGEROUS_CAPABILITIES.has(cap))) return true;
  }
  for (const volume of asList(spec.volumes)) {
    const path = text(asObject(asObject(volume)?.hostPath)?.path);
    if (path !== undefined && isSensitiveHostPath(path)) return true;
  }
  return false;
}

/** A workload that mounts some other directory of its node (not one {@link k8sWorkloadEscapesContainer} flags). */
export function k8sWorkloadMountsHostPath(event: ApiActivity): boolean {
  const spec = podSpecOf(event);
  if (spec === undefined) return false;
  const mounts = asList(spec.volumes).some((volume) => asObject(asObject(volume)?.hostPath) !== undefined);
  return mounts && !k8sWorkloadEscapesContainer(event);
}

/** Resources whose grant is control of pods or nodes: run commands, reach the kubelet, mint tokens. */
const DANGEROUS_RESOURCES = new Set([
  '*',
  'pods/exec',
  'pods/attach',
  'pods/*',
  'nodes/proxy',
  'nodes/*',
  'serviceaccounts/token',
  'certificatesigningrequests/approval',
]);
const DANGEROUS_VERBS = new Set(['*', 'escalate', 'bind', 'impersonate', 'deletecollection']);

/**
 * A Role or ClusterRole whose rules grant what leads to more privilege:
 * pods/exec or attach, the node proxy (kubelet API), token minting, any
 * wildcard, or the escalate / bind / impersonate / deletecollection verbs.
 */
export function k8sRoleGrantsDangerousPermissions(event: ApiActivity): boolean {
  const request = asObject(event.kubernetes?.request_object);
  if (request === undefined) return false;
  for (const item of asList(request.rules)) {
    const rule = asObject(item);
    if (rule === undefined) continue;
    const verbs = strings(rule.verbs);
    if (verbs.length === 0) continue;
    if (verbs.some((verb) => DANGEROUS_VERBS.has(verb))) return true;
    if (strings(rule.resources).some((resource) => DANGEROUS_RESOURCES.has(resource))) return true;
    if (strings(rule.nonResourceURLs).includes('*') && verbs.some((verb) => verb !== 'get')) return true;
  }
  return false;
}

/**
 * An exec that copies files (`kubectl cp` runs `tar cf - <path>` to copy out
 * and `tar xmf - -C <dir>` to copy in), through a shell or not.
 */
export function k8sExecIsFileCopy(event: ApiActivity): boolean {
  const command = event.kubernetes?.command ?? [];
  const [first, second] = command;
  if (first === undefined) return false;
  const program = first.slice(first.lastIndexOf('/') + 1);
  if (program === 'tar')
    return second !== undefined && /^-?[a-zA-Z]*[cx][a-zA-Z]*$/.test(second) && command.includes('-');
  // sh -c "tar cf - /path"
  const script = command.slice(1).join(' ');
  return /^(ba|da|a)?sh$/.test(program) && /(^|[\s;&|])tar\s+-?[a-zA-Z]*[cx][a-zA-Z]*\s+-(\s|$)/.test(script);
}

export const KUBERNETES_PREDICATES = {
  k8sClusterController,
  k8sWorkloadEscapesContainer,
  k8sWorkloadMountsHostPath,
  k8sRoleGrantsDangerousPermissions,
  k8sExecIsFileCopy,
};
