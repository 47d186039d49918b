/**
 * A failure to start the embedded PostgreSQL is one line that says what to do,
 * never a stack trace or an unhandled 'error' event.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgresError, startEmbeddedPostgres } from '../shared/local/embedded-postgres.js';

const scratch = await mkdtemp(join(tmpdir(), 'dataloader-embedded-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('embedded PostgreSQL', () => {
  it('reports a data folder it cannot use in one line naming the folder and the fix', async () => {
    const file = join(scratch, 'not-a-folder');
    await writeFile(file, 'x');
    const error = await startEmbeddedPostgres({ dataDir: join(file, 'postgres'), persistent: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EmbeddedPostgresError);
    const message = (error as Error).message;
    expect(message).toMatch(/^embedded PostgreSQL did not start \(.+\): .*(remove|set DATABASE_URL|run from)/);
    expect(message).toContain(join(file, 'postgres'));
    expect(message).not.toContain('\n');
  });
});
