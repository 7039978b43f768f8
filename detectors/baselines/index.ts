export * from './baseliner.js';
export * from './features.js';
export * from './memory-store.js';
export * from './profile.js';
export * from './scorer.js';
export * from './store.js';
