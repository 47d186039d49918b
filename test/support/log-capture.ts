/**
 * Captures every line the product emits during a test: a Logger whose sink
 * appends to a list, and the console (the Functions context and third-party
 * code write there). `leaks` scans the lines, and anything else given, for
 * secret values.
 */
import { vi } from 'vitest';
import { createLogger, type Logger, type LogLevel } from '../../shared/log.js';

export interface LogCapture {
  lines: string[];
  logger: Logger;
  /** Stops capturing the console. */
  restore(): void;
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

export function captureLogs(level: LogLevel = 'debug'): LogCapture {
  const lines: string[] = [];
  const spies = CONSOLE_METHODS.map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : a instanceof Error ? `${a.message}\n${a.stack}` : JSON.stringify(a))).join(' '));
    }),
  );
  return {
    lines,
    logger: createLogger(level, (line) => lines.push(line)),
    restore: () => spies.forEach((spy) => spy.mockRestore()),
  };
}

/** The forms a secret value can take in text: as is, URL-encoded, JSON-escaped, base64. */
function formsOf(secret: string): string[] {
  return [...new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1), Buffer.from(secret).toString('base64')])];
}

/** Each (secret, where) pair found: `texts` are searched for every form of every secret. */
export function leaks(secrets: readonly string[], texts: Record<string, readonly string[]>): string[] {
  const found: string[] = [];
  for (const [where, list] of Object.entries(texts)) {
    for (const text of list) {
      for (const secret of secrets) {
        if (formsOf(secret).some((form) => text.includes(form))) found.push(`${where}: ${text.slice(0, 200)}`);
      }
    }
  }
  return found;
}
