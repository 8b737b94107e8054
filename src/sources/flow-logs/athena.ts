// Flow logs summed by Amazon Athena where they lie (`--flow-logs.engine athena`): the one aggregate SQL
// (aggregate-sql.ts) over the table of the flow-log bucket, through the SDK's standard settings
// (credential chain, AWS_REGION, AWS_ENDPOINT_URL_ATHENA). StartQueryExecution, GetQueryExecution polled
// with backoff until the query ends, GetQueryResults in pages; each row counted as one record standing
// for its group, as DuckDB's are.
import type { AthenaClient } from '@aws-sdk/client-athena';
import { ConfigError } from '../../config/errors.js';
import { AGGREGATE_COLUMNS, aggregateSql } from './aggregate-sql.js';
import { GroupCounter } from './groups.js';
import type { FlowLogWindow } from './read-all.js';
import { FlowLogRead, type RecordSink } from './read.js';
import type { InterfaceIds } from './record.js';

export interface AthenaOptions {
  workgroup: string;
  database: string;
  table: string;
  /** s3://… for the query's results; none: the workgroup's own */
  output?: string;
  /** The table's partition column of days (partition projection, `yyyy/MM/dd`): the time window reads only those; none: no partition filter. */
  dayColumn?: string;
  /** How long to wait for the query, in ms. */
  timeoutMs?: number;
}

const ident = (s: string): string => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) throw new ConfigError(`--athena: ${JSON.stringify(s)} is no table or database name (letters, digits, _)`);
  return `"${s}"`;
};

const day = (seconds: number): string => new Date(seconds * 1000).toISOString().slice(0, 10).replace(/-/g, '/');

/** The statement sent: the aggregate over the table, its days those of the window (partition projection prunes the rest). */
export function athenaStatement(o: AthenaOptions, window: FlowLogWindow, hourly = false): string {
  const where: string[] = [];
  if (o.dayColumn !== undefined) {
    const col = ident(o.dayColumn);
    if (window.since !== undefined) where.push(`${col} >= '${day(window.since - 600)}'`);
    if (window.until !== undefined) where.push(`${col} <= '${day(window.until)}'`);
  }
  return aggregateSql({ from: `${ident(o.database)}.${ident(o.table)}`, where: where.join(' AND '), hourly });
}

/** Run the aggregate in Athena and count its rows; `done` gets what they held. Resolves to the query's id and the bytes it scanned. */
export async function readWithAthena(o: AthenaOptions, window: FlowLogWindow, sink: RecordSink, ids: InterfaceIds, done: (r: FlowLogRead) => void, hourly = false): Promise<{ id: string; scannedBytes: number; sql: string }> {
  const sdk = await import('@aws-sdk/client-athena');
  const client: AthenaClient = new sdk.AthenaClient({ region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1' });
  const sql = athenaStatement(o, window, hourly);
  const where = `athena://${o.workgroup}/${o.database}.${o.table}`;
  let id: string;
  try {
    const started = await client.send(
      new sdk.StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: o.workgroup,
        QueryExecutionContext: { Database: o.database },
        ...(o.output ? { ResultConfiguration: { OutputLocation: o.output } } : {}),
      }),
    );
    id = started.QueryExecutionId!;
  } catch (e) {
    throw new Error(`${where}: the query could not be started: ${(e as Error).name}: ${(e as Error).message}`);
  }
  // poll with backoff: 100 ms doubling to 5 s, within the timeout
  const deadline = Date.now() + (o.timeoutMs ?? 30 * 60_000);
  let wait = 100;
  let scannedBytes = 0;
  for (;;) {
    const q = await client.send(new sdk.GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = q.QueryExecution?.Status?.State;
    scannedBytes = q.QueryExecution?.Statistics?.DataScannedInBytes ?? scannedBytes;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') {
      const why = q.QueryExecution?.Status?.StateChangeReason ?? q.QueryExecution?.Status?.AthenaError?.ErrorMessage ?? 'no reason given';
      throw new Error(`${where}: query ${id} ${state === 'FAILED' ? 'failed' : 'was cancelled'}: ${why}`);
    }
    if (Date.now() + wait > deadline) {
      await client.send(new sdk.StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
      throw new Error(`${where}: query ${id} still ${state ?? 'running'} after ${Math.round((o.timeoutMs ?? 1_800_000) / 1000)} s: stopped`);
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(5000, wait * 2);
  }
  const read = new FlowLogRead(where);
  const groups = new GroupCounter(sink, ids, read);
  let header = true;
  let columns: number[] = [];
  for await (const page of sdk.paginateGetQueryResults({ client, pageSize: 1000 }, { QueryExecutionId: id })) {
    if (columns.length === 0) {
      const names = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? c.Label ?? '');
      columns = AGGREGATE_COLUMNS.map((c) => names.indexOf(c));
      if (columns.some((i) => i < 0)) throw new Error(`${where}: query ${id} answered columns ${names.join(', ')}, not the aggregate's`);
    }
    for (const row of page.ResultSet?.Rows ?? []) {
      // the first row of a SELECT's results is its header
      if (header) {
        header = false;
        continue;
      }
      const data = row.Data ?? [];
      groups.count((i) => data[columns[i]]?.VarCharValue ?? null);
    }
  }
  done(read);
  return { id, scannedBytes, sql };
}
