import type { RulePredicate } from '../../engine/condition.js';

/** Predicates for the AZURE rules. */
export const AZURE_PREDICATES: Readonly<Record<string, RulePredicate>> = {};
