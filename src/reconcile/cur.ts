// Reading AWS Cost and Usage Report exports: CUR 2.0 (Data Exports) Parquet, the legacy CUR's CSV or
// CSV.gz (column names `lineItem/UsageType`) or Parquet (Athena names `line_item_usage_type`), and Data
// Exports' FOCUS 1.0 (`x_UsageType`, `ConsumedQuantity`, `BilledCost`, `ChargeCategory`, …), any of them.
// Only the columns reconciliation needs are read; Parquet in slices of rows, within bounded memory.
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { ConfigError } from '../config/errors.js';
import { controlsShown } from '../net/text.js';
import { forEachParquetRow, openParquet } from '../sources/parquet-rows.js';

/** One line item, as far as reconciliation goes. */
export interface CurLine {
  usageType: string;
  /** line_item_usage_amount: GB for the *-Bytes usage types */
  amount: number;
  /** usage start, ms since the epoch; NaN where the file has none */
  start: number;
  /** unblended cost in the bill's currency, NaN where not given */
  cost: number;
  unit: string;
  /** line_item_line_item_type (Usage, Tax, Credit, …); '' where not given */
  itemType: string;
  /** line_item_product_code (AmazonEC2, AmazonCloudFront, …); '' where not given */
  product: string;
  /** the usage account (12 digits); '' where not given */
  account: string;
  /** the region code (us-east-1); '' where not given or global */
  region: string;
  /** line_item_resource_id: an instance, ENI, NAT gateway (id or ARN), bucket…; '' where none */
  resource: string;
  /** the public on-demand (list) cost, before any discount; NaN where not given */
  listCost: number;
}

// the same field under CUR 2.0 / Athena names and the legacy CSV names
// (and FOCUS 1.0's, last)
const COLUMNS = {
  usageType: ['line_item_usage_type', 'lineItem/UsageType', 'x_UsageType'],
  amount: ['line_item_usage_amount', 'lineItem/UsageAmount', 'ConsumedQuantity'],
  start: ['line_item_usage_start_date', 'lineItem/UsageStartDate', 'ChargePeriodStart'],
  cost: ['line_item_unblended_cost', 'lineItem/UnblendedCost', 'BilledCost'],
  unit: ['pricing_unit', 'pricing/unit', 'ConsumedUnit'],
  itemType: ['line_item_line_item_type', 'lineItem/LineItemType', 'ChargeCategory'],
  product: ['line_item_product_code', 'lineItem/ProductCode', 'x_ServiceCode'],
  account: ['line_item_usage_account_id', 'lineItem/UsageAccountId', 'SubAccountId'],
  region: ['product_region_code', 'product/regionCode', 'RegionId'],
  resource: ['line_item_resource_id', 'lineItem/ResourceId', 'ResourceId'],
  listCost: ['pricing_public_on_demand_cost', 'pricing/publicOnDemandCost', 'ListCost'],
} as const;

/** FOCUS's ChargeCategory in the CUR's line item types: what is usage, what is tax or a credit. */
const FOCUS_CATEGORY: Record<string, string> = { Usage: 'Usage', Tax: 'Tax', Credit: 'Credit', Adjustment: 'Adjustment', Purchase: 'Purchase' };

type Field = keyof typeof COLUMNS;

function pick(names: readonly string[], file: string): Record<Field, string | undefined> {
  const have = new Set(names);
  const out = Object.fromEntries(Object.entries(COLUMNS).map(([field, candidates]) => [field, candidates.find((c) => have.has(c))])) as Record<Field, string | undefined>;
  if (!out.usageType || !out.amount) {
    throw new ConfigError(`--cur ${file}: no line_item_usage_type / line_item_usage_amount (or FOCUS x_UsageType / ConsumedQuantity) columns: not a Cost and Usage Report or FOCUS export`);
  }
  return out;
}

/** Milliseconds of an epoch time stored as a bare integer, whose unit only its size tells (s, ms, µs, ns). */
function epochMs(n: number): number {
  const a = Math.abs(n);
  return a < 1e11 ? n * 1000 : a < 1e14 ? n : a < 1e17 ? n / 1e3 : n / 1e6;
}

function toTime(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  // a date column written as INT64 without a timestamp type: its unit from its size
  if (typeof v === 'bigint') return epochMs(Number(v));
  if (typeof v === 'number') return epochMs(v);
  if (typeof v === 'string' && v !== '') return Date.parse(v);
  return NaN;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

function line(row: Record<string, unknown>, cols: Record<Field, string | undefined>): CurLine {
  const get = (f: Field): unknown => (cols[f] === undefined ? undefined : row[cols[f]]);
  const text = (f: Field): string => {
    const v = get(f);
    return v === undefined || v === null ? '' : String(v);
  };
  const itemType = text('itemType');
  return {
    usageType: text('usageType'),
    amount: toNumber(get('amount')),
    start: toTime(get('start')),
    cost: toNumber(get('cost')),
    unit: text('unit'),
    itemType: cols.itemType === 'ChargeCategory' ? (FOCUS_CATEGORY[itemType] ?? itemType) : itemType,
    product: text('product'),
    account: text('account'),
    region: text('region'),
    resource: text('resource'),
    listCost: toNumber(get('listCost')),
  };
}

function magic(path: string): Buffer {
  let fd: number;
  try {
    // a FIFO would hold the open until something writes to it; a directory has no bytes
    const st = statSync(path);
    if (!st.isFile()) throw new ConfigError(`--cur ${path}: ${st.isDirectory() ? 'a directory' : 'not a regular file'}, not a CUR export`);
    fd = openSync(path, 'r');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`--cur ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  try {
    const b = Buffer.alloc(512);
    const n = readSync(fd, b, 0, 512, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Every line item of a CUR file (Parquet, CSV or gzip'd CSV, told by its first bytes). */
export async function readCur(path: string, visit: (l: CurLine) => void): Promise<void> {
  const head = magic(path);
  if (head.subarray(0, 4).toString('latin1') === 'PAR1') return readParquet(path, visit);
  const gzipped = head[0] === 0x1f && head[1] === 0x8b;
  // a CSV starts with its header's text: a NUL or other control byte there is some other file (a
  // capture, an image) whose bytes must not reach the terminal through the parser's error
  if (!gzipped && head.some((b) => b < 0x09 || (b > 0x0d && b < 0x20))) {
    throw new ConfigError(`--cur ${path}: binary data, not a CUR export (CUR 2.0 Parquet, or legacy CSV or CSV.gz)`);
  }
  return readCsv(path, gzipped, visit);
}

/** A parser's message made safe for one line of a terminal: no control bytes, no long quoted values. */
function printable(message: string): string {
  // csv-parse quotes the offending value, JSON-escaped: the field's name and line say where
  const clean = controlsShown(message.replace(/, value is ".*$/s, '')).replace(/\ufffd/g, '?');
  return clean.length > 200 ? clean.slice(0, 200) + '…' : clean;
}

async function readParquet(path: string, visit: (l: CurLine) => void): Promise<void> {
  const p = await openParquet(path, `--cur ${path}`);
  const cols = pick(p.columns, path);
  const names = Object.values(cols).filter((c): c is string => c !== undefined);
  const record: Record<string, unknown> = {};
  await forEachParquetRow(p, names, `--cur ${path}`, 'a Cost and Usage Report export', (row) => {
    for (let k = 0; k < names.length; k++) record[names[k]] = row[k];
    // usage types are names: a column of numbers is no bill's (every line would be dropped unseen)
    const ut = record[cols.usageType!];
    if (ut !== undefined && ut !== null && typeof ut !== 'string') {
      throw new ConfigError(`--cur ${path}: ${cols.usageType} holds ${typeof ut === 'bigint' ? 'integer' : typeof ut}s, not usage type names: not a Cost and Usage Report export`);
    }
    visit(line(record, cols));
  });
}

const MAX_CSV_RECORD = 1 << 20;

async function readCsv(path: string, gzipped: boolean, visit: (l: CurLine) => void): Promise<void> {
  let cols: Record<Field, string | undefined> | undefined;
  // a CUR line is a few kilobytes: a field of a mebibyte or more is no bill's (a 1.5 GiB one crashed the
  // parser's string building)
  const parser = parse({ columns: true, skip_empty_lines: true, relax_column_count: true, bom: true, max_record_size: MAX_CSV_RECORD });
  const source = createReadStream(path);
  // pipeline, not pipe: a corrupt gzip stream must end the parse with its error, not leave it waiting
  const done = (): void => undefined;
  if (gzipped) pipeline(source, createGunzip(), parser, done);
  else pipeline(source, parser, done);
  try {
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      cols ??= pick(Object.keys(row), path);
      visit(line(row, cols));
    }
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`--cur ${path}: not a readable CUR CSV${gzipped ? '.gz' : ''} (${printable((e as Error).message)})`);
  }
}
