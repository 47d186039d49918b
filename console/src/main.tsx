/** The DataLoader admin console: a single page over the admin API. */
import { render } from 'preact';
import { api, ok } from './api';
import { Audit } from './audit';
import { BulkEdit } from './bulk';
import { ConnectionPage, Connections } from './connections';
import { Overview } from './overview';
import { Promotion } from './promotion';
import { TablePage } from './table';
import { Tables } from './tables';
import { ErrorNote, useLoad, useRoute } from './ui';
import './style.css';

const NAV = [
  ['/', 'Overview'],
  ['/tables', 'Tables'],
  ['/connections', 'Connections'],
  ['/promotion', 'Promotion'],
  ['/audit', 'Audit log'],
] as const;

function App() {
  const { path, query } = useRoute();
  const me = useLoad(() => ok(api.GET('/me')), []);
  const canWrite = me.data?.can_write ?? false;
  const canPromote = me.data?.can_promote ?? false;
  let page;
  let m: RegExpExecArray | null;
  if (me.error) page = <ErrorNote error={me.error} />;
  else if (!me.data) page = <p>Loading…</p>;
  else if (path === '/') page = <Overview />;
  else if (path === '/tables') page = <Tables query={query} canWrite={canWrite} />;
  else if ((m = /^\/tables\/(\d+)$/.exec(path))) page = <TablePage id={Number(m[1])} canWrite={canWrite} />;
  else if (path === '/bulk') page = <BulkEdit query={query} canWrite={canWrite} />;
  else if (path === '/connections') page = <Connections />;
  else if ((m = /^\/connections\/(.+)$/.exec(path))) page = <ConnectionPage name={decodeURIComponent(m[1]!)} canWrite={canWrite} />;
  else if (path === '/promotion') page = <Promotion canPromote={canPromote} />;
  else if (path === '/audit') page = <Audit query={query} />;
  else page = <p>Nothing here. Go to the <a href="#/">overview</a>.</p>;
  const section = `/${path.split('/')[1] ?? ''}`;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          DataLoader
        </a>
        <nav aria-label="Main">
          {NAV.map(([href, label]) => (
            <a href={`#${href}`} aria-current={section === href || (href === '/tables' && section === '/bulk') ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">
          {me.data ? `${me.data.name} · ${canWrite ? 'admin' : 'read only'}${canPromote ? ' · promoter' : ''}` : ''}
        </span>
      </header>
      <main>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
