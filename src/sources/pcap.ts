// Classic pcap (libpcap's format): a 24-byte file header, then records of a 16-byte header and the
// captured bytes, in either byte order, in micro- or nanoseconds.
import { readU32, readU32BE, readU32LE } from '../net/bytes.js';
import { KEEP_BYTES, MAX_RECORD, stoppedAt, stoppedFrom, type Chunks, type ReadResult, type Split } from './chunks.js';
import type { FrameSink } from './frame-sink.js';

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
export const PCAP_HEADER_BYTES = 24;

/** Whether a classic pcap file's magic (either byte order, micro- or nanoseconds) starts at `o`. */
export function isPcapMagic(b: Buffer, o: number): boolean {
  const be = b.readUInt32BE(o);
  const le = b.readUInt32LE(o);
  return be === PCAP_US || le === PCAP_US || be === PCAP_NS || le === PCAP_NS;
}

/** What reading the records of a classic pcap file needs from its header. */
export interface PcapHeader {
  le: boolean;
  nanoseconds: boolean;
  linkType: number;
  snapLen: number;
}

export function pcapHeader(b: Buffer, o: number): PcapHeader {
  const le = b.readUInt32LE(o) === PCAP_US || b.readUInt32LE(o) === PCAP_NS;
  // the upper 16 bits of the link type may carry an FCS length
  return { le, nanoseconds: readU32(b, o, le) === PCAP_NS, linkType: readU32(b, o + 20, le) & 0xffff, snapLen: readU32(b, o + 16, le) };
}

/** The records from the reader's position to the end (or `maxFrames`, or a split's hand-over). */
export function pcapRecords(c: Chunks, sink: FrameSink, header: PcapHeader, maxFrames: number, split?: Split): ReadResult {
  const { le, linkType } = header;
  const fracScale = header.nanoseconds ? 1e-9 : 1e-6;
  const iface = sink.addInterface('if0', linkType);
  let frames = 0;
  const rd = le ? readU32LE : readU32BE;
  let stopped: ReadResult['stopped'];
  let splitAt = split ? split.at : Infinity;
  let kept: Buffer | undefined;
  // outer loop: make the next whole record available; inner loop: every whole record in the buffer,
  // with the buffer and positions in locals (the per-record cost is what bounds analyze's speed)
  while (frames < maxFrames && c.ensure(16)) {
    const capNext = rd(c.buf, c.start + 8);
    if (capNext > MAX_RECORD) {
      stopped = stoppedAt(c, `record length ${capNext} is no capture's (corrupt file)`);
      break;
    }
    if (capNext > KEEP_BYTES && c.offset < splitAt) {
      // a record longer than any snaplen: its first KEEP_BYTES are counted, the rest passed over
      // (kept aside while the rest streams by: a record cut short is not counted, as any other)
      const at = c.offset;
      if (!c.ensure(16 + KEEP_BYTES)) break;
      const wireLen = rd(c.buf, c.start + 12);
      const ts = rd(c.buf, c.start) + rd(c.buf, c.start + 4) * fracScale;
      kept ??= Buffer.allocUnsafe(KEEP_BYTES);
      c.buf.copy(kept, 0, c.start + 16, c.start + 16 + KEEP_BYTES);
      c.start += 16 + KEEP_BYTES;
      if (!c.skip(capNext - KEEP_BYTES)) {
        stopped = stoppedFrom(c, at, 'last record cut short (the capture ended mid-write?)');
        break;
      }
      sink.frame(linkType, kept, 0, KEEP_BYTES, wireLen < capNext ? capNext : wireLen, ts, iface);
      frames++;
      continue;
    }
    if (!c.ensure(16 + capNext)) break;
    const b = c.buf;
    const end = c.end;
    const stop = splitAt - c.base;
    let h = c.start;
    while (frames < maxFrames && h + 16 <= end && h < stop) {
      const capLen = rd(b, h + 8);
      if (capLen > MAX_RECORD || h + 16 + capLen > end) break;
      const wireLen = rd(b, h + 12);
      // whole in the buffer or not, a record is counted from its first KEEP_BYTES at most
      sink.frame(linkType, b, h + 16, capLen > KEEP_BYTES ? KEEP_BYTES : capLen, wireLen < capLen ? capLen : wireLen, rd(b, h) + rd(b, h + 4) * fracScale, iface);
      frames++;
      h += 16 + capLen;
    }
    c.start = h;
    if (h >= stop) {
      const rest = split!.join(c.offset);
      if (rest) return { format: 'pcap', frames: frames + rest.frames, corruptRecords: rest.corruptRecords, corruptBytes: rest.corruptBytes };
      splitAt = split!.at;
    }
  }
  if (!stopped && frames < maxFrames && c.end > c.start) stopped = stoppedAt(c, 'last record cut short (the capture ended mid-write?)');
  return { format: 'pcap', frames, corruptRecords: 0, corruptBytes: 0, stopped };
}

/**
 * Where the record at `h` ends if it looks like one of this file's (its length within the snap length,
 * its time within a year of the first record's), else -1: a link of findRecordStart's chain.
 */
export function pcapRecordEnd(header: PcapHeader, firstSeconds: number): (b: Buffer, h: number, end: number) => number {
  const rd = header.le ? readU32LE : readU32BE;
  const fracMax = header.nanoseconds ? 1e9 : 1e6;
  const maxCap = header.snapLen > 0 && header.snapLen <= MAX_RECORD ? header.snapLen : MAX_RECORD;
  const YEAR = 366 * 86400;
  return (b, h, end) => {
    if (h + 16 > end) return -1;
    const capLen = rd(b, h + 8);
    const ok = capLen <= maxCap && rd(b, h + 12) >= capLen && rd(b, h + 4) < fracMax && Math.abs(rd(b, h) - firstSeconds) <= YEAR;
    return ok ? h + 16 + capLen : -1;
  };
}
