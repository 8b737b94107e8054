// A capture file read ahead by a thread into two shared buffers that the reader parses in place: the
// kernel's copy of the file (a quarter of analyze's time on a 1 M-packet file, as long as tcpdump's whole
// run) happens on another core while this one counts.
import { Worker } from 'node:worker_threads';

/**
 * Files at least this large are read ahead by a thread, given a second core: on 10 M packets (1.2 GB)
 * reading and counting went from 1.32–1.57 s to 1.22–1.29 s; on 1 M (121 MB) the thread's start and the
 * hand-overs ate the gain, so smaller files are read in place.
 */
export const READ_AHEAD_BYTES = 256 << 20;
/** The two buffers the thread fills in turn, and the room before each for a record cut at a buffer's end. */
export const AHEAD_BYTES = 4 << 20;
export const AHEAD_ROOM = 256 << 10;
const EMPTY = 0;
const FULL = 1;
const FAILED = 2;

/**
 * The reading thread: fills the two shared buffers in turn, in file order, each as soon as the reader
 * has let go of it. It runs as the thread's whole program (its source is handed to the Worker), so it
 * loads nothing but fs and names nothing outside itself.
 */
function readAheadThread(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- an eval'd Worker's program is CommonJS */
  const { openSync, readSync, closeSync } = require('node:fs') as typeof import('node:fs');
  const { workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const { path, buffers, control, room, bytes } = workerData as { path: string; buffers: SharedArrayBuffer[]; control: SharedArrayBuffer; room: number; bytes: number };
  const state = new Int32Array(control, 0, 2);
  const lengths = new Int32Array(control, 8, 2);
  const fd = openSync(path, 'r');
  let position = 0;
  for (let i = 0; ; i ^= 1) {
    Atomics.wait(state, i, 1); // FULL: the reader still holds it
    let got: number;
    try {
      got = readSync(fd, new Uint8Array(buffers[i], room, bytes), 0, bytes, position);
    } catch {
      Atomics.store(state, i, 2); // FAILED
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
}

/**
 * The reader's side: synchronous, it waits (Atomics.wait) only when it has caught up. A record cut at a
 * buffer's end is copied into the room before the next (Chunks).
 */
export class ReadAhead {
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
    this.worker = new Worker(`(${readAheadThread.toString()})()`, { eval: true, workerData: { path, buffers: shared, control, room: AHEAD_ROOM, bytes: AHEAD_BYTES } });
    this.worker.unref();
  }

  /** The next buffer, once filled: its index and how many bytes it holds after its room (0: end of file). */
  take(): { index: number; length: number } {
    const index = this.next;
    Atomics.wait(this.state, index, EMPTY);
    const state = Atomics.load(this.state, index);
    if (state !== FULL) throw new Error(state === FAILED ? 'reading ahead failed' : 'reading ahead: unknown state');
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
