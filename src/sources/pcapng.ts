// pcapng: sections of blocks, each block its type, its length, its body and its length again. One
// function per block type (section header, interface description, enhanced, simple and obsolete packet,
// interface statistics); others (name resolution, custom, ...) carry nothing we count.
import { ConfigError } from '../config/errors.js';
import { readU16, readU32, readU32BE, readU32LE, readU64 } from '../net/bytes.js';
import { controlsShown } from '../net/text.js';
import { KEEP_BYTES, MAX_RECORD, stoppedAt, stoppedFrom, type Chunks, type ReadResult, type Split } from './chunks.js';
import type { FrameSink } from './frame-sink.js';

export const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const SECTION_HEADER = PCAPNG_SHB;
const INTERFACE_DESCRIPTION = 1;
const OBSOLETE_PACKET = 2;
const SIMPLE_PACKET = 3;
const INTERFACE_STATISTICS = 5;
const ENHANCED_PACKET = 6;

/**
 * Block types of the pcapng specification and of the writers in use (interface, packet, name resolution,
 * statistics, systemd journal, decryption secrets, custom, section, Apple's process information): a
 * chain of blocks of other types is not taken for a place to cut a file (a wrong one would only cost the
 * parallel reading, which checks every cut, but payloads can hold such chains).
 */
const BLOCK_TYPES = new Set([1, 2, 3, 4, 5, 6, 9, 10, 0xbad, 0x40000bad, PCAPNG_SHB, 0x80000001]);

/** Blocks that carry packets. */
export const isPacketBlock = (type: number): boolean => type === ENHANCED_PACKET || type === OBSOLETE_PACKET || type === SIMPLE_PACKET;

/** The byte order of the pcapng section whose header block starts at `o`: little-endian or not; undefined if its magic is neither. */
export function sectionLittleEndian(b: Buffer, o: number): boolean | undefined {
  if (b.readUInt32LE(o + 8) === BYTE_ORDER_MAGIC) return true;
  if (b.readUInt32BE(o + 8) === BYTE_ORDER_MAGIC) return false;
  return undefined;
}

/** What reading a pcapng file from inside it needs: the byte order and interfaces of its head. */
export interface PcapngHead {
  le: boolean;
  /** The interfaces described before the first packet block. */
  interfaces: { name: string; linkType: number; snapLen: number; tsScale: number }[];
}

interface NgInterface {
  linkType: number;
  snapLen: number;
  tsScale: number; // seconds per timestamp unit
  sinkIndex: number;
}

/** An Interface Description Block's interface: link type, snap length, time resolution and name. */
export function idbInterface(b: Buffer, o: number, len: number, le: boolean, index: number): PcapngHead['interfaces'][number] {
  const iface = { name: `if${index}`, linkType: readU16(b, o + 8, le), snapLen: readU32(b, o + 12, le), tsScale: 1e-6 };
  forEachOption(b, o + 16, o + len - 4, le, (code, vo, vl) => {
    if (code === 2 && vl > 0) iface.name = interfaceName(b.toString('utf8', vo, vo + vl)) || iface.name;
    if (code === 9 && vl >= 1) {
      const r = b[vo];
      iface.tsScale = r & 0x80 ? 2 ** -(r & 0x7f) : 10 ** -(r & 0x7f);
    }
  });
  return iface;
}

/**
 * A name from a file, as it may be shown: in a terminal (an escape sequence would set its title or clear
 * it), a label, a page. Control characters become "?", trailing NULs go, at most 64 characters.
 */
export function interfaceName(raw: string): string {
  return controlsShown(raw.replace(/\0+$/, '')).slice(0, 64);
}

function forEachOption(b: Buffer, o: number, end: number, le: boolean, visit: (code: number, valueOff: number, valueLen: number) => void): void {
  while (o + 4 <= end) {
    const code = readU16(b, o, le);
    const vl = readU16(b, o + 2, le);
    if (code === 0 || o + 4 + vl > end) return;
    visit(code, o + 4, vl);
    o += 4 + ((vl + 3) & ~3);
  }
}

/** Where the block at `h` ends if it looks like one (a known type, its length repeated at its end), else -1. */
export function pcapngBlockEnd(le: boolean): (b: Buffer, h: number, end: number) => number {
  const rd = le ? readU32LE : readU32BE;
  return (b, h, end) => {
    if (h + 12 > end) return -1;
    const len = rd(b, h + 4);
    const ok = BLOCK_TYPES.has(rd(b, h)) && len >= 12 && len % 4 === 0 && len <= MAX_RECORD && h + len <= end && rd(b, h + len - 4) === len;
    return ok ? h + len : -1;
  };
}

/** One pass over a file's blocks (or a part of them), with the state the blocks build up. */
class PcapngReader {
  le: boolean;
  ifaces: NgInterface[];
  frames = 0;
  corrupt = 0;
  corruptBytes = 0;
  sections: number;
  /** A packet block was seen: a section or interface block after it changes what the head said. */
  packets: boolean;

  constructor(
    private readonly c: Chunks,
    private readonly sink: FrameSink,
    private readonly split: Split | undefined,
    head: PcapngHead | undefined,
  ) {
    this.le = head?.le ?? true;
    this.ifaces = head ? head.interfaces.map((i) => ({ ...i, sinkIndex: sink.addInterface(i.name, i.linkType) })) : [];
    this.sections = head ? 1 : 0;
    this.packets = head !== undefined;
  }

  private restructured(): void {
    if (this.packets && this.split) this.split.restructured = true;
  }

  /** A section header: its byte order; interface ids start again (they are per section). */
  sectionHeader(b: Buffer, o: number): void {
    const le = sectionLittleEndian(b, o);
    if (le === undefined) throw new ConfigError(`${this.c.path}: pcapng section header with a bad byte-order magic`);
    this.le = le;
    this.ifaces = [];
    this.sections++;
    this.restructured();
  }

  interfaceDescription(b: Buffer, o: number, len: number): void {
    const { name, ...iface } = idbInterface(b, o, len, this.le, this.ifaces.length);
    this.ifaces.push({ ...iface, sinkIndex: this.sink.addInterface(name, iface.linkType) });
    this.restructured();
  }

  /** An enhanced packet block, or the obsolete packet block (16-bit interface id, 16-bit drops count). */
  /** A packet block, counted from its first `keep` bytes at most (all that `b` holds of a longer one). */
  packet(b: Buffer, o: number, len: number, enhanced: boolean, keep: number): void {
    const le = this.le;
    const iface = this.ifaces[enhanced ? readU32(b, o + 8, le) : readU16(b, o + 8, le)];
    const capLen = readU32(b, o + 20, le);
    const wireLen = readU32(b, o + 24, le);
    if (iface === undefined || o + 28 + capLen > o + len - 4) return this.corruptBlock(len);
    const ts = (readU32(b, o + 12, le) * 4294967296 + readU32(b, o + 16, le)) * iface.tsScale;
    this.sink.frame(iface.linkType, b, o + 28, Math.min(capLen, keep), wireLen < capLen ? capLen : wireLen, ts, iface.sinkIndex);
    this.frames++;
    this.packets = true;
  }

  /** A simple packet block: interface 0, no timestamp, the captured length from the block's. */
  simplePacket(b: Buffer, o: number, len: number, keep: number): void {
    const iface = this.ifaces[0];
    if (iface === undefined) return this.corruptBlock(len);
    const wireLen = readU32(b, o + 8, this.le);
    let capLen = Math.min(wireLen, len - 16, keep);
    if (iface.snapLen > 0 && capLen > iface.snapLen) capLen = iface.snapLen;
    this.sink.frame(iface.linkType, b, o + 12, capLen, wireLen, 0, iface.sinkIndex);
    this.frames++;
    this.packets = true;
  }

  /** Interface statistics: the drops by the interface (isb_ifdrop, 5) and by the OS (isb_osdrop, 6). */
  interfaceStatistics(b: Buffer, o: number, len: number): void {
    const le = this.le;
    const iface = this.ifaces[readU32(b, o + 8, le)];
    if (iface === undefined || !this.sink.interfaceDrops) return;
    let ifdrop: number | undefined;
    let osdrop: number | undefined;
    forEachOption(b, o + 20, o + len - 4, le, (code, vo, vl) => {
      if (code === 5 && vl === 8) ifdrop = readU64(b, vo, le);
      if (code === 6 && vl === 8) osdrop = readU64(b, vo, le);
    });
    this.sink.interfaceDrops(iface.sinkIndex, osdrop, ifdrop);
  }

  /** A block whose insides do not hold together: skipped, counted, reading goes on. */
  private corruptBlock(len: number): void {
    this.corrupt++;
    this.corruptBytes += len;
  }

  result(stopped?: ReadResult['stopped']): ReadResult {
    return { format: 'pcapng', frames: this.frames, corruptRecords: this.corrupt, corruptBytes: this.corruptBytes, stopped };
  }
}

/** Read pcapng blocks; from inside the file (a worker's part) given the byte order and interfaces of its head. */
export function readPcapng(c: Chunks, sink: FrameSink, maxFrames: number, split?: Split, head?: PcapngHead): ReadResult {
  const r = new PcapngReader(c, sink, split, head);
  let splitAt = split ? split.at : Infinity;
  let kept: Buffer | undefined;
  while (r.frames < maxFrames && c.ensure(12)) {
    if (c.offset >= splitAt) {
      const rest = split!.join(c.offset);
      if (rest) return { format: 'pcapng', frames: r.frames + rest.frames, corruptRecords: r.corrupt + rest.corruptRecords, corruptBytes: r.corruptBytes + rest.corruptBytes };
      splitAt = split!.at;
    }
    if (c.buf.readUInt32BE(c.start) === SECTION_HEADER) r.sectionHeader(c.buf, c.start);
    const type = readU32(c.buf, c.start, r.le);
    const len = readU32(c.buf, c.start + 4, r.le);
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) {
      if (r.sections === 0) throw new ConfigError(`${c.path}: not a pcapng capture (bad first block)`);
      return r.result(stoppedAt(c, `block length ${len} is no block's (corrupt file)`));
    }
    if (len > KEEP_BYTES + 64 && (type === ENHANCED_PACKET || type === OBSOLETE_PACKET || type === SIMPLE_PACKET)) {
      // a packet longer than any snaplen: its head and first KEEP_BYTES kept aside, the rest passed
      // over as it streams by, then the trailing length checked as for any block
      const head = (type === SIMPLE_PACKET ? 12 : 28) + KEEP_BYTES;
      const at = c.offset;
      if (!c.ensure(head)) break;
      kept ??= Buffer.allocUnsafe(28 + KEEP_BYTES);
      c.buf.copy(kept, 0, c.start, c.start + head);
      c.start += head;
      if (!c.skip(len - head - 4) || !c.ensure(4)) return r.result(stoppedFrom(c, at, 'last block cut short (the capture ended mid-write?)'));
      const trailing = readU32(c.buf, c.start, r.le);
      if (trailing !== len) return r.result(stoppedFrom(c, at, `block length ${len} does not match its trailing copy ${trailing} (corrupt file)`));
      c.start += 4;
      if (type === SIMPLE_PACKET) r.simplePacket(kept, 0, len, KEEP_BYTES);
      else r.packet(kept, 0, len, type === ENHANCED_PACKET, KEEP_BYTES);
      continue;
    }
    if (!c.ensure(len)) break;
    const b = c.buf;
    const o = c.start;
    // the length is repeated at the block's end: a mismatch means the length (or the file) is corrupt
    const trailing = readU32(b, o + len - 4, r.le);
    if (trailing !== len) return r.result(stoppedAt(c, `block length ${len} does not match its trailing copy ${trailing} (corrupt file)`));
    switch (type) {
      case ENHANCED_PACKET:
        r.packet(b, o, len, true, KEEP_BYTES);
        break;
      case OBSOLETE_PACKET:
        r.packet(b, o, len, false, KEEP_BYTES);
        break;
      case SIMPLE_PACKET:
        r.simplePacket(b, o, len, KEEP_BYTES);
        break;
      case INTERFACE_DESCRIPTION:
        r.interfaceDescription(b, o, len);
        break;
      case INTERFACE_STATISTICS:
        r.interfaceStatistics(b, o, len);
        break;
      default:
      // the section header is read before its length (its byte order tells how to read it)
    }
    c.start += len;
  }
  return r.result(r.frames < maxFrames && c.end > c.start ? stoppedAt(c, 'last block cut short (the capture ended mid-write?)') : undefined);
}
