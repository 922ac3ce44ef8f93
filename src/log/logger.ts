/** One winston logger for the agent, the service and the CLI; level from OUTPOST_LOG_LEVEL. */
import winston from 'winston';

export type Logger = winston.Logger;

const LEVELS = Object.keys(winston.config.npm.levels);
const DEFAULT_LEVEL = 'info';
let badLevelWarned = false;

export function createLogger(component: string, level = process.env.OUTPOST_LOG_LEVEL ?? DEFAULT_LEVEL): Logger {
  // winston drops every message at an unknown level: a typo must not silence errors.
  const known = LEVELS.includes(level);
  const logger = winston.createLogger({
    level: known ? level : DEFAULT_LEVEL,
    defaultMeta: { component },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.printf(({ timestamp, level: lvl, message, component: c, ...rest }) => {
        const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
        return `${timestamp} ${lvl} [${c}] ${message}${extra}`;
      }),
    ),
    // stderr: stdout belongs to the command's own output (run ids, --json).
    transports: [new winston.transports.Console({ stderrLevels: LEVELS })],
  });
  if (!known && !badLevelWarned) {
    badLevelWarned = true;
    logger.warn(`OUTPOST_LOG_LEVEL "${level}" is not one of ${LEVELS.join(', ')}; using ${DEFAULT_LEVEL}`);
  }
  return logger;
}
