/** Bulk edit: the same fields on the selected tables, previewed row by row, then applied (all or none). */
import { useState } from 'preact/hooks';
import { api, ok, type BulkPreview } from './api';
import { FIELDS, toApi } from './fields';
import { ErrorNote, Notice, Section, show, useAction } from './ui';

const BULK_FIELDS = FIELDS.filter((f) => f.name !== 'source_table_name' && f.name !== 'destination_table_name');

export function BulkEdit({ query, canWrite }: { query: URLSearchParams; canWrite: boolean }) {
  const ids = (query.get('ids') ?? '')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const [changes, setChanges] = useState<{ field: string; value: string | boolean }[]>([{ field: 'load_cron', value: '' }]);
  const [preview, setPreview] = useState<BulkPreview | undefined>(undefined);
  const action = useAction();
  const [doneText, setDone] = useState<string | undefined>(undefined);
  const body = () => ({
    ids,
    fields: Object.fromEntries(changes.map((c) => [c.field, toApi(BULK_FIELDS.find((f) => f.name === c.field)!, c.value)])),
  });
  if (!canWrite) return <div class="page"><h1>Bulk edit</h1><p>Bulk edits need the Admin role.</p></div>;
  if (ids.length === 0) return <div class="page"><h1>Bulk edit</h1><p>Select tables on the <a href="#/tables">Tables</a> page first.</p></div>;
  return (
    <div class="page">
      <h1>Bulk edit {ids.length} tables</h1>
      <Section title="1. What to set" id="bulk-fields">
        {changes.map((c, i) => {
          const spec = BULK_FIELDS.find((f) => f.name === c.field)!;
          const set = (next: Partial<{ field: string; value: string | boolean }>) => {
            setChanges(changes.map((x, j) => (j === i ? { ...x, ...next } : x)));
            setPreview(undefined);
          };
          return (
            <div class="bulk-row">
              <label>
                Field
                <select value={c.field} onChange={(e) => set({ field: e.currentTarget.value, value: '' })}>
                  {BULK_FIELDS.map((f) => (
                    <option value={f.name}>{f.name}</option>
                  ))}
                </select>
              </label>
              <label>
                New value
                {spec.kind === 'bool' ? (
                  <input type="checkbox" checked={c.value === true} onChange={(e) => set({ value: e.currentTarget.checked })} />
                ) : (
                  <input value={String(c.value)} onInput={(e) => set({ value: e.currentTarget.value })} placeholder="empty sets NULL" />
                )}
              </label>
              {changes.length > 1 && (
                <button type="button" class="secondary" onClick={() => setChanges(changes.filter((_, j) => j !== i))}>
                  Remove
                </button>
              )}
            </div>
          );
        })}
        <p>
          <button type="button" class="secondary" onClick={() => setChanges([...changes, { field: 'is_active', value: false }])}>
            Add a field
          </button>{' '}
          <button type="button" disabled={action.busy} onClick={() => action.run('', async () => setPreview(await ok(api.POST('/tables/bulk-edit/preview', { body: body() as never }))))}>
            Preview
          </button>
        </p>
      </Section>
      <ErrorNote error={action.error} />
      {preview && (
        <Section title={`2. Preview: ${preview.changed} of ${preview.matched} tables change`} id="bulk-preview">
          {preview.errors.length > 0 && (
            <div class="error" role="alert">
              <p>This edit would be refused, and nothing would change:</p>
              <ul>
                {preview.errors.map((e) => (
                  <li>
                    {e.field}: {e.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <table class="grid diff" aria-label="Changes the bulk edit makes">
            <thead>
              <tr>
                <th scope="col">Table</th>
                <th scope="col">Field</th>
                <th scope="col">Before</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {preview.rows.flatMap((r) =>
                r.changes.map((c, i) => (
                  <tr>
                    <td>{i === 0 ? <a href={`#/tables/${r.config_id}`}>{r.source_table_name ?? r.config_id}</a> : ''}</td>
                    <td>{c.field}</td>
                    <td class="old">{show(c.before)}</td>
                    <td class="new">{show(c.after)}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
          {preview.rows.length < preview.changed && <p class="muted">The first {preview.rows.length} are listed.</p>}
          <p>
            <button
              type="button"
              disabled={action.busy || preview.errors.length > 0 || preview.changed === 0}
              onClick={() =>
                action.run('', async () => {
                  const result = await ok(api.POST('/tables/bulk-edit', { body: body() as never }));
                  setPreview(undefined);
                  setDone(`Applied: ${result.updated} of ${result.matched} tables changed.`);
                })
              }
            >
              Apply to {preview.changed} tables
            </button>
          </p>
        </Section>
      )}
      <Notice text={doneText} />
    </div>
  );
}
