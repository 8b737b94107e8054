// A local fake Amazon Athena that speaks the JSON 1.1 protocol the SDK uses (X-Amz-Target
// AmazonAthena.*): StartQueryExecution, GetQueryExecution (RUNNING once, then the end state),
// GetQueryResults in pages (the header row first, values as VarCharValue), StopQueryExecution. It runs
// the statement it is sent — the exact text — in DuckDB over a table made of flow-log files, as Athena
// would over the bucket's table (its `day` partition column included).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { flowLogsRelation } from '../../src/sources/flow-logs/duckdb.js';
import type { Input } from '../../src/sources/flow-logs/inputs.js';
import { FakeServer } from './aws.js';

interface Query {
  sql: string;
  state: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  reason?: string;
  polls: number;
  columns: string[];
  rows: (string | null)[][];
}

export class FakeAthena extends FakeServer {
  readonly statements: { sql: string; workgroup?: string; database?: string; output?: string }[] = [];
  readonly calls: string[] = [];
  /** Rows per page of GetQueryResults at most (the client may ask for fewer). */
  pageSize = 1000;
  /** The next query fails (FAILED, with this reason) or is cancelled. */
  failNext: string | undefined;
  cancelNext = false;
  private readonly queries = new Map<string, Query>();
  private con: DuckDBConnection | undefined;

  /** The table `database.table` over these flow-log files. */
  async table(database: string, table: string, inputs: Input[]): Promise<void> {
    const instance = await DuckDBInstance.create(':memory:');
    this.con = await instance.connect();
    const relation = await flowLogsRelation(inputs, async (q) => (await this.con!.runAndReadAll(`DESCRIBE ${q}`)).getRowObjects().map((r) => ({ name: String(r.column_name), type: String(r.column_type) })));
    await this.con.run(`CREATE SCHEMA "${database}"`);
    await this.con.run(`CREATE VIEW "${database}"."${table}" AS SELECT *, strftime(to_timestamp("start"), '%Y/%m/%d') AS day FROM (${relation})`);
  }

  count(action: string): number {
    return this.calls.filter((c) => c === action).length;
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(body));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const action = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonAthena\./, '');
    this.calls.push(action);
    const input = JSON.parse(body || '{}') as Record<string, unknown>;
    const q = this.queries.get(String(input.QueryExecutionId));
    switch (action) {
      case 'StartQueryExecution': {
        const sql = String(input.QueryString);
        const ctx = input.QueryExecutionContext as { Database?: string } | undefined;
        const out = input.ResultConfiguration as { OutputLocation?: string } | undefined;
        this.statements.push({ sql, workgroup: input.WorkGroup as string | undefined, database: ctx?.Database, output: out?.OutputLocation });
        const id = `q-${this.queries.size + 1}`;
        const query: Query = { sql, state: 'RUNNING', polls: 0, columns: [], rows: [] };
        if (this.failNext !== undefined) {
          query.state = 'FAILED';
          query.reason = this.failNext;
          this.failNext = undefined;
        } else if (this.cancelNext) {
          query.state = 'CANCELLED';
          query.reason = 'Query cancelled by user';
          this.cancelNext = false;
        } else {
          try {
            const r = await this.con!.runAndReadAll(sql);
            query.columns = r.columnNames();
            query.rows = r.getRows().map((row) => row.map((v) => (v === null ? null : String(v))));
          } catch (e) {
            query.state = 'FAILED';
            query.reason = `SYNTAX_ERROR: ${(e as Error).message.split('\n')[0]}`;
          }
        }
        this.queries.set(id, query);
        return this.json(res, 200, { QueryExecutionId: id });
      }
      case 'GetQueryExecution': {
        if (!q) return this.json(res, 400, { __type: 'InvalidRequestException', Message: 'QueryExecution not found' });
        // running at the first poll: the client waits
        const state = q.polls++ === 0 && q.state === 'RUNNING' ? 'RUNNING' : q.state === 'RUNNING' ? 'SUCCEEDED' : q.state;
        if (state === 'SUCCEEDED') q.state = 'SUCCEEDED';
        return this.json(res, 200, {
          QueryExecution: {
            QueryExecutionId: input.QueryExecutionId,
            Query: q.sql,
            Status: { State: state, ...(q.reason ? { StateChangeReason: q.reason } : {}) },
            Statistics: { DataScannedInBytes: 123_456_789 },
          },
        });
      }
      case 'GetQueryResults': {
        if (!q || q.state !== 'SUCCEEDED') return this.json(res, 400, { __type: 'InvalidRequestException', Message: `Query has not yet finished. Current state: ${q?.state ?? 'none'}` });
        // the header row first, as Athena gives a SELECT's results
        const all = [q.columns, ...q.rows];
        const from = Number(input.NextToken ?? 0);
        const max = Math.min(this.pageSize, Number(input.MaxResults ?? 1000));
        const page = all.slice(from, from + max);
        const next = from + max < all.length ? String(from + max) : undefined;
        return this.json(res, 200, {
          ResultSet: {
            ResultSetMetadata: { ColumnInfo: q.columns.map((c) => ({ Name: c, Label: c, Type: 'varchar', CatalogName: 'hive', SchemaName: '', TableName: '' })) },
            Rows: page.map((row) => ({ Data: row.map((v) => (v === null ? {} : { VarCharValue: v })) })),
          },
          ...(next ? { NextToken: next } : {}),
          UpdateCount: 0,
        });
      }
      case 'StopQueryExecution':
        if (q) q.state = 'CANCELLED';
        return this.json(res, 200, {});
      default:
        return this.json(res, 400, { __type: 'UnknownOperationException', Message: action });
    }
  }
}
