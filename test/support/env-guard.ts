/**
 * Every test file leaves process.env as it found it: harnesses put secrets and
 * settings in the environment for the file's tests, and this restores it after
 * the file, so that no variable leaks into the next file run by the same worker.
 */
import { afterAll } from 'vitest';

const saved = { ...process.env };

afterAll(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});
