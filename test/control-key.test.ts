import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from './support/db.js';

describe('control_key', () => {
  it('is sha256 of catalog || schema || table', async () => {
    const db = await createTestDatabase();
    const { rows } = await db.pool.query<{ control_key: Buffer }>(
      `INSERT INTO control.table_control (source_table_catalog, source_table_schema, source_table_name)
       VALUES ('sales', 'dbo', 'orders') RETURNING control_key`,
    );
    const expected = createHash('sha256').update('salesdboorders').digest();
    expect(rows[0]!.control_key.equals(expected)).toBe(true);
  });

  it('is NULL when any part is NULL (the API refuses such rows)', async () => {
    const db = await createTestDatabase();
    const { rows } = await db.pool.query<{ control_key: Buffer | null }>(
      `INSERT INTO control.table_control (source_table_catalog, source_table_schema, source_table_name)
       VALUES ('sales', NULL, 'orders'), (NULL, 'dbo', 'orders'), ('sales', 'dbo', NULL) RETURNING control_key`,
    );
    expect(rows.map((r) => r.control_key)).toEqual([null, null, null]);
  });

  it('cannot be written directly', async () => {
    const db = await createTestDatabase();
    await expect(
      db.pool.query(`INSERT INTO control.table_control (control_key, source_table_name) VALUES ('\\x00', 'x')`),
    ).rejects.toThrow(/cannot insert a non-DEFAULT value into column "control_key"/);
  });
});
