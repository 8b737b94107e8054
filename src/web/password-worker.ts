// The thread of bcrypt comparisons (password-check.ts): one request at a time, answered in order.
import { parentPort } from 'node:worker_threads';
import { answerHere, type CheckRequest } from './password-check.js';

parentPort!.on('message', (request: CheckRequest) => {
  void answerHere(request).then((reply) => parentPort!.postMessage(reply));
});
