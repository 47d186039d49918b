/** Small shared pieces: routing by location hash, data loading, status badges, errors. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

/** The current hash route: `#/tables/3?x=1` gives path `/tables/3` and its query. */
export function useRoute(): { path: string; query: URLSearchParams } {
  const read = () => {
    const [path = '/', search = ''] = location.hash.replace(/^#/, '').split('?');
    return { path: path || '/', query: new URLSearchParams(search) };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function go(path: string, query?: Record<string, string | undefined>): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  location.hash = `#${path}${s ? `?${s}` : ''}`;
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/** Loads `fetcher()` now, when `deps` change, and every `refreshMs` (when given). */
export function useLoad<T>(fetcher: () => Promise<T>, deps: unknown[], refreshMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const latest = useRef(0);
  const run = useCallback(() => {
    const ticket = ++latest.current;
    fetcher().then(
      (value) => {
        if (ticket !== latest.current) return;
        setData(value);
        setError(undefined);
      },
      (e: unknown) => {
        if (ticket !== latest.current) return;
        setError(e instanceof Error ? e.message : String(e));
      },
    );
  }, deps);
  useEffect(() => {
    run();
    if (!refreshMs) return undefined;
    const timer = setInterval(run, refreshMs);
    return () => clearInterval(timer);
  }, [run, refreshMs]);
  return { data, error, reload: run };
}

export function Status({ value }: { value: unknown }) {
  const text = value === null || value === undefined ? 'never run' : String(value);
  const kind = text.toLowerCase().replace(/\s+/g, '-');
  return <span class={`badge badge-${kind}`}>{text}</span>;
}

export function ErrorNote({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

export function when(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '—';
  const d = new Date(value.endsWith('Z') || /[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(d.getTime()) ? value : d.toISOString().replace('T', ' ').slice(0, 19);
}

export function ago(value: unknown): string {
  if (typeof value !== 'string' || value === '') return 'never';
  const d = new Date(value.endsWith('Z') || /[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export function show(value: unknown): string {
  if (value === null || value === undefined) return '(empty)';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Runs an action, reporting its error (explained) or its success. */
export function useAction(): { busy: boolean; error: string | undefined; notice: string | undefined; run: (label: string, action: () => Promise<unknown>) => Promise<boolean> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const run = async (label: string, action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    try {
      await action();
      setNotice(label);
      return true;
    } catch (e) {
      setError(e instanceof ApiError || e instanceof Error ? e.message : String(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, notice, run };
}

export function Notice({ text }: { text: string | undefined }) {
  if (!text) return null;
  return (
    <p class="notice" role="status">
      {text}
    </p>
  );
}
