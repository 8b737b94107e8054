// VPC Flow Logs in the Parquet delivery option: the same fields as columns (`interface_id`), read row by
// row from the decoded columns (parquet-rows.ts).
import type { AsyncBuffer } from 'hyparquet';
import { forEachParquetRow, openParquet, type ParquetFile } from '../parquet-rows.js';
import { fieldKinds, fieldOfColumn, MALFORMED, parseCell } from './fields.js';
import { FlowRecord, type InterfaceIds } from './record.js';
import { FlowLogRead, type RecordSink } from './read.js';

/** Whether a Parquet file's columns are a flow log's. */
export const isFlowLogParquet = (columns: readonly string[]): boolean => ['srcaddr', 'dstaddr', 'bytes'].every((c) => columns.includes(c));

/** Open a flow log's Parquet file (a path, or an object's bytes). */
export async function openFlowLogParquet(source: string | ArrayBuffer, name: string): Promise<ParquetFile> {
  if (typeof source === 'string') return openParquet(source, name);
  const { parquetMetadataAsync } = await import('hyparquet');
  const file: AsyncBuffer = { byteLength: source.byteLength, slice: (s, e) => source.slice(s, e) };
  const meta = await parquetMetadataAsync(file);
  return { file, meta, columns: meta.schema.slice(1).map((s) => s.name) };
}

export async function readFlowLogParquet(p: ParquetFile, name: string, sink: RecordSink, ids: InterfaceIds): Promise<FlowLogRead> {
  const res = new FlowLogRead(name);
  const fields = p.columns.map(fieldOfColumn);
  res.fields = fields;
  const kinds = fieldKinds(fields);
  const read = p.columns.filter((_c, i) => kinds[i] !== 0);
  const readKinds = Uint8Array.from(read, (c) => kinds[p.columns.indexOf(c)]);
  const rec = new FlowRecord();
  let row = 0;
  try {
    await forEachParquetRow(p, read, name, 'a VPC flow log', (cells) => {
      row++;
      rec.reset();
      for (let k = 0; k < readKinds.length; k++) {
        const bad = parseCell(cells[k], readKinds[k], rec, ids);
        if (bad !== 0) return res.malformedLine(row, `${read[k]}: ${MALFORMED[bad]}`);
      }
      res.take(rec, sink);
    });
  } catch (e) {
    res.stopped = { line: row + 1, reason: (e as Error).message };
  }
  res.lines = row;
  return res;
}
