/** Connections: the list, one connection's form (saved against the version it was loaded at) and its history. */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, ok, withEtag, type Connection, type FieldError, type Row } from './api';
import { ChangeList } from './table';
import { ErrorNote, Notice, Section, show, useAction, useLoad, when } from './ui';

const DB_TYPES = ['postgresql', 'mssql', 'oracle', 'snowflake', 'snowflake_pem', 'clickhouse'] as const;

export function Connections() {
  const list = useLoad(() => ok(api.GET('/connections')), []);
  return (
    <div class="page">
      <h1>Connections</h1>
      <ErrorNote error={list.error} />
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Type</th>
            <th scope="col">Vault scope</th>
            <th scope="col">Secret names</th>
            <th scope="col">Changed</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((c) => (
            <tr>
              <td>
                <a href={`#/connections/${encodeURIComponent(String(c.db_config_key))}`}>{c.db_config_key}</a>
              </td>
              <td>{c.db_type}</td>
              <td>{c.db_kv_scope}</td>
              <td class="message">{Object.entries(c.db_config_value ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ')}</td>
              <td>
                {when(c.last_modified_at)} by {c.last_modified_user ?? '?'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ConnectionPage({ name, canWrite }: { name: string; canWrite: boolean }) {
  const [loaded, setLoaded] = useState<{ row: Connection; etag: string | null } | undefined>(undefined);
  const [form, setForm] = useState({ db_type: '', db_kv_scope: '', default_target_schema: '', secrets: '' });
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [stale, setStale] = useState<Connection | undefined>(undefined);
  const action = useAction();
  const history = useLoad(() => ok(api.GET('/connections/{key}/history', { params: { path: { key: name }, query: {} } })), [name]);
  const load = async () => {
    const { data, etag } = await withEtag(api.GET('/connections/{key}', { params: { path: { key: name } } }));
    setLoaded({ row: data, etag });
    setForm({
      db_type: String(data.db_type ?? ''),
      db_kv_scope: String(data.db_kv_scope ?? ''),
      default_target_schema: String(data.default_target_schema ?? ''),
      secrets: Object.entries(data.db_config_value ?? {}).map(([k, v]) => `${k}=${v}`).join('\n'),
    });
    setStale(undefined);
    setErrors([]);
  };
  useEffect(() => {
    load().catch(() => undefined);
  }, [name]);
  if (!loaded) return <div class="page"><p>Loading…</p></div>;
  const save = (e: Event) => {
    e.preventDefault();
    setErrors([]);
    const secrets = Object.fromEntries(
      form.secrets
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
    );
    void action.run('Saved.', async () => {
      try {
        const { data, etag } = await withEtag(
          api.PUT('/connections/{key}', {
            params: { path: { key: name } },
            headers: { 'if-match': loaded.etag ?? '*' },
            body: {
              db_type: form.db_type as (typeof DB_TYPES)[number],
              db_config_value: secrets as never,
              ...(form.db_kv_scope ? { db_kv_scope: form.db_kv_scope } : {}),
              default_target_schema: form.default_target_schema || null,
            },
          }),
        );
        setLoaded({ row: data, etag });
        history.reload();
      } catch (error) {
        if (error instanceof ApiError && error.status === 400) setErrors(error.errors);
        if (error instanceof ApiError && error.status === 409) {
          setStale(await ok(api.GET('/connections/{key}', { params: { path: { key: name } } })));
          throw new ApiError(409, [], 'Someone changed this connection after you opened it, so your change was not saved. What it holds now is shown below.');
        }
        throw error;
      }
    });
  };
  const errorOf = (f: string) => errors.filter((e) => e.field === f || e.field.startsWith(`${f}.`)).map((e) => `${e.field}: ${e.message}`).join('; ') || undefined;
  return (
    <div class="page">
      <p>
        <a href="#/connections">← Connections</a>
      </p>
      <h1>Connection {name}</h1>
      <p class="muted">
        Version {when(loaded.row.last_modified_at)}, by {loaded.row.last_modified_user ?? '?'}. Values are Key Vault secret names, never secrets.
      </p>
      <ErrorNote error={action.error} />
      <Notice text={action.notice} />
      {stale && (
        <div class="stale-edit" role="region" aria-label="Changed since you opened the form">
          <h2>Changed since you opened the form</h2>
          <ul>
            {(['db_type', 'db_kv_scope', 'default_target_schema', 'db_config_value'] as const)
              .filter((f) => show(stale[f]) !== show(loaded.row[f]))
              .map((f) => (
                <li>
                  {f}: {show(loaded.row[f])} → {show(stale[f])}
                </li>
              ))}
          </ul>
          <button type="button" onClick={() => void load()}>
            Load the current version
          </button>
        </div>
      )}
      <Section title="Settings" id="connection-form">
        <form onSubmit={save} class="config" aria-label="Connection">
          <div class="fields">
            <div class="field">
              <label for="c-type">db_type</label>
              <select id="c-type" disabled={!canWrite} value={form.db_type} onChange={(e) => setForm({ ...form, db_type: e.currentTarget.value })}>
                {DB_TYPES.map((t) => (
                  <option value={t}>{t}</option>
                ))}
              </select>
              {errorOf('db_type') && <small class="field-error">{errorOf('db_type')}</small>}
            </div>
            <div class="field">
              <label for="c-scope">db_kv_scope</label>
              <input id="c-scope" disabled={!canWrite} value={form.db_kv_scope} onInput={(e) => setForm({ ...form, db_kv_scope: e.currentTarget.value })} />
              {errorOf('db_kv_scope') && <small class="field-error">{errorOf('db_kv_scope')}</small>}
            </div>
            <div class="field">
              <label for="c-schema">default_target_schema</label>
              <input id="c-schema" disabled={!canWrite} value={form.default_target_schema} onInput={(e) => setForm({ ...form, default_target_schema: e.currentTarget.value })} />
              {errorOf('default_target_schema') && <small class="field-error">{errorOf('default_target_schema')}</small>}
            </div>
            <div class="field wide">
              <label for="c-secrets">db_config_value (one detail=secret name a line)</label>
              <textarea id="c-secrets" rows={7} disabled={!canWrite} value={form.secrets} onInput={(e) => setForm({ ...form, secrets: e.currentTarget.value })} />
              {errorOf('db_config_value') && <small class="field-error">{errorOf('db_config_value')}</small>}
            </div>
          </div>
          {canWrite && (
            <button type="submit" disabled={action.busy}>
              Save
            </button>
          )}
        </form>
      </Section>
      <Section title="History" id="connection-history">
        <ErrorNote error={history.error} />
        <ChangeList rows={(history.data ?? []) as Row[]} />
      </Section>
    </div>
  );
}
