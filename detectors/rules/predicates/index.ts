/**
 * The TypeScript escape hatch: named predicates for logic YAML cannot say
 * (parsing an embedded policy document, comparing two fields). A rule uses one
 * as `- predicate: <name>`. Each predicate is pure, total (never throws on odd
 * input) and covered by the test cases of the rules that use it. Predicates
 * written over audit events are false on runtime events.
 */
import { forAuditEvents, type RulePredicate } from '../../engine/condition.js';
import { AZURE_PREDICATES } from './azure.js';
import { EVASION_PREDICATES } from './evasion.js';
import { GCP_PREDICATES } from './gcp.js';
import { IDENTITY_PREDICATES } from './identity.js';
import { KUBERNETES_PREDICATES } from './kubernetes.js';
import { policyGrantsPublicAccess } from './policy.js';
import { RESOURCES_PREDICATES } from './resources.js';
import { RUNTIME_PREDICATES } from './runtime.js';
import { sharedWithOtherAccount, sharedWithPublic } from './sharing.js';

export const PREDICATES: Readonly<Record<string, RulePredicate>> = {
  ...forAuditEvents({
    policyGrantsPublicAccess,
    sharedWithPublic,
    sharedWithOtherAccount,
    ...IDENTITY_PREDICATES,
    ...EVASION_PREDICATES,
    ...RESOURCES_PREDICATES,
    ...GCP_PREDICATES,
    ...AZURE_PREDICATES,
    ...KUBERNETES_PREDICATES,
  }),
  ...RUNTIME_PREDICATES,
};
