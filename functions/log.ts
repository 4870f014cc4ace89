import { redactText, redactValue } from './shared/redact.ts';

/**
 * Structured JSON logs, one object per line on stderr, every field redacted. Deliberately tiny:
 * Lambda ships stderr to CloudWatch as is, and the local runtime shows the same lines.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

function envLevel(): LogLevel {
  const v = (process.env.FLEETFLOW_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'warn').toLowerCase();
  return v in ORDER ? (v as LogLevel) : 'warn';
}

export function createLogger(
  base: Record<string, unknown> = {},
  level: LogLevel = envLevel(),
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Logger {
  const emit = (lvl: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return;
    const record = {
      level: lvl,
      time: new Date().toISOString(),
      message: redactText(message),
      ...redactValue(base),
      ...redactValue(fields ?? {}),
    };
    write(JSON.stringify(record));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, level, write),
  };
}

export const logger: Logger = createLogger();
