import { describe, expect, it } from 'vitest';
import { createLogger, formatLine } from '../shared/log.js';

describe('log lines', () => {
  it('are one plain line with key=value fields', () => {
    const line = formatLine('info', 'loaded', { table: 'sales.orders', rows: 1200, seconds: 1.5 }, new Date('2026-01-02T03:04:05Z'));
    expect(line).toBe('2026-01-02T03:04:05.000Z info  loaded table=sales.orders rows=1200 seconds=1.5');
  });

  it('quote values with spaces and never print secret-named fields', () => {
    const line = formatLine('error', 'failed', { reason: 'relation "x" does not exist', password: 'hunter2', clientSecret: 's3' });
    expect(line).toContain('reason="relation \\"x\\" does not exist"');
    expect(line).toContain('password=[redacted]');
    expect(line).toContain('clientSecret=[redacted]');
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain('s3');
  });

  it('drop lines below the level', () => {
    const lines: string[] = [];
    const log = createLogger('warn', (l) => lines.push(l));
    log.info('quiet');
    log.warn('loud');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('warn  loud');
  });
});
