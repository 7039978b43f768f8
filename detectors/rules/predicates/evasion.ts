import type { EventPredicate } from '../../engine/condition.js';

/** Predicates for the evasion rules. */
export const EVASION_PREDICATES: Readonly<Record<string, EventPredicate>> = {};
