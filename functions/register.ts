/**
 * Registers every Azure Function on an `app` (from @azure/functions, or a
 * stand-in in tests that captures the registrations). Importing this module
 * registers nothing; functions/index.ts, the entry the host loads, calls setup.
 */
import type { app as azureApp } from '@azure/functions';
import { registerConsole } from './http/console.js';
import { registerApiRoutes } from './http/routes.js';
import { registerLoader } from './loader.js';
import { registerReaper } from './reaper.js';
import { registerSensor } from './sensor.js';

export type FunctionsApp = Pick<typeof azureApp, 'timer' | 'http' | 'serviceBusQueue'>;

export function setup(app: FunctionsApp): void {
  // Each function file adds its registration here: sensor and reaper (timers),
  // loader (Service Bus queue), the admin API and its console (HTTP).
  registerApiRoutes(app);
  registerConsole(app);
  registerLoader(app);
  registerSensor(app);
  registerReaper(app);
}
