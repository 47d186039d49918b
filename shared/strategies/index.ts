/** Every load_strategy and the function that runs it. */
import type { LoadStrategy } from '../control/rows.js';
import { loadAppendOnly } from './append-only.js';
import { loadCheckAndLoad } from './check-and-load.js';
import { loadChunkedBackfill } from './chunked-backfill.js';
import type { Strategy } from './context.js';
import { loadFull } from './full.js';
import { loadIncremental } from './incremental.js';
import { loadRolling } from './rolling.js';

export const STRATEGIES: Record<LoadStrategy, Strategy> = {
  full: loadFull,
  incremental: loadIncremental,
  append_only: loadAppendOnly,
  rolling: loadRolling,
  check_and_load: loadCheckAndLoad,
  chunked_backfill: loadChunkedBackfill,
};
