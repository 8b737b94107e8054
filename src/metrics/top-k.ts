// Bounded top-K of series: remotes (aztraffic_remote_bytes_total) and workloads (aztraffic_workload_bytes_total).
//
// Every byte (and its dollars) lands exactly once: in a member series or in remote="other" of the same
// (direction, category, remote_az), so sums over remotes equal aztraffic_bytes_total. Ranking is by the
// series' dollars (the sum of its bytes' bill lines), then bytes. Membership is
// decided at each flush by the bytes of that interval, incumbents counted double (hysteresis, so two
// similar remotes do not swap every scrape). A demoted series is frozen, never decremented, and
// removed once more than K frozen series exist (least recently active first).

export interface RemoteLabels {
  direction: string;
  category: string;
  remote_az: string;
  remote: string;
  port: string;
  /** The network path (PATH_NAMES); '' for "other". */
  path: string;
}

/** One series' bytes of an interval, and what they cost on their bill lines. */
export interface Delta<L> {
  labels: L;
  bytes: number;
  dollars: number;
}

export interface CounterSink<L = RemoteLabels> {
  inc(labels: L, bytes: number, dollars: number): void;
  remove(labels: L): void;
}

interface Series<L> {
  labels: L;
  member: boolean;
  lastActive: number;
}

export const OTHER_REMOTE = 'other';

export function seriesKey(l: RemoteLabels): string {
  return `${l.direction}\u0000${l.category}\u0000${l.remote_az}\u0000${l.remote}\u0000${l.port}\u0000${l.path}`;
}

/** How a family's series are keyed, and what series of "the rest" a series folds into. */
export interface SeriesShape<L> {
  key(labels: L): string;
  /** The labels a key was made of (key's inverse). */
  labels(key: string): L;
  other(labels: L): L;
  /** key(other(labels(key))), from the key alone: no labels made for a series that only folds. */
  otherKey(key: string): string;
  /** A series that already is "the rest". */
  isOther(labels: L): boolean;
}

/** The key up to and with its `n`-th NUL separator. */
export function keyPrefix(key: string, n: number): string {
  let i = -1;
  for (let j = 0; j < n; j++) i = key.indexOf('\u0000', i + 1);
  return key.slice(0, i + 1);
}

export const REMOTE_SHAPE: SeriesShape<RemoteLabels> = {
  key: seriesKey,
  labels: (key) => {
    const [direction, category, remote_az, remote, port, path] = key.split('\u0000');
    return { direction, category, remote_az, remote, port, path };
  },
  other: (l) => ({ ...l, remote: OTHER_REMOTE, port: '', path: '' }),
  otherKey: (key) => `${keyPrefix(key, 3)}${OTHER_REMOTE}\u0000\u0000`,
  isOther: (l) => l.remote === OTHER_REMOTE && l.port === '' && l.path === '',
};

interface Candidate {
  key: string;
  cost: number;
  bytes: number;
  member: boolean;
}

/**
 * The first `k` of `items` in `order` (a total order), without sorting them all: a bounded heap whose
 * root is the last of those kept. A host talking to tens of thousands of remotes in one interval made
 * the full sort of every flush block the event loop for hundreds of milliseconds (scrapes waited).
 */
export function firstK<T>(items: readonly T[], k: number, order: (a: T, b: T) => number): T[] {
  if (items.length <= k) return [...items].sort(order);
  const heap: T[] = [];
  // heap[0] is the item that comes last in `order` among those kept
  const later = (i: number, j: number): boolean => order(heap[i], heap[j]) > 0;
  const swap = (i: number, j: number): void => {
    const t = heap[i];
    heap[i] = heap[j];
    heap[j] = t;
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && later(l, m)) m = l;
      if (r < heap.length && later(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (const item of items) {
    if (heap.length < k) {
      heap.push(item);
      for (let i = heap.length - 1; i > 0 && later(i, (i - 1) >> 1); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
    } else if (order(item, heap[0]) < 0) {
      heap[0] = item;
      down(0);
    }
  }
  return heap.sort(order);
}

export class TopK<L> {
  private readonly series = new Map<string, Series<L>>();
  private flushes = 0;
  /** Remote entries (per flush) and bytes that went to remote="other". */
  readonly folded = { remotes: 0, bytes: 0 };

  constructor(
    readonly k: number,
    private readonly shape: SeriesShape<L>,
  ) {}

  /** Series currently exported (members and frozen), for tests and the live page. */
  get exported(): number {
    return this.series.size;
  }

  /**
   * Apply one interval's bytes. `deltas` are per remote series; `spilled` are bytes that had no
   * remote slot, keyed like deltas but already bound for remote="other". Ranking is by dollars, then
   * bytes (a free remote never hides a priced one).
   */
  flush(deltas: Map<string, Delta<L>>, spilled: Iterable<Delta<L>>, sink: CounterSink<L>): void {
    this.flushes++;
    const candidates: Candidate[] = [];
    for (const [key, d] of deltas) {
      const s = this.series.get(key);
      const member = s?.member ?? false;
      const weight = member ? 2 : 1;
      candidates.push({ key, cost: weight * d.dollars, bytes: weight * d.bytes, member });
    }
    for (const [key, s] of this.series) {
      if (s.member && !deltas.has(key)) candidates.push({ key, cost: 0, bytes: 0, member: true });
    }
    const order = (a: Candidate, b: Candidate): number => b.cost - a.cost || b.bytes - a.bytes || Number(b.member) - Number(a.member) || (a.key < b.key ? -1 : 1);
    const chosen = new Set(firstK(candidates, this.k, order).map((c) => c.key));

    for (const [key, s] of this.series) {
      if (s.member && !chosen.has(key)) s.member = false;
    }
    // by the key of the series each folds into: labels made once per "other" series, not per remote
    const other = new Map<string, Delta<L>>();
    const toOther = (otherKey: string, bytes: number, dollars: number): void => {
      const e = other.get(otherKey);
      if (e) {
        e.bytes += bytes;
        e.dollars += dollars;
      } else other.set(otherKey, { labels: this.shape.labels(otherKey), bytes, dollars });
    };
    for (const [key, d] of deltas) {
      if (chosen.has(key)) {
        let s = this.series.get(key);
        if (!s) this.series.set(key, (s = { labels: d.labels, member: true, lastActive: 0 }));
        s.member = true;
        s.lastActive = this.flushes;
        sink.inc(s.labels, d.bytes, d.dollars);
      } else {
        toOther(this.shape.otherKey(key), d.bytes, d.dollars);
        this.folded.remotes++;
      }
    }
    for (const sp of spilled) toOther(this.shape.key(this.shape.other(sp.labels)), sp.bytes, sp.dollars);
    for (const e of other.values()) this.folded.bytes += e.bytes;
    for (const e of other.values()) sink.inc(e.labels, e.bytes, e.dollars);
    this.pruneFrozen(sink);
  }

  private pruneFrozen(sink: CounterSink<L>): void {
    const frozen = [...this.series.entries()].filter(([, s]) => !s.member);
    if (frozen.length <= this.k) return;
    frozen.sort((a, b) => a[1].lastActive - b[1].lastActive);
    for (const [key, s] of frozen.slice(0, frozen.length - this.k)) {
      sink.remove(s.labels);
      this.series.delete(key);
    }
  }
}
