/**
 * Run by test/sensor-crash.test.ts as its own process: one sensor tick whose
 * queue accepts the first batch, after which the process is killed (SIGKILL)
 * before the outbox marks that batch sent.
 */
import { createControlPool } from '../shared/db/pool.js';
import { LocalQueueSender } from '../shared/queue/local/sender.js';
import type { OutgoingMessage } from '../shared/queue/port.js';
import { runSensorTick } from '../shared/sensor/tick.js';
import { QUEUE, testSettings } from './sensor-fixtures.js';

const url = process.argv[2];
if (!url) throw new Error('usage: sensor-crash-child.ts <database url>');
const pool = createControlPool({ url, ssl: 'disable', statementTimeoutMs: 30_000, applicationName: 'sensor-crash-child' }, 3);
const queue = new LocalQueueSender(pool, { queueName: QUEUE });
await runSensorTick({
  pool,
  settings: testSettings({ SENSOR_BATCH_SIZE: '50' }),
  sender: {
    send: async (messages: OutgoingMessage[]) => {
      await queue.send(messages);
      process.kill(process.pid, 'SIGKILL');
    },
    close: async () => undefined,
  },
});
