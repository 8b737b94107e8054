// A capture file read ahead by a thread into two shared buffers that the reader parses in place: the
// kernel's copy of the file (a quarter of analyze's time on a 1 M-packet file, as long as tcpdump's whole
// run) happens on another core while this one counts.
import { Worker } from 'node:worker_threads';
import { moduleFileExists } from '../config/module-file.js';

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
/** No buffer filled for this long: the thread is gone (4 MiB take far less from any disk). */
const STALL_MS = 30_000;

// The reading thread's module: beside this one, built (dist/read-ahead-thread.js, the bundle, or
// dist/sources/read-ahead-thread.js, tsc's output), or its source where the tests run the sources
// (Node strips its types).
const BUILT = new URL('./read-ahead-thread.js', import.meta.url);
const THREAD = moduleFileExists(BUILT) ? BUILT : new URL('./read-ahead-thread.ts', import.meta.url);

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
    this.worker = new Worker(THREAD, { workerData: { path, buffers: shared, control, room: AHEAD_ROOM, bytes: AHEAD_BYTES } });
    // a thread that dies (it cannot start, or fails) must not leave the reader waiting for ever
    this.worker.on('error', () => this.fail());
    this.worker.on('exit', (code) => code !== 0 && this.fail());
    this.worker.unref();
  }

  /** The next buffer, once filled: its index and how many bytes it holds after its room (0: end of file). */
  take(): { index: number; length: number } {
    const index = this.next;
    // a thread that could not start, or died, fills nothing: its events cannot reach a reader that
    // waits here, so the wait is bounded
    if (Atomics.wait(this.state, index, EMPTY, STALL_MS) === 'timed-out') throw new Error(`reading ahead: the reading thread gave nothing for ${STALL_MS / 1000} s`);
    const state = Atomics.load(this.state, index);
    if (state !== FULL) throw new Error(state === FAILED ? 'reading ahead failed' : 'reading ahead: unknown state');
    const length = this.lengths[index];
    if (length > 0) this.next ^= 1;
    return { index, length };
  }

  private fail(): void {
    for (const i of [0, 1]) {
      if (Atomics.load(this.state, i) === EMPTY) Atomics.store(this.state, i, FAILED);
      Atomics.notify(this.state, i);
    }
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
