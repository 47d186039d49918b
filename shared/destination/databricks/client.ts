/**
 * A thin client of the Databricks SQL Statement Execution API
 * (POST /api/2.0/sql/statements, GET .../{statement_id}, POST .../cancel):
 * submits a statement to a SQL warehouse, waits up to 30 s in the request,
 * then polls until the statement ends. A failed statement is a terminal error
 * carrying the warehouse's message; throttling (429) and unavailability (5xx)
 * are transient. Aborting the signal cancels the running statement.
 */
import { TerminalError, TransientError } from '../../errors.js';

export interface StatementParameter {
  name: string;
  value: string | null;
  type?: string;
}

export interface StatementResult {
  statementId: string;
  /** Result rows (JSON_ARRAY format, inline: every value as a string or null). */
  rows: (string | null)[][];
}

interface StatementResponse {
  statement_id?: string;
  status?: { state?: string; error?: { error_code?: string; message?: string } };
  result?: { data_array?: (string | null)[][] };
}

export type TokenProvider = () => Promise<string>;

const TERMINAL_STATES = new Set(['SUCCEEDED', 'FAILED', 'CANCELED', 'CLOSED']);

export interface StatementClientOptions {
  /** https://adb-123.4.azuredatabricks.net */
  host: string;
  warehouseId: string;
  token: TokenProvider;
  /** Pause between polls (default 1 s, growing to 5 s). */
  pollMs?: number;
  fetch?: typeof fetch;
}

/** The warehouse id from an id or an http_path (/sql/1.0/warehouses/<id>). */
export function warehouseIdOf(value: string): string {
  const match = /\/warehouses\/([^/?#]+)/.exec(value);
  const id = match ? match[1]! : value.trim();
  if (!/^[A-Za-z0-9_-]+$/.test(id)) {
    throw new TerminalError(`the SQL warehouse "${value}" is neither a warehouse id nor an http_path like /sql/1.0/warehouses/<id>`);
  }
  return id;
}

export class StatementClient {
  private readonly fetch: typeof fetch;
  private readonly base: string;

  constructor(private readonly options: StatementClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.base = options.host.replace(/\/+$/, '');
  }

  private async request(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<StatementResponse> {
    const token = await this.options.token();
    let response: Response;
    try {
      response = await this.fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'user-agent': 'dataloader' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      throw new TransientError(`the Databricks workspace did not answer (${(error as Error).message})`, { cause: error });
    }
    const text = await response.text();
    if (response.status === 429 || response.status >= 500) {
      throw new TransientError(`the Databricks workspace answered HTTP ${response.status}: ${text.slice(0, 300)}`);
    }
    if (!response.ok) {
      let message = text.slice(0, 500);
      try {
        const parsed = JSON.parse(text) as { error_code?: string; message?: string };
        message = `${parsed.error_code ?? ''}: ${parsed.message ?? ''}`;
      } catch {
        // not JSON: the raw text is the message
      }
      throw new TerminalError(`the Databricks workspace refused the request (HTTP ${response.status}) ${message}`);
    }
    return JSON.parse(text) as StatementResponse;
  }

  /** Runs one statement to its end; its rows when it returns any. */
  async execute(statement: string, parameters: StatementParameter[] = [], signal?: AbortSignal): Promise<StatementResult> {
    let response = await this.request(
      'POST',
      '/api/2.0/sql/statements/',
      {
        warehouse_id: this.options.warehouseId,
        statement,
        ...(parameters.length ? { parameters } : {}),
        wait_timeout: '30s',
        on_wait_timeout: 'CONTINUE',
        format: 'JSON_ARRAY',
        disposition: 'INLINE',
      },
      signal,
    );
    const statementId = response.statement_id;
    if (!statementId) throw new TransientError('the Databricks workspace answered without a statement_id');
    let pause = this.options.pollMs ?? 1000;
    const cancel = () => void this.request('POST', `/api/2.0/sql/statements/${statementId}/cancel`, {}).catch(() => undefined);
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      while (!TERMINAL_STATES.has(response.status?.state ?? '')) {
        await new Promise((resolve) => setTimeout(resolve, pause));
        pause = Math.min(pause * 2, 5000);
        if (signal?.aborted) throw new TerminalError(`statement ${statementId} was cancelled: the run was taken from this loader`);
        response = await this.request('GET', `/api/2.0/sql/statements/${statementId}`, undefined, signal);
      }
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
    const state = response.status!.state!;
    if (state !== 'SUCCEEDED') {
      const error = response.status?.error;
      const detail = error ? `${error.error_code ?? ''}: ${error.message ?? ''}` : 'no reason given';
      throw new TerminalError(`Databricks statement ${statementId} ${state.toLowerCase()}: ${detail}`);
    }
    return { statementId, rows: response.result?.data_array ?? [] };
  }
}
