/** The fleet at a glance: counts, failures with their messages, stuck runs, freshness, loads per hour. */
import { api, ok, type Row } from './api';
import { BarLineChart } from './charts';
import { ago, ErrorNote, Section, Status, useLoad, when } from './ui';

const STATUSES = ['Failed', 'In Progress', 'Queued', 'Succeeded', null] as const;

function TableLink({ row }: { row: Row }) {
  return <a href={`#/tables/${String(row.config_id)}`}>{String(row.source_table_name ?? `table ${String(row.config_id)}`)}</a>;
}

export function Overview() {
  const counts = useLoad(() => ok(api.GET('/views/status-counts')), [], 5000);
  const failed = useLoad(() => ok(api.GET('/views/failed', { params: { query: { limit: 50 } } })), [], 5000);
  const queued = useLoad(() => ok(api.GET('/views/long-queued', { params: { query: {} } })), [], 15000);
  const running = useLoad(() => ok(api.GET('/views/long-running', { params: { query: {} } })), [], 15000);
  const fresh = useLoad(() => ok(api.GET('/views/freshness', { params: { query: { limit: 20 } } })), [], 15000);
  const hourly = useLoad(() => ok(api.GET('/views/loads-per-hour', { params: { query: { hours: 24 } } })), [], 30000);

  const failedCount = counts.data?.find((r) => r.last_status === 'Failed')?.count;
  const byStatus = new Map((counts.data ?? []).map((r) => [r.last_status ?? null, Number(r.count)]));
  const hours = (hourly.data ?? []) as { hour: string; loads: number; succeeded: number; failed: number; rows: number }[];
  return (
    <div class="page">
      <h1>Overview</h1>
      <ErrorNote error={counts.error ?? failed.error} />
      <ul class="counts" aria-label="Active tables by status">
        {STATUSES.map((s) => (
          <li>
            <a href={`#/tables?status=${s ?? 'none'}&active=true`} class={`count count-${(s ?? 'never').toLowerCase().replace(' ', '-')}`}>
              <strong>{counts.data ? (byStatus.get(s) ?? 0) : '…'}</strong>
              <span>{s ?? 'never run'}</span>
            </a>
          </li>
        ))}
      </ul>

      <Section title={`Failures${failedCount !== undefined ? ` (${String(failedCount)})` : ''}`} id="failures">
        {failed.data && failed.data.length === 0 && <p class="muted">No table is failing.</p>}
        {failed.data && failed.data.length > 0 && (
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Table</th>
                <th scope="col">Failed</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {failed.data.map((r) => (
                <tr>
                  <td>
                    <TableLink row={r} />
                  </td>
                  <td title={when(r.last_status_date_time)}>{ago(r.last_status_date_time)}</td>
                  <td class="message">{String(r.last_status_message ?? '')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>

      <div class="two">
        <Section title={`Queued too long${queued.data ? ` (${queued.data.length})` : ''}`} id="long-queued">
          {queued.data?.length === 0 && <p class="muted">None.</p>}
          <ul>
            {(queued.data ?? []).slice(0, 20).map((r) => (
              <li>
                <TableLink row={r} /> queued {ago(r.last_queued_at ?? r.last_status_date_time)}
              </li>
            ))}
          </ul>
        </Section>
        <Section title={`Running long${running.data ? ` (${running.data.length})` : ''}`} id="long-running">
          {running.data?.length === 0 && <p class="muted">None.</p>}
          <ul>
            {(running.data ?? []).slice(0, 20).map((r) => (
              <li>
                <TableLink row={r} /> started {ago(r.last_load_date_time)}
              </li>
            ))}
          </ul>
        </Section>
      </div>

      <Section title="Loads per hour, last 24 hours" id="hourly">
        <ErrorNote error={hourly.error} />
        <BarLineChart
          title="Loads per hour"
          labels={hours.map((h) => h.hour.slice(11, 16))}
          bars={[
            { label: 'succeeded', values: hours.map((h) => h.succeeded), color: '#2e7d32' },
            { label: 'failed', values: hours.map((h) => h.failed), color: '#c62828' },
          ]}
          line={{ label: 'rows', values: hours.map((h) => h.rows), color: '#1565c0' }}
        />
      </Section>

      <Section title="Freshness against the schedule" id="freshness">
        <ErrorNote error={fresh.error} />
        {fresh.data && (
          <p>
            <strong>{fresh.data.stale}</strong> of {fresh.data.tables} active tables are stale (no success since the slot before their latest).
          </p>
        )}
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">Table</th>
              <th scope="col">Cron</th>
              <th scope="col">Last success</th>
              <th scope="col">Expected by</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {(fresh.data?.items ?? []).map((r) => (
              <tr class={r.stale ? 'stale' : ''}>
                <td>
                  <TableLink row={r} />
                  {r.stale ? <span class="flag"> stale</span> : null}
                </td>
                <td>
                  <code>{String(r.load_cron ?? '')}</code>
                </td>
                <td title={when(r.last_success)}>{ago(r.last_success)}</td>
                <td>{when(r.expected_by)}</td>
                <td>
                  <Status value={r.last_status} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </div>
  );
}
