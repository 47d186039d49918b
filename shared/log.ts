/**
 * One plain line per event: `<time> <level> <message> key=value ...`. Field
 * names that suggest a secret are never printed, whatever their value.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_FIELD = /pass(word)?|secret|token|credential|private_?key|connection_?string/i;

function formatValue(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? 'undefined';
}

/** Formats one log line (exported for tests and for hosts with their own sink). */
export function formatLine(level: LogLevel, message: string, fields: LogFields = {}, now = new Date()): string {
  const parts = [now.toISOString(), level.padEnd(5), message];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    parts.push(`${key}=${SECRET_FIELD.test(key) ? '[redacted]' : formatValue(value)}`);
  }
  return parts.join(' ');
}

export function createLogger(level: LogLevel = 'info', sink: (line: string) => void = (line) => console.log(line)): Logger {
  const emit = (at: LogLevel) => (message: string, fields?: LogFields) => {
    if (ORDER[at] >= ORDER[level]) sink(formatLine(at, message, fields));
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = createLogger('error', () => undefined);
