// AWS discovery (IMDS, the EC2 API) in a thread of its own that ends after each call: the EC2 client
// alone holds ~90 MB once loaded (every operation's schema), and the exporter asks it once every few
// minutes. Where the thread's module is not beside this one (tests run the sources), the call runs here.
import { Worker } from 'node:worker_threads';
import { moduleFileExists } from '../config/module-file.js';
import { errorData, errorFromData, type ErrorData } from './aws-errors.js';
import type { Ec2Info } from './ec2.js';
import type { ImdsInfo } from './imds.js';

export type AwsCall = { kind: 'imds'; timeoutMs?: number } | { kind: 'ec2'; imds: ImdsInfo; vpcId: string };
type Answer<C extends AwsCall> = C extends { kind: 'imds' } ? ImdsInfo : Ec2Info;
export type AwsReply = { ok: true; value: ImdsInfo | Ec2Info } | { ok: false; error: ErrorData };

/** The call, in this thread: the SDK is loaded now, not before. */
export async function callAwsHere<C extends AwsCall>(call: C, env: NodeJS.ProcessEnv): Promise<Answer<C>> {
  if (call.kind === 'imds') {
    const { discoverImds } = await import('./imds.js');
    return (await discoverImds({ timeoutMs: call.timeoutMs, env })) as Answer<C>;
  }
  const { discoverEc2, ec2Client, ec2Region } = await import('./ec2.js');
  return (await discoverEc2(ec2Client(ec2Region(env, call.imds)), call.vpcId)) as Answer<C>;
}

export async function replyOf(call: AwsCall, env: NodeJS.ProcessEnv): Promise<AwsReply> {
  try {
    return { ok: true, value: await callAwsHere(call, env) };
  } catch (e) {
    return { ok: false, error: errorData(e) };
  }
}

// beside this module: dist/aws-worker.js (the bundle), dist/topology/aws-worker.js (tsc's output)
const WORKER = new URL('./aws-worker.js', import.meta.url);
/** A call the SDK's own timeouts and retries did not end (6 adaptive attempts take well under this). */
const CALL_LIMIT_MS = 5 * 60_000;

/** The call in a thread that ends with it, with `env` as its environment (endpoints, credentials). */
export async function callAws<C extends AwsCall>(call: C, env: NodeJS.ProcessEnv): Promise<Answer<C>> {
  if (!moduleFileExists(WORKER)) return callAwsHere(call, env);
  const worker = new Worker(WORKER, { workerData: { call, env }, env: { ...env } });
  try {
    const reply = await new Promise<AwsReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`AWS ${call.kind} discovery gave no answer in ${CALL_LIMIT_MS / 1000} s`)), CALL_LIMIT_MS);
      timer.unref();
      worker.once('message', (r: AwsReply) => {
        clearTimeout(timer);
        resolve(r);
      });
      worker.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`AWS ${call.kind} discovery thread ended (exit ${code}) without an answer`));
      });
    });
    if (!reply.ok) throw errorFromData(reply.error);
    return reply.value as Answer<C>;
  } finally {
    // the SDK's keep-alive sockets would hold the thread, and its memory, for as long as they live
    void worker.terminate();
  }
}
