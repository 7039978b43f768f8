export * from './pipeline.js';
export * from './ports.js';
export * from './stats.js';
