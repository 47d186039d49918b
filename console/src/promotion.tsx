/** Promotion: what copying tables from pre-production would change in production, then the copy. */
import { useState } from 'preact/hooks';
import { api, ok, type Row } from './api';
import { ErrorNote, Notice, Section, show, useAction } from './ui';

type Plan = { applied: boolean; tables: Row[]; connections: Row[] };

export function Promotion({ canPromote }: { canPromote: boolean }) {
  const [text, setText] = useState('');
  const [plan, setPlan] = useState<Plan | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const action = useAction();
  const body = () => {
    const items = text.split(/[\s,]+/).filter(Boolean);
    return items.every((i) => /^\d+$/.test(i)) ? { config_ids: items.map(Number) } : { control_keys: items };
  };
  if (!canPromote) return <div class="page"><h1>Promotion</h1><p>Promotions need the Promoter role.</p></div>;
  return (
    <div class="page">
      <h1>Promotion</h1>
      <Section title="1. Which pre-production tables" id="promotion-input">
        <label for="promote-ids">Pre-production config_ids or control_keys (separated by spaces or commas)</label>
        <textarea id="promote-ids" rows={3} value={text} onInput={(e) => { setText(e.currentTarget.value); setPlan(undefined); }} />
        <p>
          <button type="button" disabled={action.busy || text.trim() === ''} onClick={() => action.run('', async () => setPlan((await ok(api.POST('/promotion/preview', { body: body() }))) as unknown as Plan))}>
            Preview
          </button>
        </p>
      </Section>
      <ErrorNote error={action.error} />
      <Notice text={done} />
      {plan && (
        <Section title="2. What production gets" id="promotion-plan">
          <table class="grid diff" aria-label="Tables to promote">
            <thead>
              <tr>
                <th scope="col">Table</th>
                <th scope="col">Action</th>
                <th scope="col">Field</th>
                <th scope="col">Production now</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {plan.tables.flatMap((t) => {
                const changes = (t.changes as { field: string; from: unknown; to: unknown }[]) ?? [];
                const head = (
                  <>
                    <td>{String(t.source_table_name ?? t.control_key)}</td>
                    <td>
                      <span class="tag">{String(t.action)}</span>
                    </td>
                  </>
                );
                if (changes.length === 0)
                  return [
                    <tr>
                      {head}
                      <td colSpan={3} class="muted">
                        no change
                      </td>
                    </tr>,
                  ];
                return changes.map((c, i) => (
                  <tr>
                    {i === 0 ? head : (<><td /><td /></>)}
                    <td>{c.field}</td>
                    <td class="old">{show(c.from)}</td>
                    <td class="new">{show(c.to)}</td>
                  </tr>
                ));
              })}
            </tbody>
          </table>
          {plan.connections.length > 0 && (
            <ul>
              {plan.connections.map((c) => (
                <li>
                  Connection {String(c.db_config_key)}: <span class="tag">{String(c.action)}</span>
                  {c.action === 'kept' ? ' (production keeps its own secret names)' : ''}
                </li>
              ))}
            </ul>
          )}
          <button
            type="button"
            disabled={action.busy}
            onClick={() =>
              action.run('', async () => {
                const result = (await ok(api.POST('/promotion/apply', { body: body() }))) as unknown as Plan;
                setPlan(undefined);
                setDone(`Promoted: ${result.tables.filter((t) => t.action !== 'unchanged').length} tables changed in production.`);
              })
            }
          >
            Apply to production
          </button>
        </Section>
      )}
    </div>
  );
}
