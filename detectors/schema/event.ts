import type { z } from 'zod';
import { ApiActivity } from './api-activity.js';

/**
 * Every event a normalizer emits. A union on `source` so that later classes
 * (runtime process / network / file activity) join without touching rules that
 * only read audit events.
 */
export const NormalizedEvent = ApiActivity;
export type NormalizedEvent = z.infer<typeof NormalizedEvent>;
