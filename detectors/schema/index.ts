export * from './api-activity.js';
export * from './common.js';
export * from './event.js';
export * from './finding.js';
export * from './kubernetes.js';
export * from './runtime-activity.js';
export * from './runtime-record.js';
