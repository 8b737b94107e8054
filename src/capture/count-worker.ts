// The entry of the worker thread that counts part of a file (parallel-read.ts). Started before the
// reading thread needs it, it loads its modules and waits for jobs. Whatever happens to a job, it posts a
// result and says so through the job's shared flag: the reading thread is blocked until then.
import { workerData, type MessagePort } from 'node:worker_threads';
import type { CountJob, CountResult } from './count-job.js';

const { port } = workerData as { port: MessagePort };
// loaded here, not imported above: a module that fails to load is a result too
const share = import('./count-share.js');

port.on('message', (job: CountJob) => {
  void share
    .then(({ countShare }) => countShare(job))
    .catch((e: unknown): CountResult => ({ ok: false, why: (e as Error).message }))
    .then((result) => {
      // the large parts are moved, not copied
      const moved = result.ok ? [result.dns.data, result.dns.meta, result.remotes.words, result.remotes.keys, result.remotes.zones, result.remotes.bytes].map((a) => a.buffer as ArrayBuffer) : [];
      port.postMessage(result, moved);
      const done = new Int32Array(job.done, 0, 1);
      Atomics.store(done, 0, 1);
      Atomics.notify(done, 0);
    });
});
