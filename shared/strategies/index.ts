/** Every load_strategy and the function that runs it. */
import type { LoadStrategy } from '../control/rows.js';
import type { ConfigOf, LoadConfig } from './config.js';
import { loadAppendOnly } from './append-only.js';
import { loadCheckAndLoad } from './check-and-load.js';
import { loadChunkedBackfill } from './chunked-backfill.js';
import type { Strategy } from './context.js';
import { loadFull } from './full.js';
import { loadIncremental } from './incremental.js';
import { loadRolling } from './rolling.js';

export const STRATEGIES: { [S in LoadStrategy]: Strategy<ConfigOf<S>> } = {
  full: loadFull,
  incremental: loadIncremental,
  append_only: loadAppendOnly,
  rolling: loadRolling,
  check_and_load: loadCheckAndLoad,
  chunked_backfill: loadChunkedBackfill,
};

/** The strategy of a configuration, typed for it. */
export function strategyFor(config: LoadConfig): Strategy {
  return STRATEGIES[config.strategy] as Strategy;
}
