// The import rule of the layout, as eslint enforces it (eslint.config.js): each case lints a
// file placed in a folder against an import, so the rule itself is tested; `npm run lint` applies it
// to the code as it is.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function restricted(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from '${source}';\nexport const y = x;\n`, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const BLOCKS = ['db', 'control', 'queue', 'secrets', 'schedule', 'connectors', 'destination', 'strategies', 'data'];
const USE_CASES = ['loader', 'sensor', 'reaper', 'api'];
const ADAPTERS = ['functions', 'host', 'cli'];

describe('imports run one way', () => {
  it.each(BLOCKS)('shared/%s imports no use case and no adapter', async (block) => {
    for (const target of USE_CASES) {
      expect(await restricted(`shared/${block}/probe.ts`, `../${target}/module.js`), target).toHaveLength(1);
    }
    for (const target of ADAPTERS) {
      expect(await restricted(`shared/${block}/probe.ts`, `../../${target}/module.js`), target).toHaveLength(1);
    }
  });

  it('connectors and the destination never import each other, nor does shared/data import either', async () => {
    expect(await restricted('shared/connectors/probe.ts', '../destination/port.js')).toHaveLength(1);
    expect(await restricted('shared/destination/probe.ts', '../connectors/port.js')).toHaveLength(1);
    expect(await restricted('shared/data/probe.ts', '../connectors/port.js')).toHaveLength(1);
    expect(await restricted('shared/data/probe.ts', '../destination/port.js')).toHaveLength(1);
  });

  it('allows what the layout allows', async () => {
    expect(await restricted('shared/connectors/probe.ts', '../data/spec.js')).toEqual([]);
    expect(await restricted('shared/destination/probe.ts', '../data/spec.js')).toEqual([]);
    expect(await restricted('shared/strategies/probe.ts', '../connectors/port.js')).toEqual([]);
    expect(await restricted('shared/strategies/probe.ts', '../destination/port.js')).toEqual([]);
    expect(await restricted('shared/loader/probe.ts', '../strategies/index.js')).toEqual([]);
    expect(await restricted('shared/api/probe.ts', '../control/status.js')).toEqual([]);
    expect(await restricted('shared/db/probe.ts', 'pg')).toEqual([]);
  });

});
