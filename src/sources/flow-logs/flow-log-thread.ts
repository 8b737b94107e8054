// analyze's flow-log reading threads: thread k of n reads the flow-log inputs k, k + n, … (a file, or an
// S3 prefix's objects; gunzip on libuv's threads), parses the records and hands them over in batches
// (batch.ts). The counting thread takes the threads' batches in turn, so that what it counts, and in what
// order, hangs only on the inputs, never on which thread was faster.
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from '../../config/errors.js';
import { Batch, BATCH } from './batch.js';
import { readFlowLogs } from './read-all.js';
import type { FlowLogRead } from './read.js';
import { InterfaceIds, type FlowRecord } from './record.js';
import type { ThreadData, ThreadMessage } from './threaded.js';

const { inputs, window, buffers, control, index, threads } = workerData as ThreadData;
const port = parentPort!;
// per batch: 0 free (this thread may fill it), 1 full (the counting thread holds it)
const state = new Int32Array(control);
const batches = buffers.map((b) => new Batch(b));
const ids = new InterfaceIds();
let current = 0;
let filled = 0;
let named = 0;

const post = (m: ThreadMessage): void => port.postMessage(m);

/** Hand the batch over (with the interface ids first met in it), and wait until the next is free. */
function flush(): void {
  if (filled === 0) return;
  const names: string[] = [];
  for (; named < ids.size; named++) names.push(ids.name(named));
  Atomics.store(state, current, 1);
  post({ type: 'batch', index: current, count: filled, names });
  current = (current + 1) % batches.length;
  filled = 0;
  Atomics.wait(state, current, 1);
}

const sink = (r: FlowRecord): void => {
  batches[current].put(filled++, r);
  if (filled === BATCH) flush();
};

try {
  for (let unit = index; unit < inputs.length; unit += threads) {
    await readFlowLogs([inputs[unit]], sink, ids, window, (r: FlowLogRead) => {
      // an object's records all go before what was read of it
      flush();
      post({ type: 'read', read: { ...r } });
    });
  }
  flush();
  post({ type: 'done' });
} catch (e) {
  post({ type: 'error', message: (e as Error).message, config: e instanceof ConfigError });
}
