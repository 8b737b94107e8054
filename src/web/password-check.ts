// bcrypt comparisons, in a thread of their own: one costs tens of milliseconds of CPU by design, and on
// the event loop a flood of wrong passwords starved scrapes and health probes (liveness restarts, counts
// reset). Bounded: a few checks run, a few more wait, the rest are refused at once without a check. A
// comparison for an unknown user runs against a hash of the same cost as the users' own, so that the
// time taken does not tell which users exist.
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { moduleFileExists } from '../config/module-file.js';

export type CheckReply = { id: number; ok: boolean } | { id: number; dummy: string };
export type CheckRequest = { id: number; password: string; hash: string } | { id: number; cost: number };

// beside this module: dist/password-worker.js (the bundle), dist/web/password-worker.js (tsc's output)
const WORKER = new URL('./password-worker.js', import.meta.url);

/** Checks waiting beyond those running: past them a check is refused at once ("busy"). */
const MAX_WAITING = 32;

/** The cost of a bcrypt hash ($2y$10$… → 10). */
export function bcryptCost(hash: string): number {
  return Number(/^\$2[abxy]?\$(\d\d)\$/.exec(hash)?.[1] ?? 10);
}

export type CheckResult = 'ok' | 'wrong' | 'busy';

export class PasswordChecks {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (reply: CheckReply) => void>();
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly running = 1) {}

  /** Whether `password` matches bcrypt `hash`; 'busy' when too many checks wait already. */
  async compare(password: string, hash: string): Promise<CheckResult> {
    if (this.inFlight >= this.running) {
      if (this.waiting.length >= MAX_WAITING) return 'busy';
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.inFlight++;
    try {
      const reply = await this.ask({ id: 0, password, hash });
      return 'ok' in reply && reply.ok ? 'ok' : 'wrong';
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }

  /** A hash of a random password at `cost`: what unknown users are compared against. */
  async dummyHash(cost: number): Promise<string> {
    const reply = await this.ask({ id: 0, cost });
    return 'dummy' in reply ? reply.dummy : '';
  }

  private ask(request: CheckRequest): Promise<CheckReply> {
    const w = this.thread();
    if (!w) return answerHere(request);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      w.postMessage({ ...request, id });
    });
  }

  private thread(): Worker | undefined {
    if (this.worker) return this.worker;
    // tests that run the sources have no built thread beside them: the check runs here
    if (!moduleFileExists(WORKER)) return undefined;
    const w = new Worker(WORKER);
    w.unref();
    w.on('message', (reply: CheckReply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
    w.on('error', () => {
      // a thread that died answers every pending check "wrong"; the next check starts another
      for (const [id, resolve] of this.pending) resolve({ id, ok: false });
      this.pending.clear();
      this.worker = undefined;
    });
    this.worker = w;
    return w;
  }
}

/** One request, answered in this thread (the password thread runs this too). */
export async function answerHere(request: CheckRequest): Promise<CheckReply> {
  const bcrypt = (await import('bcryptjs')).default;
  if ('cost' in request) return { id: request.id, dummy: bcrypt.hashSync(randomBytes(16).toString('hex'), request.cost) };
  return { id: request.id, ok: bcrypt.compareSync(request.password, request.hash) };
}
