/** One winston logger for the agent, the service and the CLI; level from OUTPOST_LOG_LEVEL. */
import winston from 'winston';

export type Logger = winston.Logger;

export function createLogger(component: string, level = process.env.OUTPOST_LOG_LEVEL ?? 'info'): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { component },
    format: winston.format.combine(
      winston.format.timestamp(),
      winston.format.printf(({ timestamp, level: lvl, message, component: c, ...rest }) => {
        const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
        return `${timestamp} ${lvl} [${c}] ${message}${extra}`;
      }),
    ),
    // stderr: stdout belongs to the command's own output (run ids, --json).
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] })],
  });
}
