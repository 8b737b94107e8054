// Reading a capture file in chunks into one reused buffer (or read ahead by a thread), keeping unread
// bytes in front of the next read: what the pcap and pcapng readers parse in place.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError } from '../config/errors.js';
import { AHEAD_ROOM, ReadAhead } from './read-ahead.js';

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
export const LOOK_CHUNK = 64 << 10;
export const MAX_RECORD = 256 << 20; // larger lengths mean a corrupt file, not a packet
/**
 * Of a packet record longer than this (tcpdump's largest snaplen, 262,144), only this much is read: the
 * rest is passed over as it streams by. Counting needs the headers, DNS a message of 64 KiB at most;
 * records of hundreds of MiB were made whole in memory before, at a cost growing with their square.
 */
export const KEEP_BYTES = 256 << 10;

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

/** Chunked reader that keeps unread bytes in front of the next read. */
export class Chunks {
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

  /** Pass over `n` bytes from the first unread one without keeping them; false when the file ends first. */
  skip(n: number): boolean {
    for (;;) {
      const have = this.end - this.start;
      if (n <= have) {
        this.start += n;
        return true;
      }
      n -= have;
      this.start = this.end;
      if (!this.ensure(1)) return false;
    }
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
      } else if (held < 0 && this.start === 0 && this.buf.length - this.end >= length) {
        // our own buffer, made for the whole record, has room: the next buffer's data after the rest
        next.copy(this.buf, this.end, AHEAD_ROOM, AHEAD_ROOM + length);
        ahead.release(index);
        this.end += length;
      } else {
        // a record longer than the room: our own buffer, large enough for all of it at once (one made
        // per record, not one per buffer read: that grew with the square of the record's size)
        const own = Buffer.allocUnsafe(Math.max(n, left + length));
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

/** Reading stopped at the record that began at file offset `at` (the reader may be past it). */
export function stoppedFrom(c: Chunks, at: number, reason: string): ReadResult['stopped'] {
  return { offset: at, bytes: c.offset - at + c.remaining(), reason };
}

export function stoppedAt(c: Chunks, reason: string): ReadResult['stopped'] {
  return { offset: c.offset, bytes: c.remaining(), reason };
}
