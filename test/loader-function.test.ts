/** The Service Bus trigger's mapping of the loader's dispositions (the host itself cannot run here). */
import type { InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loaderHandler, registerLoader } from '../functions/loader.js';
import { createLogger } from '../shared/log.js';
import { setRuntime } from '../shared/runtime.js';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';

let h: LoaderHarness;
const lines: string[] = [];

beforeAll(async () => {
  h = await createLoaderHarness();
  h.runtime.log = createLogger('info', (line) => lines.push(line));
  setRuntime(h.runtime);
  await h.source.pool.query(`CREATE TABLE public.t (id integer); INSERT INTO public.t VALUES (1), (2)`);
});

afterAll(() => setRuntime(undefined));

const context = (triggerMetadata: Record<string, unknown>) => ({ invocationId: 'inv-1', triggerMetadata }) as unknown as InvocationContext;

describe('loader function', () => {
  it('registers on the loads queue with the identity connection, one message per invocation', () => {
    const registered: unknown[] = [];
    registerLoader({ serviceBusQueue: (name: string, options: unknown) => registered.push([name, options]) } as never);
    expect(registered).toEqual([
      ['loader', { queueName: '%LOADS_QUEUE_NAME%', connection: 'ServiceBusConnection', cardinality: 'one', handler: loaderHandler }],
    ]);
  });

  it('loads a message given as JSON text and returns (the host completes it)', async () => {
    const message = await h.queueRow({ source_table_name: 't', destination_table_name: 'fn', load_strategy: 'full' });
    await loaderHandler(JSON.stringify(message), context({ messageId: 'load-1', deliveryCount: 1 }));
    expect((await h.row(message.config_id)).last_status).toBe('Succeeded');
  });

  it('quarantines a malformed message where an admin sees it, counts it, and completes it instead of retrying it forever', async () => {
    await expect(loaderHandler(Buffer.from('{"config_id":"nope"}'), context({ messageId: 'bad-1', deliveryCount: 1 }))).resolves.toBeUndefined();
    expect(lines.some((l) => /error load message quarantined message_id=bad-1 reason="malformed load message/.test(l))).toBe(true);
    // The alert's query matches the line as it is logged.
    expect(lines.some((l) => /^[^ ]+ +[a-z]+ +load message quarantined( |$)/.test(l))).toBe(true);
    // A redelivery of the same message is kept once; another message is counted.
    await loaderHandler('not json \u0000 at all', context({ messageId: 'bad-1', deliveryCount: 2 }));
    await loaderHandler({ run_id: 'x' }, context({ messageId: 'bad-2', deliveryCount: 1 }));
    const { rows } = await h.control.pool.query(
      `SELECT queue_name, message_id, delivery_count, reason, body FROM control.quarantined_messages ORDER BY id`,
    );
    expect(rows).toEqual([
      { queue_name: 'loads', message_id: 'bad-1', delivery_count: 1, reason: expect.stringMatching(/^malformed load message: config_id/), body: '{"config_id":"nope"}' },
      { queue_name: 'loads', message_id: 'bad-2', delivery_count: 1, reason: expect.stringMatching(/^malformed load message/), body: '{"run_id":"x"}' },
    ]);
    const { rows: counted } = await h.control.pool.query(`SELECT quarantined::int, last_day::int FROM control.quarantined_messages_vw`);
    expect(counted).toEqual([{ quarantined: 2, last_day: 2 }]);
  });
});
