/** The package's entry point: the TypeScript logger (see docs/logging.md). */
export { getLogger, targetFromEnv } from './get-logger';
export type { GetLoggerOptions } from './get-logger';
export { Logger, LogHandle } from './logger';
export type { LoggerTarget, WaitOptions } from './logger';
export type { LogOptions } from './encode-metric-line';
export { AckTimeoutError } from './ack-timeout-error';
export { clientDefaults } from '../../config/client';
export type { ClientSettings } from '../../config/client';
export { pythonHelperDir } from './python-path';
export { UPLOAD_TEMP_PREFIX } from './write-output';
export { OutpostError } from '../protocol';
export type { MetricValue } from '../protocol';
