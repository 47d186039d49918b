/** One table: what it is doing, why it failed, its configuration, its runs and its history. */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, ok, withEtag, type FieldError, type Row, type Table } from './api';
import { BarLineChart } from './charts';
import { FIELDS, fromApi, toApi, type FieldSpec } from './fields';
import { ago, ErrorNote, go, Notice, Section, show, Status, useAction, useLoad, when } from './ui';

type Form = Record<string, string | boolean>;

const formOf = (row: Table): Form => Object.fromEntries(FIELDS.map((f) => [f.name, fromApi(f, row[f.name as keyof Table])]));

/** A link to the Databricks run, when the field holds a URL (otherwise its text). */
function DatabricksRun({ value }: { value: string | null }) {
  if (!value) return null;
  return (
    <p>
      Databricks run:{' '}
      {/^https:\/\//.test(value) ? (
        <a href={value} target="_blank" rel="noopener noreferrer">
          open the run in Databricks
        </a>
      ) : (
        <code>{value}</code>
      )}
    </p>
  );
}

function Field({ spec, value, original, error, readOnly, onChange }: { spec: FieldSpec; value: string | boolean; original: string | boolean; error?: string; readOnly: boolean; onChange: (v: string | boolean) => void }) {
  const id = `field-${spec.name}`;
  const described = [error ? `${id}-error` : '', spec.hint ? `${id}-hint` : ''].filter(Boolean).join(' ') || undefined;
  const changed = value !== original;
  const common = { id, 'aria-invalid': error ? true : undefined, 'aria-describedby': described, disabled: readOnly, name: spec.name };
  let input;
  if (spec.kind === 'bool') input = <input type="checkbox" {...common} checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} />;
  else if (spec.kind === 'choice')
    input = (
      <select {...common} value={String(value)} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">(empty)</option>
        {spec.choices!.map((c) => (
          <option value={c}>{c}</option>
        ))}
      </select>
    );
  else if (spec.kind === 'long') input = <textarea {...common} rows={3} value={String(value)} onInput={(e) => onChange(e.currentTarget.value)} />;
  else input = <input type="text" {...common} value={String(value)} onInput={(e) => onChange(e.currentTarget.value)} />;
  return (
    <div class={`field${error ? ' invalid' : ''}${changed ? ' changed' : ''}`}>
      <label for={id}>{spec.name}</label>
      {input}
      {spec.hint && (
        <small id={`${id}-hint`} class="muted">
          {spec.hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="field-error">
          {error}
        </small>
      )}
    </div>
  );
}

/** Field-by-field differences between two rows (of the writable fields). */
function differences(a: Row, b: Row): { field: string; before: unknown; after: unknown }[] {
  return FIELDS.filter((f) => show(a[f.name]) !== show(b[f.name])).map((f) => ({ field: f.name, before: a[f.name], after: b[f.name] }));
}

export function TablePage({ id, canWrite }: { id: number; canWrite: boolean }) {
  const [loaded, setLoaded] = useState<{ row: Table; etag: string | null } | undefined>(undefined);
  const [form, setForm] = useState<Form>({});
  const [fieldErrors, setFieldErrors] = useState<FieldError[]>([]);
  const [stale, setStale] = useState<{ current: Table; changes: { field: string; before: unknown; after: unknown }[] } | undefined>(undefined);
  const [cloneName, setCloneName] = useState('');
  const action = useAction();
  const live = useLoad(() => ok(api.GET('/tables/{id}', { params: { path: { id } } })), [id], 3000);
  const runs = useLoad(() => ok(api.GET('/tables/{id}/runs', { params: { path: { id }, query: { limit: 50 } } })), [id], 3000);
  const history = useLoad(() => ok(api.GET('/tables/{id}/history', { params: { path: { id }, query: { limit: 50 } } })), [id], 10000);

  const loadForm = async () => {
    const { data, etag } = await withEtag(api.GET('/tables/{id}', { params: { path: { id } } }));
    setLoaded({ row: data, etag });
    setForm(formOf(data));
    setFieldErrors([]);
    setStale(undefined);
  };
  useEffect(() => {
    loadForm().catch(() => undefined);
  }, [id]);

  const row = live.data ?? loaded?.row;
  if (!row) return <div class="page">{live.error ? <ErrorNote error={live.error} /> : <p>Loading…</p>}</div>;
  const original = loaded ? formOf(loaded.row) : {};
  const edits = FIELDS.filter((f) => form[f.name] !== original[f.name]);

  const save = async (e: Event) => {
    e.preventDefault();
    if (!loaded) return;
    setFieldErrors([]);
    const body = Object.fromEntries(edits.map((f) => [f.name, toApi(f, form[f.name]!)]));
    const done = await action.run('Saved.', async () => {
      try {
        const { data, etag } = await withEtag(
          api.PATCH('/tables/{id}', { params: { path: { id } }, body: body as never, headers: { 'if-match': loaded.etag ?? '*' } }),
        );
        setLoaded({ row: data, etag });
        setForm(formOf(data));
        live.reload();
        history.reload();
      } catch (error) {
        if (error instanceof ApiError && error.status === 400) setFieldErrors(error.errors);
        if (error instanceof ApiError && error.status === 409) {
          const current = await ok(api.GET('/tables/{id}', { params: { path: { id } } }));
          setStale({ current, changes: differences(loaded.row as Row, current as Row) });
          throw new ApiError(409, [], 'Someone changed this table after you opened the form, so your edit was not saved. What changed is listed below.');
        }
        throw error;
      }
    });
    if (!done) return;
  };
  const errorOf = (name: string) => fieldErrors.filter((e) => e.field === name || e.field.endsWith(`.${name}`)).map((e) => e.message).join('; ') || undefined;
  const otherErrors = fieldErrors.filter((e) => !FIELDS.some((f) => e.field === f.name || e.field.endsWith(`.${f.name}`)));

  const act = (label: string, call: () => Promise<unknown>) => () =>
    action.run(label, async () => {
      await call();
      live.reload();
      history.reload();
      await loadForm();
    });
  const runRows = ((runs.data ?? []) as Row[]).slice().reverse();

  return (
    <div class="page">
      <p>
        <a href="#/tables">← Tables</a>
      </p>
      <h1>
        {row.source_table_name ?? `Table ${row.config_id}`} <Status value={row.last_status} />
      </h1>
      <p class="muted">
        {row.source_table_catalog}.{row.source_table_schema}.{row.source_table_name} → {row.destination_table_catalog}.{row.destination_table_schema}.
        {row.destination_table_name} · {row.load_strategy} · <code>{row.load_cron}</code> · {row.is_active ? 'active' : 'inactive'} · last load {ago(row.last_load_date_time)} · next{' '}
        {when(row.next_load_date_time)}
      </p>
      {row.last_status === 'Failed' && (
        <div class="failure" role="region" aria-label="Why it failed">
          <h2>Why it failed</h2>
          <p class="message">{row.last_status_message ?? 'No message was recorded.'}</p>
          <p class="muted">Failed {ago(row.last_status_date_time)}. Fix the configuration below, save, then run it now.</p>
        </div>
      )}
      <DatabricksRun value={row.last_databricks_run} />
      {canWrite && (
        <div class="actions">
          <button type="button" disabled={action.busy} onClick={act('Due now: the next sensor tick queues it.', () => ok(api.POST('/tables/{id}/run-now', { params: { path: { id } } })))}>
            Run now
          </button>
          <button
            type="button"
            disabled={action.busy}
            onClick={act(row.is_active ? 'Deactivated.' : 'Activated.', () => ok(api.POST('/tables/{id}/toggle-active', { params: { path: { id } }, body: { is_active: !row.is_active } })))}
          >
            {row.is_active ? 'Deactivate' : 'Activate'}
          </button>
          <button type="button" disabled={action.busy} onClick={act('Status reset.', () => ok(api.POST('/tables/{id}/reset-status', { params: { path: { id } } })))}>
            Reset status
          </button>
          <span class="clone">
            <label for="clone-name">Clone as</label>
            <input id="clone-name" value={cloneName} onInput={(e) => setCloneName(e.currentTarget.value)} placeholder="new destination table name" />
            <button
              type="button"
              disabled={action.busy || cloneName.trim() === ''}
              onClick={() =>
                action.run('Cloned (inactive).', async () => {
                  const copy = await ok(api.POST('/tables/{id}/clone', { params: { path: { id } }, body: { destination_table_name: cloneName.trim() } }));
                  go(`/tables/${copy.config_id}`);
                })
              }
            >
              Clone
            </button>
          </span>
        </div>
      )}
      <ErrorNote error={action.error} />
      <Notice text={action.notice} />
      {stale && (
        <div class="stale-edit" role="region" aria-label="Changed since you opened the form">
          <h2>Changed since you opened the form</h2>
          {stale.changes.length === 0 ? (
            <p>Only its version moved (a change that left these fields as they were).</p>
          ) : (
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">When you opened it</th>
                  <th scope="col">Now</th>
                  <th scope="col">Your edit</th>
                </tr>
              </thead>
              <tbody>
                {stale.changes.map((c) => (
                  <tr>
                    <td>{c.field}</td>
                    <td>{show(c.before)}</td>
                    <td>{show(c.after)}</td>
                    <td>{edits.some((f) => f.name === c.field) ? show(form[c.field]) : '(not edited)'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <p class="muted">
            Changed by {stale.current.last_modified_user ?? 'someone'} at {when(stale.current.last_modified_at)}.
          </p>
          <button
            type="button"
            onClick={() => {
              const mine = Object.fromEntries(edits.map((f) => [f.name, form[f.name]!]));
              setLoaded({ row: stale.current, etag: `"${stale.current.last_modified_at ?? ''}"` });
              setForm({ ...formOf(stale.current), ...mine });
              setStale(undefined);
              loadForm()
                .then(() => setForm((f) => ({ ...f, ...mine })))
                .catch(() => undefined);
            }}
          >
            Keep my edits on top of the current version
          </button>
        </div>
      )}

      <Section title="Configuration" id="config">
        <form class="config" onSubmit={save} aria-label="Configuration">
          {otherErrors.length > 0 && (
            <ul class="error" role="alert">
              {otherErrors.map((e) => (
                <li>{e.field ? `${e.field}: ${e.message}` : e.message}</li>
              ))}
            </ul>
          )}
          <div class="fields">
            {FIELDS.map((f) => (
              <Field spec={f} value={form[f.name] ?? ''} original={original[f.name] ?? ''} error={errorOf(f.name)} readOnly={!canWrite} onChange={(v) => setForm({ ...form, [f.name]: v })} />
            ))}
          </div>
          {canWrite && (
            <p>
              <button type="submit" disabled={action.busy || edits.length === 0}>
                Save {edits.length > 0 ? `${edits.length} change${edits.length > 1 ? 's' : ''}` : ''}
              </button>{' '}
              <button type="button" class="secondary" disabled={edits.length === 0} onClick={() => setForm(original)}>
                Undo my edits
              </button>
            </p>
          )}
        </form>
      </Section>

      <Section title="Runs" id="runs">
        <ErrorNote error={runs.error} />
        <BarLineChart
          title="Duration and rows per run"
          labels={runRows.map((r) => when(r.load_start_time).slice(11, 16))}
          bars={[{ label: 'duration (s)', values: runRows.map((r) => Number(r.total_duration ?? 0)), color: '#6a1b9a' }]}
          line={{ label: 'rows', values: runRows.map((r) => Number(r.rows_processed ?? 0)), color: '#1565c0' }}
          height={150}
        />
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Started</th>
              <th scope="col">Status</th>
              <th scope="col">Duration (s)</th>
              <th scope="col">Rows</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {((runs.data ?? []) as Row[]).map((r) => (
              <tr>
                <td>{when(r.load_start_time)}</td>
                <td>
                  <Status value={r.load_status} />
                </td>
                <td>{show(r.total_duration)}</td>
                <td>{show(r.rows_processed)}</td>
                <td class="message">{String(r.log_message ?? '')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>

      <Section title="Configuration history" id="history">
        <ChangeList rows={(history.data ?? []) as Row[]} />
      </Section>
    </div>
  );
}

/** Configuration changes, each as field-by-field differences with who, when and how. */
export function ChangeList({ rows, showTable = false }: { rows: Row[]; showTable?: boolean }) {
  if (rows.length === 0) return <p class="muted">No changes recorded.</p>;
  return (
    <ol class="changes">
      {rows.map((h) => {
        const before = (h.old_values ?? {}) as Row;
        const after = (h.new_values ?? {}) as Row;
        const fields = Array.isArray(h.changed_fields) ? (h.changed_fields as string[]) : [];
        return (
          <li>
            <p>
              <strong>{when(h.changed_at)}</strong> · {String(h.changed_by ?? '?')} · <span class="tag">{String(h.change_source ?? '')}</span> · {String(h.change_type ?? '')}
              {showTable && h.config_id !== null && h.config_id !== undefined && (
                <>
                  {' '}
                  · <a href={`#/tables/${String(h.config_id)}`}>{String(h.table_name ?? h.config_id)}</a>
                </>
              )}
            </p>
            {fields.length > 0 && (
              <table class="grid diff">
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col">Before</th>
                    <th scope="col">After</th>
                  </tr>
                </thead>
                <tbody>
                  {fields.map((f) => (
                    <tr>
                      <td>{f}</td>
                      <td class="old">{show(before[f])}</td>
                      <td class="new">{show(after[f])}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </li>
        );
      })}
    </ol>
  );
}
