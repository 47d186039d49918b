/** The audit log: configuration changes across tables, by user and change source. */
import { api, ok, type Row } from './api';
import { ChangeList } from './table';
import { ErrorNote, go, useLoad } from './ui';

const SOURCES = ['single_edit', 'bulk_edit', 'clone', 'status_reset', 'toggle_active', 'run_now', 'promotion', 'sql'];

export function Audit({ query }: { query: URLSearchParams }) {
  const user = query.get('changed_by') ?? '';
  const source = query.get('change_source') ?? '';
  const changes = useLoad(
    () => ok(api.GET('/views/changes', { params: { query: { limit: 100, ...(user ? { changed_by: user } : {}), ...(source ? { change_source: source } : {}) } } })),
    [user, source],
  );
  return (
    <div class="page">
      <h1>Audit log</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          User
          <input value={user} onChange={(e) => go('/audit', { changed_by: e.currentTarget.value, change_source: source })} />
        </label>
        <label>
          Change source
          <select value={source} onChange={(e) => go('/audit', { changed_by: user, change_source: e.currentTarget.value })}>
            <option value="">any</option>
            {SOURCES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={changes.error} />
      <ChangeList rows={(changes.data ?? []) as Row[]} showTable />
    </div>
  );
}
