// Flow logs read and parsed in a second thread (flow-log-thread.ts) while this one counts: the records
// come back in batches, in reading order, and go to the sink as one thread would hand them over.
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

// beside this module: dist/flow-log-thread.js (the bundle), dist/sources/flow-logs/flow-log-thread.js (tsc's)
const THREAD = new URL('./flow-log-thread.js', import.meta.url);

/** Whether the thread's module is there (not when running from source). */
export const threadAvailable = (): boolean => moduleFileExists(THREAD);

/**
 * The thread, started now (while the topology loads it parses the first batches); `consume` then hands
 * every record to the sink in reading order.
 */
export interface FlowLogThread {
  consume(sink: RecordSink, ids: InterfaceIds, done: (r: FlowLogRead) => void): Promise<void>;
}

export function startFlowLogThread(inputs: readonly Input[], window: FlowLogWindow): FlowLogThread {
  const buffers = Array.from({ length: BATCHES }, () => new SharedArrayBuffer(Batch.bytes()));
  const batches = buffers.map((b) => new Batch(b));
  const control = new SharedArrayBuffer(4 * BATCHES);
  const state = new Int32Array(control);
  const worker = new Worker(THREAD, { workerData: { inputs, window, buffers, control } });
  // a command that fails before it counts must not be kept alive by a thread nobody will consume
  worker.unref();
  // what arrives before the sink is there waits (its batches stay full: the thread stops at the last free one)
  const early: ThreadMessage[] = [];
  let handle: ((m: ThreadMessage) => void) | undefined;
  let failed: Error | undefined;
  let exited: number | undefined;
  worker.on('message', (m: ThreadMessage) => (handle ? handle(m) : early.push(m)));
  worker.on('error', (e) => (failed = e));
  worker.on('exit', (code) => (exited = code));
  return {
    consume(sink, ids, done) {
      worker.ref();
      const rec = new FlowRecord();
      // the thread's interface numbers → this thread's
      let eni = new Int32Array(1024);
      let known = 0;
      return new Promise<void>((resolve, reject) => {
        let settled = false;
        const end = (e?: Error): void => {
          if (settled) return;
          settled = true;
          void worker.terminate();
          if (e) reject(e);
          else resolve();
        };
        handle = (m) => {
          try {
            if (m.type === 'batch') {
              for (const name of m.names) {
                if (known === eni.length) {
                  const g = new Int32Array(eni.length * 2);
                  g.set(eni);
                  eni = g;
                }
                eni[known++] = ids.of(name);
              }
              const b = batches[m.index];
              for (let k = 0; k < m.count; k++) {
                b.get(k, rec, eni);
                sink(rec);
              }
              Atomics.store(state, m.index, 0);
              Atomics.notify(state, m.index);
            } else if (m.type === 'read') done(Object.assign(new FlowLogRead(m.read.name), m.read));
            else if (m.type === 'done') end();
            else end(m.config ? new ConfigError(m.message) : new Error(m.message));
          } catch (e) {
            end(e as Error);
          }
        };
        for (const m of early.splice(0)) handle(m);
        const gone = (code: number): void => end(new Error(`the flow-log reading thread ended (exit ${code}) before its last record`));
        if (failed) end(failed);
        else if (exited !== undefined) gone(exited);
        worker.removeAllListeners('error').removeAllListeners('exit');
        worker.on('error', (e) => end(e));
        worker.on('exit', (code) => gone(code));
      });
    },
  };
}
