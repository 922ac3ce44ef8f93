export * from './api-types';
export * from './artifact-path';
export * from './errors';
export * from './metric-line';
export * from './run-folder';
export * from './project-dir';
export * from './loopback';
