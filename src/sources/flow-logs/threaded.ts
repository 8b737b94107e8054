// Flow logs read and parsed in other threads (flow-log-thread.ts) while this one counts: thread k of n
// reads inputs k, k + n, …, and their batches are taken in turn, one from each thread — what is counted,
// and in what order, hangs only on the inputs and the number of threads, never on which was faster.
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../../config/errors.js';
import { moduleFileExists } from '../../config/module-file.js';
import { Batch, BATCHES } from './batch.js';
import type { Input } from './inputs.js';
import type { FlowLogWindow } from './read-all.js';
import { FlowLogRead, type RecordSink } from './read.js';
import { FlowRecord, type InterfaceIds } from './record.js';

export type ThreadMessage =
  | { type: 'batch'; index: number; count: number; names: string[] }
  | { type: 'read'; read: Omit<FlowLogRead, 'malformedLine' | 'take'> }
  | { type: 'done' }
  | { type: 'error'; message: string; config: boolean };

/** What a reading thread is given. */
export interface ThreadData {
  inputs: Input[];
  window: FlowLogWindow;
  /** Its batches' buffers, and their states (0 free, 1 full) */
  buffers: SharedArrayBuffer[];
  control: SharedArrayBuffer;
  /** This thread's number (k of n): it reads inputs k, k + n, … */
  index: number;
  threads: number;
}

// beside this module: dist/flow-log-thread.js (the bundle), dist/sources/flow-logs/flow-log-thread.js (tsc's)
const THREAD = new URL('./flow-log-thread.js', import.meta.url);

/** Whether the thread's module is there (not when running from source). */
export const threadAvailable = (): boolean => moduleFileExists(THREAD);

/**
 * The threads, started now (while the topology loads they parse the first batches); `consume` then hands
 * every record to the sink, a batch from each thread in turn.
 */
export interface FlowLogThread {
  consume(sink: RecordSink, ids: InterfaceIds, done: (r: FlowLogRead) => void): Promise<void>;
}

/** One reading thread as the counting thread sees it: its batches, its messages not yet taken, its interface numbers. */
interface Reader {
  worker: Worker;
  batches: Batch[];
  state: Int32Array;
  queue: ThreadMessage[];
  /** the thread's interface numbers → this thread's */
  eni: Int32Array;
  known: number;
  done: boolean;
}

/** Start `threads` reading threads (at most one per input). */
export function startFlowLogThread(inputs: readonly Input[], window: FlowLogWindow, threads: number): FlowLogThread {
  const units = inputs.filter((i) => i.kind !== 'capture');
  const n = Math.max(1, Math.min(threads, units.length));
  // the batches shared out: each thread fills its own in turn
  const per = Math.max(4, Math.floor(BATCHES / n));
  let failed: Error | undefined;
  let exited: number | undefined;
  let wake: (() => void) | undefined;
  const readers: Reader[] = Array.from({ length: n }, (_x, index) => {
    const buffers = Array.from({ length: per }, () => new SharedArrayBuffer(Batch.bytes()));
    const control = new SharedArrayBuffer(4 * per);
    const data: ThreadData = { inputs: units, window, buffers, control, index, threads: n };
    const worker = new Worker(THREAD, { workerData: data });
    // a command that fails before it counts must not be kept alive by threads nobody will consume
    worker.unref();
    const r: Reader = { worker, batches: buffers.map((b) => new Batch(b)), state: new Int32Array(control), queue: [], eni: new Int32Array(1024), known: 0, done: false };
    worker.on('message', (m: ThreadMessage) => {
      if (m.type === 'error') failed ??= m.config ? new ConfigError(m.message) : new Error(m.message);
      // a thread's exit comes after its messages (Node delivers them first): known done, it may end
      else if (m.type === 'done') r.done = true;
      else r.queue.push(m);
      wake?.();
    });
    worker.on('error', (e) => {
      failed ??= e;
      wake?.();
    });
    worker.on('exit', (code) => {
      if (!r.done) exited ??= code;
      wake?.();
    });
    return r;
  });
  const stop = (): void => {
    for (const r of readers) void r.worker.terminate();
  };
  return {
    consume(sink, ids, done) {
      for (const r of readers) r.worker.ref();
      const rec = new FlowRecord();
      // the thread whose batch is next; threads done with every batch leave the turn
      let turn = 0;
      const active = [...readers];
      /** Take every message that can be taken now, in turn. */
      const take = (): void => {
        while (active.length > 0) {
          const r = active[turn];
          const m = r.queue.shift();
          if (m === undefined) {
            if (!r.done) return;
            active.splice(turn, 1);
            if (turn === active.length) turn = 0;
          } else if (m.type === 'batch') {
            batch(r, m.index, m.count, m.names);
            turn = (turn + 1) % active.length;
          } else if (m.type === 'read') done(Object.assign(new FlowLogRead(m.read.name), m.read));
        }
      };
      const batch = (r: Reader, index: number, count: number, names: string[]): void => {
        for (const name of names) {
          if (r.known === r.eni.length) {
            const g = new Int32Array(r.eni.length * 2);
            g.set(r.eni);
            r.eni = g;
          }
          r.eni[r.known++] = ids.of(name);
        }
        const b = r.batches[index];
        for (let k = 0; k < count; k++) {
          b.get(k, rec, r.eni);
          sink(rec);
        }
        Atomics.store(r.state, index, 0);
        Atomics.notify(r.state, index);
      };
      return new Promise<void>((resolve, reject) => {
        const settle = (e?: Error): void => {
          wake = undefined;
          stop();
          if (e) reject(e);
          else resolve();
        };
        const step = (): void => {
          try {
            take();
          } catch (e) {
            failed ??= e as Error;
          }
          if (failed) settle(failed);
          else if (active.length === 0) settle();
          else if (exited !== undefined) settle(new Error(`a flow-log reading thread ended (exit ${exited}) before its last record`));
        };
        wake = step;
        step();
      });
    },
  };
}
