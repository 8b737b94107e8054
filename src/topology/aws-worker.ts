// The thread of one AWS discovery call (aws-calls.ts): the answer, or the error by name, then the parent
// ends the thread and the SDK's memory with it.
import { parentPort, workerData } from 'node:worker_threads';
import { replyOf, type AwsCall } from './aws-calls.js';

const { call, env } = workerData as { call: AwsCall; env: NodeJS.ProcessEnv };
void replyOf(call, env).then((reply) => parentPort!.postMessage(reply));
