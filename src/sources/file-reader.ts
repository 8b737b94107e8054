// Our own pcap and pcapng reader (cap reads live only): which format a file is, and reading it whole or
// in parts (parallel reading). The formats are pcap.ts and pcapng.ts; chunks.ts reads into one reused
// buffer and hands each frame to the sink as (buffer, offset, length): no per-packet allocation, memory
// bounded by the chunk size whatever the file size.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { readU32 } from '../net/bytes.js';
import { CHUNK, Chunks, LOOK_CHUNK, type ReadResult, type Split } from './chunks.js';
import type { FrameSink } from './frame-sink.js';
import { isPcapMagic, PCAP_HEADER_BYTES, pcapHeader, pcapRecordEnd, pcapRecords, type PcapHeader } from './pcap.js';
import { idbInterface, isPacketBlock, PCAPNG_SHB, pcapngBlockEnd, readPcapng, sectionLittleEndian, type PcapngHead } from './pcapng.js';
import { READ_AHEAD_BYTES } from './read-ahead.js';

export type { FrameSink, PcapHeader, PcapngHead, ReadResult, Split };
export { CHUNK, READ_AHEAD_BYTES };

/** Read a whole pcap or pcapng file into the sink. Throws ConfigError for a file that is neither. */
export function readCaptureFile(path: string, sink: FrameSink, maxFrames = Infinity, readAheadBytes = READ_AHEAD_BYTES, split?: Split): ReadResult {
  // a look at the first frames (a check, a guess of the local address) is not worth a thread
  const whole = maxFrames === Infinity;
  const c = new Chunks(path, whole ? readAheadBytes : Infinity, whole ? CHUNK : LOOK_CHUNK);
  try {
    if (!c.ensure(4)) throw new ConfigError(`${path}: empty file, not a pcap or pcapng capture`);
    const be = c.buf.readUInt32BE(c.start);
    if (be === PCAPNG_SHB) return readPcapng(c, sink, maxFrames, split);
    if (isPcapMagic(c.buf, c.start)) {
      if (!c.ensure(PCAP_HEADER_BYTES)) throw new ConfigError(`${c.path}: pcap header cut short`);
      const header = pcapHeader(c.buf, c.start);
      c.start += PCAP_HEADER_BYTES;
      return pcapRecords(c, sink, header, maxFrames, split);
    }
    throw new ConfigError(`${path}: not a pcap or pcapng capture (magic 0x${be.toString(16).padStart(8, '0')})`);
  } finally {
    c.close();
  }
}

// Reading a file from inside it: where its records start, and a part of them (parallel reading).

/**
 * How to read a part of a file from inside it: a classic pcap file's header (and its first record's
 * time, seconds, for findRecordStart), or a pcapng file's head.
 */
export type PartFormat = { kind: 'pcap'; header: PcapHeader; firstSeconds: number } | { kind: 'pcapng'; head: PcapngHead };

/** Record headers in a row that must look right before an offset is taken for a record's start. */
const SYNC_RECORDS = 16;

/**
 * A record's start after `near`, found as tcpdump's and Wireshark's readers never need to: a chain of
 * SYNC_RECORDS records that hold together (or that reaches the file's end), its last record, since a
 * chain that starts inside a packet and merges into the file's own is right from the merge on. Records
 * start at multiples of `align` in the file; `next(b, h, end)` is where the record at `h` ends if it
 * looks right, else -1. A guess: whoever reads up to it checks that the records before it end exactly
 * there (Split.join), else it is not used.
 */
function findChain(path: string, near: number, window: number, align: number, next: (b: Buffer, h: number, end: number) => number): number | undefined {
  const c = new Chunks(path, Infinity, window, near);
  try {
    c.ensure(window);
    const b = c.buf;
    const end = c.end;
    for (let at = c.start + ((align - ((c.base + c.start) % align)) % align); at < end; at += align) {
      let h = at;
      let last = at;
      let n = 0;
      for (let e = next(b, h, end); n < SYNC_RECORDS && e >= 0; e = next(b, h, end)) {
        last = h;
        h = e;
        n++;
      }
      if (n === SYNC_RECORDS || (c.eof && h === end && n > 0)) return c.base + last;
    }
    return undefined;
  } finally {
    c.close();
  }
}

/**
 * A record's start after `near` (findChain). Classic pcap: record headers whose lengths are within the
 * snap length and whose times are within a year of the first record's; pcapng: blocks of known types
 * whose lengths are repeated at their ends.
 */
export function findRecordStart(path: string, format: PartFormat, near: number, window = 256 << 10): number | undefined {
  if (format.kind === 'pcapng') return findChain(path, near, window, 4, pcapngBlockEnd(format.head.le));
  return findChain(path, near, window, 1, pcapRecordEnd(format.header, format.firstSeconds));
}

/**
 * Read the records (blocks) of a capture file from `from` (a record's start) to `to` (one too, or the
 * file's end): a worker's part. Returns where its records ended (`to`, unless `to` is not a record's
 * start), and whether a pcapng part held a section or interface block. Each read adds one to `reads[0]`;
 * `buffer` (CHUNK bytes, grown for a longer record) is read into.
 */
export function readPartRange(
  path: string,
  sink: FrameSink,
  format: PartFormat,
  from: number,
  to: number,
  reads?: Int32Array,
  buffer: Buffer = Buffer.allocUnsafe(CHUNK),
): ReadResult & { end: number; restructured: boolean } {
  const c = new Chunks(path, Infinity, CHUNK, from, reads, buffer);
  let end = -1;
  const split: Split = { at: to, join: (offset) => ((end = offset), { frames: 0, corruptRecords: 0, corruptBytes: 0 }) };
  try {
    const r = format.kind === 'pcap' ? pcapRecords(c, sink, format.header, Infinity, split) : readPcapng(c, sink, Infinity, split, format.head);
    return { ...r, end: end >= 0 ? end : c.offset, restructured: split.restructured === true };
  } finally {
    c.close();
  }
}

/**
 * How a capture file is read from inside it (PartFormat), where its first packet record is, and its
 * size: from its first MiB (a pcapng head must end there); undefined for a file that is no capture, or
 * not a regular file (a pipe's bytes would be gone for the reading that follows).
 */
export function peekCapture(path: string): { format: PartFormat; first: number; size: number } | undefined {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const b = Buffer.allocUnsafe(Math.min(st.size, 1 << 20));
    const n = readSync(fd, b, 0, b.length, 0);
    if (n >= PCAP_HEADER_BYTES + 16 && isPcapMagic(b, 0)) {
      const header = pcapHeader(b, 0);
      return { format: { kind: 'pcap', header, firstSeconds: readU32(b, PCAP_HEADER_BYTES, header.le) }, first: PCAP_HEADER_BYTES, size: st.size };
    }
    if (n < 12 || b.readUInt32BE(0) !== PCAPNG_SHB) return undefined;
    let le: boolean | undefined = true;
    let interfaces: PcapngHead['interfaces'] = [];
    for (let o = 0; o + 12 <= n; ) {
      if (b.readUInt32BE(o) === PCAPNG_SHB) {
        le = sectionLittleEndian(b, o);
        if (le === undefined) return undefined;
        interfaces = [];
      }
      const type = readU32(b, o, le);
      const len = readU32(b, o + 4, le);
      if (len < 12 || len % 4 !== 0 || o + len > n || readU32(b, o + len - 4, le) !== len) return undefined;
      if (isPacketBlock(type)) return { format: { kind: 'pcapng', head: { le, interfaces } }, first: o, size: st.size };
      if (type === 1) interfaces.push(idbInterface(b, o, len, le, interfaces.length));
      o += len;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
