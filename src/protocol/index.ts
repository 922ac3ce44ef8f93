export * from './api-types';
export * from './artifact-path';
export * from './errors';
export * from './metric-line';
export * from './loopback';
export * from './describe';
export * from './unicode';
export * from './run-meta-line';
