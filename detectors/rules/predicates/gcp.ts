import type { RulePredicate } from '../../engine/condition.js';

/** Predicates for the GCP rules. */
export const GCP_PREDICATES: Readonly<Record<string, RulePredicate>> = {};
