/**
 * The settled bound's SQL per engine, exactly; seconds lookbacks in each
 * dialect; incremental_lookback parsing; and the engines that cannot bound a
 * watermark saying so.
 */
import { describe, expect, it } from 'vitest';
import { selectSql, type SourceColumn } from '../shared/connectors/dialect.js';
import { clickHouseDialect } from '../shared/connectors/clickhouse-sql.js';
import { MSSQL_COMMIT_HORIZON_SQL, mssqlDialect } from '../shared/connectors/mssql-sql.js';
import { ORACLE_COMMIT_HORIZON_SQL, oracleDialect } from '../shared/connectors/oracle-sql.js';
import { commitHorizonSql, selectSql as postgresSelectSql } from '../shared/connectors/postgres-sql.js';
import type { Condition } from '../shared/data/spec.js';
import { describeLookback, lookbackFor, parseTableLookback } from '../shared/strategies/watermark.js';

const after: Condition = { kind: 'after', column: 'at', value: '2024-01-01 10:00:00', lookback: { kind: 'seconds', seconds: 90 } };

describe('the commit horizon SQL', () => {
  it('PostgreSQL: the oldest open transaction of this database, one step below, in the column type', () => {
    const sql = commitHorizonSql('timestamp(6) with time zone');
    expect(sql).toContain(`WHERE a.datname = current_database()
       AND a.pid <> pg_backend_pid()
       AND (a.backend_type IS NULL OR a.backend_type = 'client backend' OR a.backend_type LIKE 'logical replication%')
       AND NOT (a.application_name = 'dataloader-loader' AND a.backend_xid IS NULL AND a.state IS NOT NULL)`);
    expect(sql).toContain(
      `((least(o.xact_start, s.now) - make_interval(secs => $1::int)) - interval '1 microsecond')::timestamp(6) with time zone::text AS bound`,
    );
    expect(commitHorizonSql('timestamp(0) without time zone')).toContain(
      `((least(o.xact_start, s.now) - make_interval(secs => $1::int)) - interval '1 second')::timestamp(0) without time zone::text AS bound`,
    );
    expect(commitHorizonSql('date')).toContain(`((least(o.xact_start, s.now) - make_interval(secs => $1::int))::date - 1)::text AS bound`);
  });

  it('SQL Server: the DMVs of active transactions, VIEW SERVER STATE, whole seconds', () => {
    expect(MSSQL_COMMIT_HORIZON_SQL).toBe(`SELECT CAST(HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') AS int) AS [privileged],
       o.session_id AS [session_id],
       CONVERT(varchar(23), o.began, 121) AS [since],
       CONVERT(varchar(19), DATEADD(second, -(CAST(@p1 AS int) + 1),
         CASE WHEN o.began < SYSDATETIME() THEN o.began ELSE SYSDATETIME() END), 120) AS [bound]
  FROM (SELECT 1 AS one) AS x
  OUTER APPLY (SELECT TOP 1 s.session_id, CAST(t.transaction_begin_time AS datetime2(7)) AS began
                 FROM sys.dm_tran_active_transactions t
                 JOIN sys.dm_tran_session_transactions s ON s.transaction_id = t.transaction_id
                WHERE s.session_id <> @@SPID
                  AND (EXISTS (SELECT 1 FROM sys.dm_tran_database_transactions d
                                WHERE d.transaction_id = t.transaction_id AND d.database_id = DB_ID())
                       OR EXISTS (SELECT 1 FROM sys.dm_exec_sessions e
                                   WHERE e.session_id = s.session_id AND e.database_id = DB_ID()))
                ORDER BY t.transaction_begin_time) AS o`);
  });

  it('Oracle: v$transaction start date and SCN with its session', () => {
    expect(ORACLE_COMMIT_HORIZON_SQL).toBe(`SELECT o.sid, TO_CHAR(o.start_date, 'YYYY-MM-DD HH24:MI:SS') AS since, TO_CHAR(o.start_scn) AS start_scn,
       TO_CHAR(LEAST(NVL(o.start_date, SYSDATE), SYSDATE) - NUMTODSINTERVAL(:1 + 1, 'SECOND'), 'YYYY-MM-DD HH24:MI:SS') AS bound
  FROM DUAL
  LEFT JOIN (SELECT s.sid, t.start_date, t.start_scn
               FROM v$transaction t JOIN v$session s ON s.taddr = t.addr
              WHERE s.sid <> TO_NUMBER(SYS_CONTEXT('USERENV', 'SID'))
              ORDER BY t.start_date FETCH FIRST 1 ROWS ONLY) o ON 1 = 1`);
  });
});

describe('a lookback of seconds', () => {
  const column = (sourceType: string): SourceColumn[] => [{ name: 'at', sourceType, type: 'timestamp(6) without time zone' }];
  const read = (dialect: Parameters<typeof selectSql>[0], sourceType: string) =>
    selectSql(dialect, { relation: { kind: 'table', catalog: null, schema: 's', table: 't' }, columns: [{ name: 'at', type: 'timestamp(6) without time zone' }], conditions: [after] }, new Map(column(sourceType).map((c) => [c.name, c.sourceType]))).sql;

  it('is subtracted in each dialect', () => {
    expect(read(mssqlDialect, 'datetime2(7)')).toContain('WHERE [at] > DATEADD(second, -90, CONVERT(datetime2(7), @p1, 121))');
    expect(read(oracleDialect, 'TIMESTAMP(6)')).toMatch(/WHERE "at" > .* - NUMTODSINTERVAL\(90, 'SECOND'\)$/);
    expect(read(clickHouseDialect, 'DateTime64(6)')).toMatch(/WHERE `at` > .* - INTERVAL 90 SECOND$/);
    expect(postgresSelectSql({ relation: { kind: 'table', catalog: null, schema: 's', table: 't' }, columns: [{ name: 'at', type: 'timestamp(6) without time zone' }], conditions: [after] })).toEqual({
      sql: `SELECT "at" FROM "s"."t" WHERE "at" > current_setting('dataloader.p1')::timestamp(6) without time zone - make_interval(secs => current_setting('dataloader.p2')::int)`,
      settings: ['2024-01-01 10:00:00', '90'],
    });
  });
});

describe('incremental_lookback', () => {
  it('reads intervals for time watermarks and amounts for numeric ones', () => {
    expect(parseTableLookback('90 seconds', 'timestamp')).toEqual({ seconds: 90 });
    expect(parseTableLookback(' 2 Hours ', 'timestamp')).toEqual({ seconds: 7200 });
    expect(parseTableLookback('1 day', 'date')).toEqual({ seconds: 86400 });
    expect(parseTableLookback('0', 'timestamp')).toEqual({ seconds: 0 });
    expect(parseTableLookback('0050', 'integer')).toEqual({ amount: '50' });
    expect(parseTableLookback('2.5', 'decimal')).toEqual({ amount: '2.5' });
    expect(parseTableLookback('2.5', 'integer')).toHaveProperty('error');
    expect(parseTableLookback('90', 'timestamp')).toHaveProperty('error');
    expect(parseTableLookback('367 days', 'timestamp')).toHaveProperty('error');
  });

  it('sets the lookback in force, else the setting', () => {
    expect(lookbackFor('timestamp', 10, { seconds: 90 })).toEqual({ kind: 'seconds', seconds: 90 });
    expect(lookbackFor('timestamp', 10, { seconds: 120 })).toEqual({ kind: 'minutes', minutes: 2 });
    expect(lookbackFor('timestamp', 10, { seconds: 0 })).toBeUndefined();
    expect(lookbackFor('timestamp', 10, null)).toEqual({ kind: 'minutes', minutes: 10 });
    expect(lookbackFor('date', 10, { seconds: 90_000 })).toEqual({ kind: 'days', days: 2 });
    expect(lookbackFor('integer', 10, { amount: '0' })).toBeUndefined();
    expect(lookbackFor('integer', 10, null)).toEqual({ kind: 'amount', amount: '1000' });
    expect(describeLookback('integer', 10, null)).toBe('a lookback of 1000 values (the default)');
    expect(describeLookback('timestamp', 0, null)).toBe('no lookback (INCREMENTAL_LOOKBACK_MINUTES)');
  });
});
