// Flow logs summed by embedded DuckDB before they reach the engine (`--flow-logs.engine duckdb`): the
// files become a relation `flow_logs` with the columns of AWS's Athena table, the one aggregate SQL
// (aggregate-sql.ts) sums them per interface, addresses, service port, direction, path and hour, and its
// rows are streamed back in chunks, each handed on as one record standing for its group. Text (gzip or
// plain, any header; the default format without one) through read_csv, Parquet natively.
import { closeSync, createReadStream, createWriteStream, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip, gunzipSync } from 'node:zlib';
import { ConfigError } from '../../config/errors.js';
import { AGGREGATE_COLUMNS, aggregateSql } from './aggregate-sql.js';
import { DEFAULT_FIELDS, fieldOfColumn, headerFields } from './fields.js';
import { detect, type Input } from './inputs.js';
import type { FlowLogWindow } from './read-all.js';
import { getObject, inWindow, objectsInWindow, s3Client, s3Error } from './s3.js';
import type { InterfaceIds } from './record.js';
import { GroupCounter } from './groups.js';
import { FlowLogRead, type RecordSink } from './read.js';

/** The columns of AWS's Athena table that the aggregate reads (each a flow-log field: fieldOfColumn), and whether numeric. */
const COLUMNS: readonly (readonly [column: string, numeric: boolean])[] = [
  ['interface_id', false],
  ['srcaddr', false],
  ['dstaddr', false],
  ['srcport', true],
  ['dstport', true],
  ['protocol', true],
  ['packets', true],
  ['bytes', true],
  ['start', true],
  ['end', true],
  ['action', false],
  ['log_status', false],
  ['flow_direction', false],
  ['pkt_srcaddr', false],
  ['pkt_dstaddr', false],
  ['traffic_path', true],
];

const quoteString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const quoteName = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** A text file's fields: its header's, else the default format's (no header line). */
function textFields(path: string, gzip: boolean): { fields: string[]; header: boolean } {
  const head = Buffer.alloc(64 * 1024);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const text = gzip ? gunzipSync(head.subarray(0, n), { finishFlush: constants.Z_SYNC_FLUSH }) : head.subarray(0, n);
  let end = text.indexOf(10);
  if (end < 0) end = text.length;
  const fields = headerFields(text.toString('latin1', 0, end).replace(/\r$/, ''));
  return fields ? { fields, header: true } : { fields: DEFAULT_FIELDS, header: false };
}

/** The log_status of a group of lines that are no record (selectOf). */
const MALFORMED = 'MALFORMED';

/** An IPv4 address of four octets, or text with a colon (IPv6, checked when read). */
const ADDRESS = "'^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$|:'";

/** DuckDB's integer types: a Parquet column of one is a number already (no text to check). */
const INTEGER_TYPES = new Set(['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'HUGEINT']);

/** A column of the files: its name there, and whether its values are integers already (typed Parquet). */
interface Present {
  name: string;
  integer: boolean;
}

/**
 * One SELECT with the Athena table's columns over files of one format, and two of its own: the file
 * (`_file`) and why a line is no record (`_malformed`, the stream reader's words; NULL for a record).
 */
function selectOf(from: string, present: (column: string) => Present | undefined): string {
  const raw = (column: string): string | undefined => {
    const p = present(column);
    // an integer column is taken as it is: cast to text and back, 10 M Parquet records took ~2 s more
    return p === undefined || p.integer ? undefined : `CAST(${quoteName(p.name)} AS VARCHAR)`;
  };
  const cols = COLUMNS.map(([column, numeric]) => {
    const p = present(column);
    if (numeric && p?.integer) return `CAST(${quoteName(p.name)} AS BIGINT) AS ${quoteName(column)}`;
    const r = raw(column);
    if (r === undefined) return `CAST(NULL AS ${numeric ? 'BIGINT' : 'VARCHAR'}) AS ${quoteName(column)}`;
    const v = `NULLIF(${r}, '-')`;
    return numeric ? `TRY_CAST(${v} AS BIGINT) AS ${quoteName(column)}` : `${v} AS ${quoteName(column)}`;
  });
  const checks: string[] = [];
  const oneOf = (column: string, values: string[], why: string): void => {
    const r = raw(column);
    if (r !== undefined) checks.push(`WHEN ${r} NOT IN (${[...values, '-'].map(quoteString).join(', ')}) THEN ${quoteString(why)}`);
  };
  for (const column of ['srcaddr', 'dstaddr']) {
    const r = raw(column);
    if (r !== undefined) checks.push(`WHEN ${r} <> '-' AND NOT regexp_matches(${r}, ${ADDRESS}) THEN 'an address that is none'`);
  }
  for (const [column, numeric] of COLUMNS) {
    const r = raw(column);
    if (numeric && r !== undefined) checks.push(`WHEN ${r} <> '-' AND TRY_CAST(${r} AS BIGINT) IS NULL THEN 'a number that is none'`);
  }
  oneOf('action', ['ACCEPT', 'REJECT'], 'an action that is neither ACCEPT nor REJECT');
  oneOf('log_status', ['OK', 'NODATA', 'SKIPDATA'], 'a log-status that is none of OK, NODATA, SKIPDATA');
  oneOf('flow_direction', ['ingress', 'egress'], 'a flow-direction that is neither ingress nor egress');
  const malformed = checks.length === 0 ? 'CAST(NULL AS VARCHAR)' : `CASE ${checks.join(' ')} ELSE NULL END`;
  // a line that is no record becomes a group of its own, in the one scan: log_status MALFORMED, its
  // reason as interface_id, its file as srcaddr (the reader counts and names them; Athena's table has none)
  const keep = (column: string): string => {
    if (column === 'interface_id') return `CASE WHEN _malformed IS NULL THEN interface_id ELSE _malformed END AS interface_id`;
    if (column === 'srcaddr') return `CASE WHEN _malformed IS NULL THEN srcaddr ELSE _file END AS srcaddr`;
    if (column === 'log_status') return `CASE WHEN _malformed IS NULL THEN log_status ELSE '${MALFORMED}' END AS log_status`;
    return `CASE WHEN _malformed IS NULL THEN ${quoteName(column)} END AS ${quoteName(column)}`;
  };
  return `SELECT ${COLUMNS.map(([column]) => keep(column)).join(', ')} FROM (SELECT ${cols.join(', ')}, filename AS _file, ${malformed} AS _malformed FROM ${from}) AS rows`;
}

/** The relation `flow_logs` over the inputs (lines that are no record as groups of their own: selectOf): one SELECT per group of files alike, their union. */
export async function flowLogsRelation(inputs: readonly Input[], describe: (sql: string) => Promise<{ name: string; type: string }[]>): Promise<string> {
  const groups = new Map<string, { files: string[]; fields: string[]; header: boolean; gzip: boolean }>();
  const parquet: string[] = [];
  for (const i of inputs) {
    if (i.kind === 'parquet') parquet.push(i.path);
    else if (i.kind === 'text') {
      const f = textFields(i.path, i.gzip);
      const key = `${i.gzip}|${f.header}|${f.fields.join(' ')}`;
      const g = groups.get(key);
      if (g) g.files.push(i.path);
      else groups.set(key, { files: [i.path], ...f, gzip: i.gzip });
    }
  }
  const parts: string[] = [];
  for (const g of groups.values()) {
    const list = `[${g.files.map(quoteString).join(', ')}]`;
    // every value as text, as the log writes it ('-': absent); a line of the wrong width is no record:
    // kept aside (store_rejects) and named
    const from = `read_csv(${list}, delim=' ', quote='', escape='', header=${g.header}, all_varchar=true, compression=${quoteString(g.gzip ? 'gzip' : 'none')}, store_rejects=true, null_padding=false, auto_detect=false, filename=true, columns={${g.fields.map((f) => `${quoteString(f)}: 'VARCHAR'`).join(', ')}})`;
    parts.push(selectOf(from, (column) => (g.fields.includes(fieldOfColumn(column)) ? { name: fieldOfColumn(column), integer: false } : undefined)));
  }
  if (parquet.length > 0) {
    const from = `read_parquet([${parquet.map(quoteString).join(', ')}], union_by_name=true, filename=true)`;
    const have = new Map((await describe(`SELECT * EXCLUDE (filename) FROM ${from}`)).map((c) => [c.name, INTEGER_TYPES.has(c.type)]));
    parts.push(selectOf(from, (column) => (have.has(column) ? { name: column, integer: have.get(column)! } : undefined)));
  }
  return parts.join('\nUNION ALL\n');
}

/**
 * The inputs as local files, those of the time window: S3 objects are fetched (through the SDK, as the
 * stream reads them) into a folder removed when the process ends.
 */
export async function localInputs(inputs: readonly Input[], window: FlowLogWindow): Promise<Input[]> {
  const out: Input[] = [];
  let dir: string | undefined;
  for (const i of inputs) {
    if (i.kind === 'capture') continue;
    if (i.kind !== 's3') {
      if (inWindow(i.path, window.since, window.until)) out.push(i);
      continue;
    }
    const client = await s3Client();
    const objects = await objectsInWindow(client, i, window.since, window.until);
    if (dir === undefined) {
      const made = mkdtempSync(join(tmpdir(), 'aztraffic-flow-logs-'));
      process.once('exit', () => rmSync(made, { recursive: true, force: true }));
      dir = made;
    }
    for (const [n, o] of objects.entries()) {
      const file = join(dir, `${String(n).padStart(8, '0')}-${o.key.replace(/[^A-Za-z0-9._-]/g, '_').slice(-150)}`);
      try {
        await pipeline(await getObject(client, i.bucket, o.key), createWriteStream(file));
      } catch (e) {
        throw new Error(`s3://${i.bucket}/${o.key}: could not be read: ${s3Error(e)}`);
      }
      const d = detect(file);
      if (d.kind === 'none' || d.kind === 'capture') throw new ConfigError(`s3://${i.bucket}/${o.key}: ${d.kind === 'none' ? d.why : 'a capture, not a flow log'}`);
      out.push(d);
    }
  }
  return out;
}

/** Where a gzip file ends early (the line and why), unpacking it to its end; undefined: whole. */
async function gzipCut(path: string): Promise<{ line: number; reason: string } | undefined> {
  let lines = 0;
  try {
    await pipeline(createReadStream(path), createGunzip(), async function (chunks: AsyncIterable<Buffer>) {
      for await (const c of chunks) for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
    });
    return undefined;
  } catch (e) {
    return { line: lines + 1, reason: `${(e as Error).message} (the lines before it were counted)` };
  }
}

/** The aggregate's text columns; the rest are numbers, read back as doubles. */
const TEXT_COLUMNS = new Set(COLUMNS.filter(([, numeric]) => !numeric).map(([column]) => column));

/**
 * Sum the inputs (local files; S3 objects are fetched first) in DuckDB and hand each group on as one
 * record; `done` gets one FlowLogRead for all of them (their records, NODATA, SKIPDATA, REJECT).
 */
export async function readWithDuckdb(inputs: readonly Input[], sink: RecordSink, ids: InterfaceIds, done: (r: FlowLogRead) => void, o: { hourly?: boolean } = {}): Promise<{ sql: string }> {
  let duckdb: typeof import('@duckdb/node-api');
  try {
    duckdb = await import('@duckdb/node-api');
  } catch {
    throw new ConfigError('--flow-logs.engine duckdb: @duckdb/node-api is not installed here (npm install @duckdb/node-api; the container image leaves it out)');
  }
  const instance = await duckdb.DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  const files = inputs.filter((i): i is Input & { path: string } => i.kind === 'text' || i.kind === 'parquet');
  // a FlowLogRead per file, as the stream gives: the sums are over every file at once, so the first
  // file's carries them; each its own malformed lines
  const reads = new Map(files.map((f) => [f.path, new FlowLogRead(f.path)]));
  const read = reads.get(files[0]?.path) ?? new FlowLogRead('no file');
  const sql = aggregateSql({ hourly: o.hourly });
  // DuckDB reads a gzip cut short as far as it goes, unsaid: each is unpacked here too (libuv's threads,
  // beside the query) and one that ends early is said where, as the stream reader says it
  const cuts = files.filter((f) => f.kind === 'text' && f.gzip).map(async (f) => ({ path: f.path, cut: await gzipCut(f.path) }));
  try {
    const relation = await flowLogsRelation(files, async (q) => {
      const r = await con.runAndReadAll(`DESCRIBE ${q}`);
      return r.getRowObjects().map((row) => ({ name: String(row.column_name), type: String(row.column_type) }));
    });
    await con.run(`CREATE TEMP VIEW flow_logs AS ${relation}`);
    // numbers come back as doubles (no BigInt per value); rows as DuckDB makes them, chunk by chunk
    const result = await con.stream(`SELECT ${AGGREGATE_COLUMNS.map((c) => (TEXT_COLUMNS.has(c) ? quoteName(c) : `CAST(${quoteName(c)} AS DOUBLE) AS ${quoteName(c)}`)).join(', ')} FROM (${sql}) AS a`);
    const groups = new GroupCounter(sink, ids, read, (file, why, n) => {
      const r = reads.get(file);
      if (r === undefined) return;
      r.malformed += n;
      if (r.examples.length < 5) r.examples.push(`${n} line(s): ${why}`);
    });
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      const cols = AGGREGATE_COLUMNS.map((_c, i) => chunk.getColumnVector(i));
      for (let k = 0; k < chunk.rowCount; k++) groups.count((i) => cols[i].getItem(k) as string | number | null);
    }
    // what is no record, named per file: lines of the wrong width by number, bad values by reason
    if (files.some((f) => f.kind === 'text')) {
      const widths = await con.runAndReadAll(
        'SELECT DISTINCT s.file_path AS file, e.line AS line FROM reject_errors e JOIN reject_scans s ON e.scan_id = s.scan_id AND e.file_id = s.file_id ORDER BY file, line',
      );
      for (const row of widths.getRowObjects()) reads.get(String(row.file))?.malformedLine(Number(row.line), 'wrong number of fields');
    }
    for (const { path, cut } of await Promise.all(cuts)) {
      if (!cut) continue;
      const r = reads.get(path)!;
      r.stopped = cut;
      // the line the cut went through is no malformed line: the file stops there
      const k = r.examples.indexOf(`line ${cut.line}: wrong number of fields`);
      if (k >= 0) {
        r.examples.splice(k, 1);
        r.malformed--;
      }
    }
  } finally {
    con.closeSync();
    instance.closeSync();
  }
  if (files.length === 0) done(read);
  for (const r of reads.values()) done(r);
  return { sql };
}
