// Once start-up is over, one collection that gives memory back: start-up (loading the chunks, compiling
// the topology, the first discovery) leaves garbage and a young generation grown to its size that V8's
// own memory reducer keeps for 10-20 s more. A collection of the kind V8 makes when memory runs out
// (compacting, shrinking the young generation) takes that off at once: serve at rest 91-93 → 83 MB
// without the capture rings (~40 ms). Once, a few milliseconds: never on the counting path.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async'; flavor?: 'regular' | 'last-resort' }) => void;

/** Collects all that can be collected; returns the milliseconds it took, or undefined where V8 refuses. */
export function releaseStartUpMemory(): number | undefined {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as Gc | undefined;
  if (!gc) return undefined;
  const t0 = performance.now();
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return performance.now() - t0;
}
