export * from './decode.js';
export * from './errors.js';
export * from './paths.js';
export * from './unpack.js';
