// What analyze is given, told apart by content (never by name): pcap and pcapng captures, flow-log text
// (plain or gzip) and Parquet files, folders of any of them (AWS's key layout, Hive partitions), and
// s3://BUCKET/PREFIX. A named file that is none of these is one clear error; inside a folder it is
// skipped and said.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { ConfigError } from '../../config/errors.js';
import { isPcapMagic } from '../pcap.js';
import { PCAPNG_SHB } from '../pcapng.js';
import { DEFAULT_FIELDS, fieldKinds, headerFields, parseFields } from './fields.js';
import { FlowRecord, InterfaceIds } from './record.js';

export type Input =
  | { kind: 'capture'; path: string }
  | { kind: 'text'; path: string; gzip: boolean }
  | { kind: 'parquet'; path: string }
  | { kind: 's3'; url: string; bucket: string; prefix: string };

const HEAD = 64 * 1024;

/** What a file is, by its first bytes; a reason where it is none of what analyze reads. */
export function detect(path: string): Input | { kind: 'none'; why: string } {
  const head = Buffer.alloc(HEAD);
  let n: number;
  const fd = openSync(path, 'r');
  try {
    n = readSync(fd, head, 0, HEAD, 0);
  } finally {
    closeSync(fd);
  }
  const b = head.subarray(0, n);
  if (n === 0) return { kind: 'none', why: 'empty file' };
  if ((n >= 4 && b.readUInt32BE(0) === PCAPNG_SHB) || (n >= 4 && isPcapMagic(b, 0))) return { kind: 'capture', path };
  if (n >= 4 && b.toString('latin1', 0, 4) === 'PAR1') return { kind: 'parquet', path };
  if (n >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
    let text: Buffer;
    try {
      text = gunzipSync(b, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch (e) {
      return { kind: 'none', why: `gzip that does not unpack (${(e as Error).message})` };
    }
    const why = notFlowLogText(text);
    return why === undefined ? { kind: 'text', path, gzip: true } : { kind: 'none', why: `gzip of ${why}` };
  }
  const why = notFlowLogText(b);
  return why === undefined ? { kind: 'text', path, gzip: false } : { kind: 'none', why };
}

/** Why text is not a flow log (its first line is neither a header of flow-log fields nor a default-format record), or undefined. */
function notFlowLogText(b: Buffer): string | undefined {
  let end = b.indexOf(10);
  if (end < 0) end = b.length;
  const first = b.toString('latin1', 0, end).replace(/\r$/, '');
  if (headerFields(first) !== undefined) return undefined;
  const kinds = fieldKinds(DEFAULT_FIELDS);
  if (parseFields(b, 0, Buffer.byteLength(first, 'latin1'), kinds, new FlowRecord(), new InterfaceIds()) === 0) return undefined;
  const shown = first.slice(0, 60).replace(/[^\x20-\x7e]/g, '.');
  return `neither a pcap/pcapng capture nor a VPC flow log (its first line, "${shown}${first.length > 60 ? '…' : ''}", is no header of flow-log fields nor a default-format record)`;
}

/** An s3:// URL as bucket and prefix. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new ConfigError(`${url}: not an S3 location (s3://BUCKET/PREFIX)`);
  return { bucket: m[1], prefix: m[2] ?? '' };
}

/** Every input the arguments name, in order (a folder's files sorted by path); said: files skipped in folders. */
export function expandInputs(args: readonly string[], skipped: (path: string, why: string) => void): Input[] {
  const out: Input[] = [];
  for (const a of args) {
    if (a.startsWith('s3://')) {
      out.push({ kind: 's3', url: a, ...parseS3Url(a) });
      continue;
    }
    let st;
    try {
      st = statSync(a);
    } catch (e) {
      throw new ConfigError(`${a}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message}`);
    }
    if (st.isDirectory()) {
      for (const f of walk(a)) {
        const d = detect(f);
        if (d.kind === 'none') skipped(f, d.why);
        else out.push(d);
      }
      continue;
    }
    const d = detect(a);
    if (d.kind === 'none') throw new ConfigError(`${a}: ${d.why}`);
    out.push(d);
  }
  return out;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((x, y) => (x.name < y.name ? -1 : 1))) {
    // hidden files and Spark/Hive markers (_SUCCESS, .crc) are no data
    if (e.name.startsWith('.') || e.name.startsWith('_')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}
