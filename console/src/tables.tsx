/** The tables: search, filter and sort on the server, a page at a time; select rows for a bulk edit. */
import { useEffect, useState } from 'preact/hooks';
import { api, ok } from './api';
import { ago, ErrorNote, go, Status, useLoad } from './ui';

const PAGE = 50;
const SORTS = [
  ['source_table_name', 'Source table'],
  ['destination_table_name', 'Destination'],
  ['db_config_key', 'Connection'],
  ['load_strategy', 'Strategy'],
  ['last_status', 'Status'],
  ['last_load_date_time', 'Last load'],
  ['next_load_date_time', 'Next load'],
] as const;
type Sort = (typeof SORTS)[number][0] | 'config_id';
const STATUSES = ['Failed', 'In Progress', 'Queued', 'Succeeded', 'none'] as const;
const STRATEGIES = ['full', 'incremental', 'append_only', 'rolling', 'check_and_load', 'chunked_backfill'] as const;

export function Tables({ query, canWrite }: { query: URLSearchParams; canWrite: boolean }) {
  const filters = {
    name: query.get('name') ?? '',
    status: query.get('status') ?? '',
    strategy: query.get('strategy') ?? '',
    active: query.get('active') ?? '',
    db_config_key: query.get('db_config_key') ?? '',
    sort: (query.get('sort') ?? 'config_id') as Sort,
    order: (query.get('order') === 'desc' ? 'desc' : 'asc') as 'asc' | 'desc',
    offset: Number(query.get('offset') ?? 0) || 0,
  };
  const [search, setSearch] = useState(filters.name);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const set = (changes: Partial<Record<keyof typeof filters, string | number>>) =>
    go('/tables', Object.fromEntries(Object.entries({ ...filters, offset: 0, ...changes }).map(([k, v]) => [k, String(v)]).filter(([k, v]) => !(k === 'offset' && v === '0') && !(k === 'sort' && v === 'config_id') && !(k === 'order' && v === 'asc'))));

  // Search as you type, a moment after the last key.
  useEffect(() => {
    if (search === filters.name) return undefined;
    const timer = setTimeout(() => set({ name: search }), 250);
    return () => clearTimeout(timer);
  }, [search]);

  const page = useLoad(
    () =>
      ok(
        api.GET('/tables', {
          params: {
            query: {
              limit: PAGE,
              offset: filters.offset,
              sort: filters.sort,
              order: filters.order,
              ...(filters.name ? { name: filters.name } : {}),
              ...(filters.status ? { status: filters.status as (typeof STATUSES)[number] } : {}),
              ...(filters.strategy ? { strategy: filters.strategy as (typeof STRATEGIES)[number] } : {}),
              ...(filters.active ? { active: filters.active as 'true' | 'false' } : {}),
              ...(filters.db_config_key ? { db_config_key: filters.db_config_key } : {}),
            },
          },
        }),
      ),
    [query.toString()],
    10000,
  );
  const items = page.data?.items ?? [];
  const total = page.data?.total ?? 0;
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const allOnPage = items.length > 0 && items.every((t) => selected.has(t.config_id));
  const sortHeader = (key: Sort, label: string) => {
    const active = filters.sort === key;
    return (
      <th scope="col" aria-sort={active ? (filters.order === 'asc' ? 'ascending' : 'descending') : 'none'}>
        <button type="button" class="link" onClick={() => set({ sort: key, order: active && filters.order === 'asc' ? 'desc' : 'asc' })}>
          {label} {active ? (filters.order === 'asc' ? '▲' : '▼') : ''}
        </button>
      </th>
    );
  };

  return (
    <div class="page">
      <h1>Tables</h1>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search names
          <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="source or destination table" />
        </label>
        <label>
          Status
          <select value={filters.status} onChange={(e) => set({ status: e.currentTarget.value })}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option value={s}>{s === 'none' ? 'never run' : s}</option>
            ))}
          </select>
        </label>
        <label>
          Strategy
          <select value={filters.strategy} onChange={(e) => set({ strategy: e.currentTarget.value })}>
            <option value="">any</option>
            {STRATEGIES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Active
          <select value={filters.active} onChange={(e) => set({ active: e.currentTarget.value })}>
            <option value="">any</option>
            <option value="true">active</option>
            <option value="false">inactive</option>
          </select>
        </label>
        <label>
          Connection
          <input value={filters.db_config_key} onChange={(e) => set({ db_config_key: e.currentTarget.value })} size={12} />
        </label>
      </form>
      <ErrorNote error={page.error} />
      <div class="toolbar">
        <span role="status" class="muted">
          {page.data ? `${total} tables${total > 0 ? `, ${filters.offset + 1}–${Math.min(filters.offset + PAGE, total)} shown` : ''}` : 'Loading…'}
        </span>
        {canWrite && (
          <button type="button" disabled={selected.size === 0} onClick={() => go('/bulk', { ids: [...selected].join(',') })}>
            Bulk edit {selected.size} selected
          </button>
        )}
      </div>
      <table class="grid" aria-label="Tables">
        <thead>
          <tr>
            {canWrite && (
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select every table on this page"
                  checked={allOnPage}
                  onChange={() => {
                    const next = new Set(selected);
                    for (const t of items) if (allOnPage) next.delete(t.config_id);
                    else next.add(t.config_id);
                    setSelected(next);
                  }}
                />
              </th>
            )}
            {sortHeader('config_id', 'Id')}
            {SORTS.map(([key, label]) => sortHeader(key, label))}
            <th scope="col">Active</th>
          </tr>
        </thead>
        <tbody>
          {items.map((t) => (
            <tr>
              {canWrite && (
                <td>
                  <input type="checkbox" aria-label={`Select ${t.source_table_name ?? t.config_id}`} checked={selected.has(t.config_id)} onChange={() => toggle(t.config_id)} />
                </td>
              )}
              <td>{t.config_id}</td>
              <td>
                <a href={`#/tables/${t.config_id}`}>{t.source_table_name ?? '(no name)'}</a>
              </td>
              <td>{t.destination_table_name}</td>
              <td>{t.db_config_key}</td>
              <td>{t.load_strategy}</td>
              <td>
                <Status value={t.last_status} />
              </td>
              <td>{ago(t.last_load_date_time)}</td>
              <td>{t.next_load_date_time ? t.next_load_date_time.slice(0, 19).replace('T', ' ') : '—'}</td>
              <td>{t.is_active ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={filters.offset === 0} onClick={() => set({ offset: Math.max(0, filters.offset - PAGE) })}>
          Previous
        </button>
        <span>
          Page {Math.floor(filters.offset / PAGE) + 1} of {Math.max(1, Math.ceil(total / PAGE))}
        </span>
        <button type="button" disabled={filters.offset + PAGE >= total} onClick={() => set({ offset: filters.offset + PAGE })}>
          Next
        </button>
      </nav>
    </div>
  );
}
