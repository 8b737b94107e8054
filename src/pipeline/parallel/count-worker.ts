// The entry of the worker thread that counts parts of a file (parallel-read.ts). Started before the
// reading thread needs it, it loads its modules and waits for jobs. Whatever happens to a job, it says
// so through the job's DONE flag: the reading thread may be blocked until then.
import { workerData, type MessagePort } from 'node:worker_threads';
import { CONTROL, type CountJob } from './count-job.js';

const { port } = workerData as { port: MessagePort };
// loaded here, not imported above: a module that fails to load is a result too
const share = import('./count-share.js');

port.on('message', (job: CountJob) => {
  void share
    .then(({ countParts }) => countParts(job, port))
    .catch((e: unknown) => port.postMessage({ ok: false, job: job.id, part: -1, why: (e as Error).message }))
    .then(() => {
      const control = new Int32Array(job.control);
      Atomics.store(control, CONTROL.DONE, 1);
      Atomics.notify(control, CONTROL.DONE);
    });
});
