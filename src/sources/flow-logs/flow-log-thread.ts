// analyze's flow-log reading thread: reads every flow-log input in turn (files, S3 objects; gunzip on
// libuv's threads), parses the records and hands them over in batches (batch.ts), in reading order, so
// that the counting thread counts exactly what one thread would, while this one parses what comes next.
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from '../../config/errors.js';
import { Batch, BATCH, BATCHES } from './batch.js';
import type { Input } from './inputs.js';
import { readFlowLogs, type FlowLogWindow } from './read-all.js';
import type { FlowLogRead } from './read.js';
import { InterfaceIds, type FlowRecord } from './record.js';
import type { ThreadMessage } from './threaded.js';

const { inputs, window, buffers, control } = workerData as { inputs: Input[]; window: FlowLogWindow; buffers: SharedArrayBuffer[]; control: SharedArrayBuffer };
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
  current = (current + 1) % BATCHES;
  filled = 0;
  Atomics.wait(state, current, 1);
}

const sink = (r: FlowRecord): void => {
  batches[current].put(filled++, r);
  if (filled === BATCH) flush();
};

try {
  await readFlowLogs(inputs, sink, ids, window, (r: FlowLogRead) => {
    flush();
    post({ type: 'read', read: { ...r } });
  });
  flush();
  post({ type: 'done' });
} catch (e) {
  post({ type: 'error', message: (e as Error).message, config: e instanceof ConfigError });
}
