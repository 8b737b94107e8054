// Parquet files read row by row from their decoded columns, in slices of rows within bounded memory:
// no object per row (a month's CUR or an hour of flow logs holds millions of rows in one row group),
// and only the pages a slice touches are decoded. hyparquet does the decoding.
import type { AsyncBuffer, ColumnMetaData, FileMetaData } from 'hyparquet';
import { ConfigError } from '../config/errors.js';

/** Rows of a slice, at least: its pages' decoded values are what reading holds. */
const ROWS_AT_ONCE = 65_536;
/**
 * Values of one page, at most: a page is decoded whole, and a slice may hold two of each column's
 * (7 columns of 2 × 2 M values of 8 bytes: ~220 MB at most). Writers page by ~1 MB or 20,000 rows.
 * (25 M identical rows in a 32 KB file took 4.7 GB before this bound.)
 */
const MAX_PAGE_VALUES = 2_000_000;

export interface ParquetFile {
  file: AsyncBuffer;
  meta: FileMetaData;
  /** Top-level column names, in the schema's order. */
  columns: string[];
}

/** Open a Parquet file and read its footer; `what` names it in the error (a ConfigError) where it is none. */
export async function openParquet(path: string, what: string): Promise<ParquetFile> {
  const { asyncBufferFromFile, parquetMetadataAsync } = await import('hyparquet');
  try {
    const file = await asyncBufferFromFile(path);
    const meta = await parquetMetadataAsync(file);
    return { file, meta, columns: meta.schema.slice(1).map((s) => s.name) };
  } catch (e) {
    throw new ConfigError(`${what}: not a readable Parquet file (${(e as Error).message})`);
  }
}

/**
 * Visit every row: `row[i]` is the value of `columns[i]` (undefined where the file has no such column).
 * `row` is one array, refilled for each row. `kind` names what the file should be, for the error about
 * a page too large to be one.
 */
export async function forEachParquetRow(p: ParquetFile, columns: readonly string[], what: string, kind: string, visit: (row: unknown[]) => void): Promise<void> {
  const { parquetRead } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  const present = columns.filter((c) => p.columns.includes(c));
  const row: unknown[] = new Array<unknown>(columns.length).fill(undefined);
  let groupStart = 0;
  for (const [gi, g] of p.meta.row_groups.entries()) {
    let largest = 0;
    for (const c of g.columns) {
      const name = c.meta_data?.path_in_schema[0];
      if (!c.meta_data || name === undefined || !present.includes(name)) continue;
      const pageValues = await largestPage(p.file, c.meta_data);
      if (pageValues > MAX_PAGE_VALUES) {
        throw new ConfigError(`${what}: row group ${gi}, column ${name}: a page of ${pageValues.toLocaleString('en-US')} values (at most ${MAX_PAGE_VALUES.toLocaleString('en-US')} are read): not ${kind}`);
      }
      largest = Math.max(largest, pageValues);
    }
    const groupEnd = groupStart + Number(g.num_rows);
    const sliceRows = Math.max(ROWS_AT_ONCE, largest);
    for (let sliceStart = groupStart; sliceStart < groupEnd; sliceStart += sliceRows) {
      const sliceEnd = Math.min(sliceStart + sliceRows, groupEnd);
      // each column's decoded pages (whole pages: they may begin before the slice and end after it)
      const chunks = new Map<string, { rowStart: number; rowEnd: number; data: ArrayLike<unknown> }[]>();
      await parquetRead({
        file: p.file,
        metadata: p.meta,
        columns: present,
        rowStart: sliceStart,
        rowEnd: sliceEnd,
        compressors,
        onChunk: (c) => {
          let list = chunks.get(c.columnName);
          if (!list) chunks.set(c.columnName, (list = []));
          list.push({ rowStart: c.rowStart, rowEnd: c.rowEnd, data: c.columnData });
        },
      });
      const cursors = columns.map((name) => ({ list: (chunks.get(name) ?? []).sort((a, b) => a.rowStart - b.rowStart), i: 0 }));
      for (let r = sliceStart; r < sliceEnd; r++) {
        for (let k = 0; k < cursors.length; k++) {
          const cur = cursors[k];
          while (cur.i < cur.list.length && cur.list[cur.i].rowEnd <= r) cur.i++;
          const chunk = cur.list[cur.i];
          row[k] = chunk !== undefined && chunk.rowStart <= r ? chunk.data[r - chunk.rowStart] : undefined;
        }
        visit(row);
      }
    }
    groupStart = groupEnd;
  }
}

/** The most values any page of a column chunk holds, from its page headers alone (nothing decoded). */
async function largestPage(file: AsyncBuffer, chunk: ColumnMetaData): Promise<number> {
  const { parquetHeader } = await import('hyparquet/src/column.js');
  const start = Number(chunk.dictionary_page_offset ?? chunk.data_page_offset);
  const bytes = await file.slice(start, start + Number(chunk.total_compressed_size));
  const reader = { view: new DataView(bytes), offset: 0 };
  let largest = 0;
  while (reader.offset < bytes.byteLength - 1) {
    const h = parquetHeader(reader);
    const values = h.data_page_header?.num_values ?? h.data_page_header_v2?.num_values ?? 0;
    if (values > largest) largest = values;
    reader.offset += h.compressed_page_size;
  }
  return largest;
}
