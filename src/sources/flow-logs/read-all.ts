// Every flow-log input in turn (files, folders' files, S3 objects), each read into the sink; what each
// gave (FlowLogRead) is handed to `done` as it ends. The time window picks objects and files by the time
// their keys carry (AWS's layout); records themselves are all counted.
import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../../config/errors.js';
import type { Input } from './inputs.js';
import { isFlowLogParquet, openFlowLogParquet, readFlowLogParquet } from './parquet.js';
import type { InterfaceIds } from './record.js';
import { FlowLogRead, type RecordSink } from './read.js';
import { getObject, inWindow, objectsInWindow, s3Client, s3Error } from './s3.js';
import { Readable } from 'node:stream';
import { fileTextStream, readFlowLogText, textStream } from './text.js';

export interface FlowLogWindow {
  /** Seconds since the epoch; objects whose key time ends before are not read. */
  since?: number;
  until?: number;
}

/** Whether an input is a flow log's (not a capture). */
export const isFlowLogInput = (i: Input): boolean => i.kind !== 'capture';

export async function readFlowLogs(inputs: readonly Input[], sink: RecordSink, ids: InterfaceIds, window: FlowLogWindow, done: (r: FlowLogRead) => void): Promise<void> {
  let client: S3Client | undefined;
  for (const input of inputs) {
    if (input.kind === 'capture') continue;
    if (input.kind === 's3') {
      client ??= await s3Client();
      for (const o of await objectsInWindow(client, input, window.since, window.until)) done(await readObject(client, input.bucket, o.key, sink, ids));
      continue;
    }
    if (!inWindow(input.path, window.since, window.until)) continue;
    if (input.kind === 'text') done(await readFlowLogText(input.path, fileTextStream(input.path, input.gzip), sink, ids));
    else {
      const p = await openFlowLogParquet(input.path, input.path);
      if (!isFlowLogParquet(p.columns)) throw new ConfigError(`${input.path}: a Parquet file without the columns of a VPC flow log (srcaddr, dstaddr, bytes)`);
      done(await readFlowLogParquet(p, input.path, sink, ids));
    }
  }
}

async function readObject(client: S3Client, bucket: string, key: string, sink: RecordSink, ids: InterfaceIds): Promise<FlowLogRead> {
  const name = `s3://${bucket}/${key}`;
  try {
    const body = await getObject(client, bucket, key);
    if (key.endsWith('.parquet')) {
      const bytes = await (body as unknown as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
      const p = await openFlowLogParquet(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, name);
      if (!isFlowLogParquet(p.columns)) return unread(name, 'a Parquet object without the columns of a VPC flow log');
      return await readFlowLogParquet(p, name, sink, ids);
    }
    return await readFlowLogText(name, textStream(body, key.endsWith('.gz')), sink, ids);
  } catch (e) {
    return unread(name, s3Error(e));
  }
}

/** One object's whole body (a running exporter's: fetched before counting, so a failed fetch counts nothing), told apart by its content. */
export async function readFlowLogBytes(name: string, bytes: Buffer, sink: RecordSink, ids: InterfaceIds): Promise<FlowLogRead> {
  if (bytes.length >= 4 && bytes.toString('latin1', 0, 4) === 'PAR1') {
    const p = await openFlowLogParquet(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, name);
    if (!isFlowLogParquet(p.columns)) return unread(name, 'a Parquet object without the columns of a VPC flow log');
    return readFlowLogParquet(p, name, sink, ids);
  }
  return readFlowLogText(name, textStream(Readable.from([bytes]), bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b), sink, ids);
}

export function unread(name: string, reason: string): FlowLogRead {
  const r = new FlowLogRead(name);
  r.stopped = { line: 0, reason };
  return r;
}
