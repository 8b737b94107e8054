// Our own pcap and pcapng reader (cap reads live only). Reads in chunks into one reused buffer and
// hands each frame to the sink as (buffer, offset, length): no per-packet allocation, memory bounded
// by the chunk size whatever the file size.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../config/errors.js';
import { readU32BE, readU32LE } from '../net/bytes.js';
import type { FrameSink } from './frame-sink.js';

export type { FrameSink };

export interface ReadResult {
  format: 'pcap' | 'pcapng';
  frames: number;
  /** Whole records that were corrupt (pcapng blocks with a bad interface or length inside): skipped. */
  corruptRecords: number;
  /** Bytes of those skipped records. */
  corruptBytes: number;
  /**
   * Where reading stopped before the end of the file (a record cut short, or a length field no capture
   * can have): nothing after `offset` could be read; `bytes` were left unread.
   */
  stopped?: { offset: number; bytes: number; reason: string };
}

/** Reading a whole file: 8 MiB reads were no faster on 1 M packets (0.42–0.58 s against 0.40–0.54 s), and resident. */
export const CHUNK = 1 << 20;
/** A look at the first frames: the buffer grows if a record is larger. */
const LOOK_CHUNK = 64 << 10;
const MAX_RECORD = 256 << 20; // larger lengths mean a corrupt file, not a packet

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Whether a classic pcap file's magic (either byte order, micro- or nanoseconds) starts at `o`. */
function isPcapMagic(b: Buffer, o: number): boolean {
  const be = b.readUInt32BE(o);
  const le = b.readUInt32LE(o);
  return be === PCAP_US || le === PCAP_US || be === PCAP_NS || le === PCAP_NS;
}

/** The byte order of the pcapng section whose header block starts at `o`: little-endian or not; undefined if its magic is neither. */
function sectionLittleEndian(b: Buffer, o: number): boolean | undefined {
  if (b.readUInt32LE(o + 8) === BYTE_ORDER_MAGIC) return true;
  if (b.readUInt32BE(o + 8) === BYTE_ORDER_MAGIC) return false;
  return undefined;
}

/**
 * Files at least this large are read ahead by a thread, given a second core: on 10 M packets (1.2 GB)
 * reading and counting went from 1.32–1.57 s to 1.22–1.29 s; on 1 M (121 MB) the thread's start and the
 * hand-overs ate the gain, so smaller files are read in place.
 */
export const READ_AHEAD_BYTES = 256 << 20;
/** The two buffers the thread fills in turn, and the room before each for a record cut at a buffer's end. */
const AHEAD_BYTES = 4 << 20;
const AHEAD_ROOM = 256 << 10;
const EMPTY = 0;
const FULL = 1;

// The reading thread: fills the two shared buffers in turn, in file order, each as soon as the reader
// has let go of it. Plain JavaScript: it loads nothing but fs.
const READ_AHEAD_THREAD = `
const { openSync, readSync, closeSync } = require('node:fs');
const { workerData: { path, buffers, control, room, bytes } } = require('node:worker_threads');
const state = new Int32Array(control, 0, 2);
const lengths = new Int32Array(control, 8, 2);
const fd = openSync(path, 'r');
let position = 0;
for (let i = 0; ; i ^= 1) {
  Atomics.wait(state, i, 1);
  let got;
  try {
    got = readSync(fd, new Uint8Array(buffers[i], room, bytes), 0, bytes, position);
  } catch (e) {
    Atomics.store(state, i, 2); // failed
    Atomics.notify(state, i);
    break;
  }
  position += got;
  lengths[i] = got;
  Atomics.store(state, i, 1);
  Atomics.notify(state, i);
  if (got === 0) break;
}
closeSync(fd);
`;

/**
 * A file read ahead by a thread into two shared buffers that the reader parses in place: the kernel's
 * copy of the file (a quarter of analyze's time on a 1 M-packet file, as long as tcpdump's whole run)
 * happens on another core while this one counts. The reader stays synchronous: it waits (Atomics.wait)
 * only when it has caught up. A record cut at a buffer's end is copied into the room before the next.
 */
class ReadAhead {
  readonly buffers: Buffer[];
  private readonly state: Int32Array;
  private readonly lengths: Int32Array;
  private readonly worker: Worker;
  /** The buffer the reader takes next (the thread fills them in turn). */
  private next = 0;

  constructor(path: string) {
    const shared = [new SharedArrayBuffer(AHEAD_ROOM + AHEAD_BYTES), new SharedArrayBuffer(AHEAD_ROOM + AHEAD_BYTES)];
    this.buffers = shared.map((b) => Buffer.from(b));
    const control = new SharedArrayBuffer(16);
    this.state = new Int32Array(control, 0, 2);
    this.lengths = new Int32Array(control, 8, 2);
    this.worker = new Worker(READ_AHEAD_THREAD, { eval: true, workerData: { path, buffers: shared, control, room: AHEAD_ROOM, bytes: AHEAD_BYTES } });
    this.worker.unref();
  }

  /** The next buffer, once filled: its index and how many bytes it holds after its room (0: end of file). */
  take(): { index: number; length: number } {
    const index = this.next;
    Atomics.wait(this.state, index, EMPTY);
    if (Atomics.load(this.state, index) !== FULL) throw new Error('reading ahead failed');
    const length = this.lengths[index];
    if (length > 0) this.next ^= 1;
    return { index, length };
  }

  /** The reader is done with a buffer: the thread may fill it again. */
  release(index: number): void {
    Atomics.store(this.state, index, EMPTY);
    Atomics.notify(this.state, index);
  }

  close(): void {
    void this.worker.terminate();
  }
}

/** Chunked reader that keeps unread bytes in front of the next read. */
class Chunks {
  buf: Buffer<ArrayBufferLike>;
  start = 0; // first unread byte
  end = 0; // end of valid bytes
  eof = false;
  /** File offset of buf[0]. */
  base: number;
  private readonly fd: number;
  private readonly ahead: ReadAhead | undefined;
  /** The shared buffer `buf` is (read ahead), -1 when it is our own. */
  private holding = -1;

  constructor(
    readonly path: string,
    /** Read ahead on another thread from this size on (Infinity: never). */
    readAheadBytes: number,
    /** Bytes read at once, when not read ahead. */
    chunk: number,
    /** File offset to read from (a worker's share of a file starts at a record); 0: the file, as a stream (pipes too). */
    private readonly from = 0,
    /** Counts the reads (a worker's sign of life for the thread waiting on it). */
    private readonly reads?: Int32Array,
    /** A buffer to read into (a worker reading part after part), instead of a new one. */
    buffer?: Buffer,
  ) {
    this.base = from;
    let size: number;
    try {
      this.fd = openSync(path, 'r');
      const st = fstatSync(this.fd);
      if (st.isDirectory()) {
        closeSync(this.fd);
        throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      }
      size = st.size;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory, not a capture file' : (e as Error).message;
      throw new ConfigError(`${path}: ${why}`);
    }
    if (from === 0 && size >= readAheadBytes && availableParallelism() > 1) this.ahead = new ReadAhead(path);
    // read ahead, this buffer only holds what is left of one shared buffer when moving to the next
    this.buf = buffer ?? Buffer.allocUnsafe(this.ahead ? 0 : chunk);
  }

  /** Make at least `n` bytes available from `start`; false at end of file. */
  ensure(n: number): boolean {
    if (this.end - this.start >= n) return true;
    if (this.eof) return false;
    if (this.ahead) return this.ensureAhead(n, this.ahead);
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(bigger, 0, this.start, this.end);
      this.buf = bigger;
    } else {
      this.buf.copy(this.buf, 0, this.start, this.end);
    }
    this.end -= this.start;
    this.base += this.start;
    this.start = 0;
    while (this.end - this.start < n && !this.eof) {
      const got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.from > 0 ? this.base + this.end : null);
      if (got === 0) this.eof = true;
      this.end += got;
      if (this.reads) Atomics.add(this.reads, 0, 1);
    }
    return this.end - this.start >= n;
  }

  /** ensure(), read ahead: move on to the next shared buffer, the unread bytes copied in front of its data. */
  private ensureAhead(n: number, ahead: ReadAhead): boolean {
    while (this.end - this.start < n && !this.eof) {
      const { index, length } = ahead.take();
      if (length === 0) {
        this.eof = true;
        break;
      }
      const left = this.end - this.start;
      const next = ahead.buffers[index];
      const offset = this.base + this.start;
      const held = this.holding;
      if (left <= AHEAD_ROOM) {
        this.buf.copy(next, AHEAD_ROOM - left, this.start, this.end);
        this.holding = index;
        this.buf = next;
        this.start = AHEAD_ROOM - left;
        this.end = AHEAD_ROOM + length;
      } else {
        // a record longer than the room: our own buffer, the unread bytes and the next buffer's
        const own = Buffer.allocUnsafe(left + length);
        this.buf.copy(own, 0, this.start, this.end);
        next.copy(own, left, AHEAD_ROOM, AHEAD_ROOM + length);
        ahead.release(index);
        this.holding = -1;
        this.buf = own;
        this.start = 0;
        this.end = left + length;
      }
      // the unread bytes are out of the buffer held until now: the thread may fill it again
      if (held >= 0) ahead.release(held);
      this.base = offset - this.start;
    }
    return this.end - this.start >= n;
  }

  /** File offset of the first unread byte. */
  get offset(): number {
    return this.base + this.start;
  }

  /** Bytes from the first unread one to the end of the file. */
  remaining(): number {
    return fstatSync(this.fd).size - this.offset;
  }

  close(): void {
    this.ahead?.close();
    closeSync(this.fd);
  }
}

function stoppedAt(c: Chunks, reason: string): ReadResult['stopped'] {
  return { offset: c.offset, bytes: c.remaining(), reason };
}

function u16(b: Buffer, o: number, le: boolean): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

function u32(b: Buffer, o: number, le: boolean): number {
  return le ? readU32LE(b, o) : readU32BE(b, o);
}

function u64(b: Buffer, o: number, le: boolean): number {
  return le ? u32(b, o + 4, le) * 4294967296 + u32(b, o, le) : u32(b, o, le) * 4294967296 + u32(b, o + 4, le);
}

/**
 * Where reading may hand the rest of a file over (parallel reading): at the first record at or past
 * `at`, `join` is called with its offset. It returns what others counted from there (reading stops), or
 * undefined: reading goes on to the next `at` (which join may move on; Infinity: to the end).
 */
export interface Split {
  at: number;
  join(offset: number): Pick<ReadResult, 'frames' | 'corruptRecords' | 'corruptBytes'> | undefined;
  /**
   * Set by the reader: a pcapng section or interface block came after the first packet block (or
   * anywhere in a part read from a PcapngHead): parts read with the interfaces of the file's head are wrong.
   */
  restructured?: boolean;
}

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
      if (!c.ensure(24)) throw new ConfigError(`${c.path}: pcap header cut short`);
      const header = pcapHeader(c.buf, c.start);
      c.start += 24;
      return pcapRecords(c, sink, header, maxFrames, split);
    }
    throw new ConfigError(`${path}: not a pcap or pcapng capture (magic 0x${be.toString(16).padStart(8, '0')})`);
  } finally {
    c.close();
  }
}

/** What reading the records of a classic pcap file needs from its header. */
export interface PcapHeader {
  le: boolean;
  nanoseconds: boolean;
  linkType: number;
  snapLen: number;
}

function pcapHeader(b: Buffer, o: number): PcapHeader {
  const le = b.readUInt32LE(o) === PCAP_US || b.readUInt32LE(o) === PCAP_NS;
  // the upper 16 bits of the link type may carry an FCS length
  return { le, nanoseconds: u32(b, o, le) === PCAP_NS, linkType: u32(b, o + 20, le) & 0xffff, snapLen: u32(b, o + 16, le) };
}

/** Record headers in a row that must look right before an offset is taken for a record's start. */
const SYNC_RECORDS = 16;
const YEAR = 366 * 86400;

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
  if (format.kind === 'pcapng') {
    const rd = format.head.le ? readU32LE : readU32BE;
    return findChain(path, near, window, 4, (b, h, end) => {
      if (h + 12 > end) return -1;
      const len = rd(b, h + 4);
      const ok = BLOCK_TYPES.has(rd(b, h)) && len >= 12 && len % 4 === 0 && len <= MAX_RECORD && h + len <= end && rd(b, h + len - 4) === len;
      return ok ? h + len : -1;
    });
  }
  const { header, firstSeconds } = format;
  const rd = header.le ? readU32LE : readU32BE;
  const fracMax = header.nanoseconds ? 1e9 : 1e6;
  const maxCap = header.snapLen > 0 && header.snapLen <= MAX_RECORD ? header.snapLen : MAX_RECORD;
  return findChain(path, near, window, 1, (b, h, end) => {
    if (h + 16 > end) return -1;
    const capLen = rd(b, h + 8);
    const ok = capLen <= maxCap && rd(b, h + 12) >= capLen && rd(b, h + 4) < fracMax && Math.abs(rd(b, h) - firstSeconds) <= YEAR;
    return ok ? h + 16 + capLen : -1;
  });
}

/**
 * How to read a part of a file from inside it: a classic pcap file's header (and its first record's
 * time, seconds, for findRecordStart), or a pcapng file's head.
 */
export type PartFormat = { kind: 'pcap'; header: PcapHeader; firstSeconds: number } | { kind: 'pcapng'; head: PcapngHead };

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

function pcapRecords(c: Chunks, sink: FrameSink, header: PcapHeader, maxFrames: number, split?: Split): ReadResult {
  const { le, linkType } = header;
  const fracScale = header.nanoseconds ? 1e-9 : 1e-6;
  const iface = sink.addInterface('if0', linkType);
  let frames = 0;
  const rd = le ? readU32LE : readU32BE;
  let stopped: ReadResult['stopped'];
  let splitAt = split ? split.at : Infinity;
  // outer loop: make the next whole record available; inner loop: every whole record in the buffer,
  // with the buffer and positions in locals (the per-record cost is what bounds analyze's speed)
  while (frames < maxFrames && c.ensure(16)) {
    const capNext = rd(c.buf, c.start + 8);
    if (capNext > MAX_RECORD) {
      stopped = stoppedAt(c, `record length ${capNext} is no capture's (corrupt file)`);
      break;
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
      sink.frame(linkType, b, h + 16, capLen, wireLen < capLen ? capLen : wireLen, rd(b, h) + rd(b, h + 4) * fracScale, iface);
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

interface NgInterface {
  linkType: number;
  snapLen: number;
  tsScale: number; // seconds per timestamp unit
  sinkIndex: number;
}

/** What reading a pcapng file from inside it needs: the byte order and interfaces of its head. */
export interface PcapngHead {
  le: boolean;
  /** The interfaces described before the first packet block. */
  interfaces: { name: string; linkType: number; snapLen: number; tsScale: number }[];
}

/** Blocks that carry packets. */
const isPacketBlock = (type: number): boolean => type === 6 || type === 2 || type === 3;

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
    if (n >= 40 && isPcapMagic(b, 0)) {
      const header = pcapHeader(b, 0);
      return { format: { kind: 'pcap', header, firstSeconds: u32(b, 24, header.le) }, first: 24, size: st.size };
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
      const type = u32(b, o, le);
      const len = u32(b, o + 4, le);
      if (len < 12 || len % 4 !== 0 || o + len > n || u32(b, o + len - 4, le) !== len) return undefined;
      if (isPacketBlock(type)) return { format: { kind: 'pcapng', head: { le, interfaces } }, first: o, size: st.size };
      if (type === 1) interfaces.push(idbInterface(b, o, len, le, interfaces.length));
      o += len;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** An Interface Description Block's interface: link type, snap length, time resolution and name. */
function idbInterface(b: Buffer, o: number, len: number, le: boolean, index: number): PcapngHead['interfaces'][number] {
  const iface = { name: `if${index}`, linkType: u16(b, o + 8, le), snapLen: u32(b, o + 12, le), tsScale: 1e-6 };
  forEachOption(b, o + 16, o + len - 4, le, (code, vo, vl) => {
    if (code === 2 && vl > 0) iface.name = b.toString('utf8', vo, vo + vl).replace(/\0+$/, '');
    if (code === 9 && vl >= 1) {
      const r = b[vo];
      iface.tsScale = r & 0x80 ? 2 ** -(r & 0x7f) : 10 ** -(r & 0x7f);
    }
  });
  return iface;
}

/**
 * Block types of the pcapng specification and of the writers in use (interface, packet, name resolution,
 * statistics, systemd journal, decryption secrets, custom, section, Apple's process information): a
 * chain of blocks of other types is not taken for a place to cut a file (a wrong one would only cost the
 * parallel reading, which checks every cut, but payloads can hold such chains).
 */
const BLOCK_TYPES = new Set([1, 2, 3, 4, 5, 6, 9, 10, 0xbad, 0x40000bad, PCAPNG_SHB, 0x80000001]);

/** Read pcapng blocks; from inside the file (a worker's part) given the byte order and interfaces of its head. */
function readPcapng(c: Chunks, sink: FrameSink, maxFrames: number, split?: Split, head?: PcapngHead): ReadResult {
  let le = head?.le ?? true;
  let ifaces: NgInterface[] = head ? head.interfaces.map((i) => ({ ...i, sinkIndex: sink.addInterface(i.name, i.linkType) })) : [];
  let frames = 0;
  let corrupt = 0;
  let corruptBytes = 0;
  let sectionCount = head ? 1 : 0;
  let stopped: ReadResult['stopped'];
  let splitAt = split ? split.at : Infinity;
  // a section or interface block after a packet block: the interfaces of the head no longer hold
  let packets = head !== undefined;
  while (frames < maxFrames && c.ensure(12)) {
    if (c.offset >= splitAt) {
      const rest = split!.join(c.offset);
      if (rest) return { format: 'pcapng', frames: frames + rest.frames, corruptRecords: corrupt + rest.corruptRecords, corruptBytes: corruptBytes + rest.corruptBytes };
      splitAt = split!.at;
    }
    let b = c.buf;
    let o = c.start;
    const typeBE = b.readUInt32BE(o);
    if (typeBE === PCAPNG_SHB) {
      const sectionLe = sectionLittleEndian(b, o);
      if (sectionLe === undefined) throw new ConfigError(`${c.path}: pcapng section header with a bad byte-order magic`);
      le = sectionLe;
      ifaces = []; // interface ids are per section
      sectionCount++;
      if (packets && split) split.restructured = true;
    }
    const type = u32(b, o, le);
    const len = u32(b, o + 4, le);
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) {
      if (sectionCount === 0) throw new ConfigError(`${c.path}: not a pcapng capture (bad first block)`);
      stopped = stoppedAt(c, `block length ${len} is no block's (corrupt file)`);
      break;
    }
    if (!c.ensure(len)) break;
    b = c.buf;
    o = c.start;
    // the length is repeated at the block's end: a mismatch means the length (or the file) is corrupt
    if (u32(b, o + len - 4, le) !== len) {
      stopped = stoppedAt(c, `block length ${len} does not match its trailing copy ${u32(b, o + len - 4, le)} (corrupt file)`);
      break;
    }
    const bodyEnd = o + len - 4;
    switch (type) {
      case 1: {
        // Interface Description Block
        const { name, ...iface } = idbInterface(b, o, len, le, ifaces.length);
        ifaces.push({ ...iface, sinkIndex: sink.addInterface(name, iface.linkType) });
        if (packets && split) split.restructured = true;
        break;
      }
      case 6: // Enhanced Packet Block
      case 2: {
        // (obsolete) Packet Block: 16-bit interface id, 16-bit drops count
        const id = type === 6 ? u32(b, o + 8, le) : u16(b, o + 8, le);
        const iface = ifaces[id];
        const capLen = u32(b, o + 20, le);
        const wireLen = u32(b, o + 24, le);
        if (iface === undefined || o + 28 + capLen > bodyEnd) {
          corrupt++; // corrupt block: skip it, keep reading
          corruptBytes += len;
          break;
        }
        const ts = (u32(b, o + 12, le) * 4294967296 + u32(b, o + 16, le)) * iface.tsScale;
        sink.frame(iface.linkType, b, o + 28, capLen, wireLen < capLen ? capLen : wireLen, ts, iface.sinkIndex);
        frames++;
        packets = true;
        break;
      }
      case 3: {
        // Simple Packet Block: interface 0, no timestamp
        const iface = ifaces[0];
        if (iface === undefined) {
          corrupt++;
          corruptBytes += len;
          break;
        }
        const wireLen = u32(b, o + 8, le);
        let capLen = Math.min(wireLen, len - 16);
        if (iface.snapLen > 0 && capLen > iface.snapLen) capLen = iface.snapLen;
        sink.frame(iface.linkType, b, o + 12, capLen, wireLen, 0, iface.sinkIndex);
        frames++;
        packets = true;
        break;
      }
      case 5: {
        // Interface Statistics Block: isb_ifdrop (5), isb_osdrop (6)
        const iface = ifaces[u32(b, o + 8, le)];
        if (iface === undefined || !sink.interfaceDrops) break;
        let ifdrop: number | undefined;
        let osdrop: number | undefined;
        forEachOption(b, o + 20, bodyEnd, le, (code, vo, vl) => {
          if (code === 5 && vl === 8) ifdrop = u64(b, vo, le);
          if (code === 6 && vl === 8) osdrop = u64(b, vo, le);
        });
        sink.interfaceDrops(iface.sinkIndex, osdrop, ifdrop);
        break;
      }
      default:
        break; // other blocks (name resolution, custom, ...) carry nothing we count
    }
    c.start += len;
  }
  if (!stopped && frames < maxFrames && c.end > c.start) stopped = stoppedAt(c, 'last block cut short (the capture ended mid-write?)');
  return { format: 'pcapng', frames, corruptRecords: corrupt, corruptBytes, stopped };
}

function forEachOption(
  b: Buffer,
  o: number,
  end: number,
  le: boolean,
  visit: (code: number, valueOff: number, valueLen: number) => void,
): void {
  while (o + 4 <= end) {
    const code = u16(b, o, le);
    const vl = u16(b, o + 2, le);
    if (code === 0 || o + 4 + vl > end) return;
    visit(code, o + 4, vl);
    o += 4 + ((vl + 3) & ~3);
  }
}
