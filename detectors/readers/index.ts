export * from './decode.js';
export * from './errors.js';
export * from './unpack.js';
export * from './paths.js';
