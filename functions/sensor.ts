/**
 * The sensor: a timer (SENSOR_SCHEDULE) that queues every due row of the
 * control database. The use case is shared/sensor/tick.ts.
 */
import type { InvocationContext, Timer } from '@azure/functions';
import { getRuntime } from '../shared/runtime.js';
import { runSensorTick } from '../shared/sensor/tick.js';
import type { FunctionsApp } from './register.js';

export async function sensorHandler(_timer: Timer, _context: InvocationContext): Promise<void> {
  const runtime = getRuntime();
  const summary = await runSensorTick({ pool: runtime.pool, sender: runtime.queueSender, settings: runtime.settings, log: runtime.log });
  runtime.log.info('sensor tick', { ...summary, queue: runtime.queueKind });
  // A failed send leaves its messages in the outbox for the next tick; failing the invocation makes it visible.
  if (summary.sendError) throw new Error(`sensor: sending to the queue failed, the next tick retries: ${summary.sendError}`);
}

export function registerSensor(app: FunctionsApp): void {
  app.timer('sensor', { schedule: '%SENSOR_SCHEDULE%', runOnStartup: false, useMonitor: true, handler: sensorHandler });
}
