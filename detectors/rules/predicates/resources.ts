import type { EventPredicate } from '../../engine/condition.js';

/** Predicates for the resources rules. */
export const RESOURCES_PREDICATES: Readonly<Record<string, EventPredicate>> = {};
