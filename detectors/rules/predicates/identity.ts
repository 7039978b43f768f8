import type { EventPredicate } from '../../engine/condition.js';

/** Predicates for the identity rules. */
export const IDENTITY_PREDICATES: Readonly<Record<string, EventPredicate>> = {};
