/**
 * Promotion from pre-production to production: a dry run that returns the
 * plan field by field, and an apply that carries it out in one production
 * transaction, every change audited as `promotion` (see plan.ts for the rules).
 */
import type pg from 'pg';
import type { Queryable } from '../../db/pool.js';
import { withTransaction } from '../../db/transaction.js';
import type { Settings } from '../../settings.js';
import { withChange } from '../change.js';
import { conflict, ValidationError } from '../errors.js';
import type { ApiTableRow } from '../format.js';
import type { PromotionBody } from '../schemas/promotion.js';
import { assertNoDuplicate } from '../tables/edit.js';
import { insertTable } from '../tables/sql.js';
import { checkPromotable, matchProductionRow, planConnection, planTable, promotedConfig, type PromotionPlan } from './plan.js';
import { readPreprodSelection, type PreprodSelection } from './preprod.js';
import { insertPromotedConnection, selectConnectionsByKeys, selectTablesByControlKeys, updatePromotedTable } from './sql.js';

interface Planned {
  plan: PromotionPlan;
  /** The production row each pre-production row maps to (undefined: insert). */
  targets: (ApiTableRow | undefined)[];
}

async function planPromotion(db: Queryable, selection: PreprodSelection, lock: boolean): Promise<Planned> {
  const errors = checkPromotable(selection.tables, selection.connections);
  if (errors.length > 0) throw new ValidationError(errors.slice(0, 50));
  const keys = [...new Set(selection.tables.map((t) => t.control_key!))];
  const prodTables = await selectTablesByControlKeys(db, keys, lock);
  const prodConnections = await selectConnectionsByKeys(db, selection.connections.map((c) => c.db_config_key), lock);
  const targets: (ApiTableRow | undefined)[] = [];
  for (const preprod of selection.tables) {
    const match = matchProductionRow(preprod, prodTables.filter((p) => p.control_key === preprod.control_key));
    if (match && 'ambiguous' in match) {
      throw conflict(
        `production has ${match.ambiguous.length} tables with control_key ${preprod.control_key} and none, or several, with the destination of pre-production table ${preprod.config_id}; promote by fixing one of them first`,
        { config_ids: match.ambiguous.map((m) => m.config_id) },
      );
    }
    targets.push(match);
  }
  return {
    targets,
    plan: {
      applied: false,
      tables: selection.tables.map((t, i) => planTable(t, targets[i])),
      connections: selection.connections.map((c) => planConnection(c, prodConnections.find((p) => p.db_config_key === c.db_config_key))),
    },
  };
}

/** The dry run: what applying would change. Production is only read. */
export async function previewPromotion(pool: pg.Pool, settings: Settings, body: PromotionBody): Promise<PromotionPlan> {
  const selection = await readPreprodSelection(settings, body);
  return withTransaction(pool, async (client) => (await planPromotion(client, selection, false)).plan, { readOnly: true });
}

/** Applies the promotion in one production transaction; the plan returned says what was done. */
export async function applyPromotion(pool: pg.Pool, settings: Settings, user: string, body: PromotionBody): Promise<PromotionPlan> {
  const selection = await readPreprodSelection(settings, body);
  return withChange(pool, 'promotion', user, async (client) => {
    const { plan, targets } = await planPromotion(client, selection, true);
    for (const [i, connection] of plan.connections.entries()) {
      if (connection.action === 'insert') await insertPromotedConnection(client, selection.connections[i]!, user);
    }
    const touched: number[] = [];
    for (const [i, table] of plan.tables.entries()) {
      const preprod = selection.tables[i]!;
      if (table.action === 'insert') {
        const row = await insertTable(client, promotedConfig(preprod, undefined), user);
        table.config_id = row.config_id;
        touched.push(row.config_id);
      } else if (table.action === 'update') {
        await updatePromotedTable(client, targets[i]!.config_id, Object.fromEntries(table.changes.map((c) => [c.field, c.to])), user);
        touched.push(targets[i]!.config_id);
      }
    }
    if (touched.length > 0) await assertNoDuplicate(client, touched);
    return { ...plan, applied: true };
  });
}
