/**
 * PostgreSQL's window dialect, shared by the PostgreSQL source and the
 * PostgreSQL destination: double-quoted identifiers, values cast to the
 * column's type, lookbacks as interval or integer arithmetic. Only how a
 * value is bound differs: the destination binds `$1`; the source's COPY
 * cannot take parameters, so it reads them back from transaction-local
 * settings (`current_setting('dataloader.p1')`, set by bound set_config()).
 */
import pg from 'pg';
import type { WindowDialect } from './compile.js';

/** Binds a value and returns the SQL that reads it. */
export type Binder = (params: unknown[], value: string) => string;

/** `$n` placeholders of an ordinary statement. */
export const placeholders: Binder = (params, value) => {
  params.push(value);
  return `$${params.length}`;
};

/** Transaction-local settings `dataloader.p<n>`, for statements (COPY) that cannot take parameters. */
export const sessionSettings: Binder = (params, value) => {
  params.push(value);
  return `current_setting('dataloader.p${params.length}')`;
};

/**
 * The type a lookback amount is cast to: an integer column's own type, so that
 * `col > value - amount` stays an index range scan (bigint - numeric would
 * compare as numeric and could not use the index); numeric otherwise.
 */
export function amountType(columnType: string): string {
  return ['smallint', 'integer', 'bigint'].includes(columnType) ? columnType : 'numeric';
}

export function postgresWindowDialect(bind: Binder): WindowDialect {
  return {
    quote: (identifier) => pg.escapeIdentifier(identifier),
    value: (column, text, params) => `${bind(params, text)}::${column.type}`,
    minus(column, value, lookback, params) {
      switch (lookback.kind) {
        case 'seconds':
          return `${value} - make_interval(secs => ${bind(params, String(lookback.seconds))}::int)`;
        case 'minutes':
          return `${value} - make_interval(mins => ${bind(params, String(lookback.minutes))}::int)`;
        case 'days':
          return `${value} - ${bind(params, String(lookback.days))}::int`;
        case 'amount':
          return `${value} - ${bind(params, lookback.amount)}::${amountType(column.type)}`;
      }
    },
    trueSql: 'true',
  };
}
