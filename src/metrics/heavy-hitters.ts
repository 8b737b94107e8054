// The heaviest remotes of a whole capture, in bounded memory, whatever order they come in: a
// Space-Saving summary (Metwally et al.) ranked by cost, then bytes. When the summary is full, a new
// remote takes the place of the lightest one and inherits its rank (so that a remote seen often in small
// amounts still climbs), but not its bytes: the evicted remote's bytes go to "other" of its own
// direction, category and zone at once, so every byte is counted exactly once. A remote heavier than
// 1/capacity of the total is always in the summary, and a remote that is in it from its first byte on
// has exact bytes.
import type { SeriesShape } from './top-k.js';

interface Entry<L> {
  key: string;
  labels: L;
  /** Bytes counted since this remote (last) entered the summary: exact. */
  bytes: number;
  /** Rank: inherited plus own, cost first then bytes. */
  rankCost: number;
  rankBytes: number;
  heap: number;
}

export interface Folded {
  /** Remote entries that ended in "other" (evicted or beyond the top K). */
  remotes: number;
  bytes: number;
}

export class HeavyHitters<L> {
  private readonly byKey = new Map<string, Entry<L>>();
  private readonly heap: Entry<L>[] = [];
  /** Bytes bound for remote="other", by its series key. */
  private readonly other = new Map<string, { labels: L; bytes: number }>();
  readonly folded: Folded = { remotes: 0, bytes: 0 };

  constructor(
    readonly capacity: number,
    /** Dollars for `bytes` of this series (0 when free or unpriced). */
    private readonly costOf: (labels: L, bytes: number) => number,
    private readonly shape: SeriesShape<L>,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  add(labels: L, bytes: number): void {
    if (this.shape.isOther(labels)) {
      this.toOther(labels, bytes, false);
      return;
    }
    const key = this.shape.key(labels);
    const cost = this.costOf(labels, bytes);
    let e = this.byKey.get(key);
    if (e) {
      e.bytes += bytes;
      e.rankCost += cost;
      e.rankBytes += bytes;
      this.down(e.heap);
      return;
    }
    if (this.byKey.size < this.capacity) {
      e = { key, labels, bytes, rankCost: cost, rankBytes: bytes, heap: this.heap.length };
      this.heap.push(e);
      this.byKey.set(key, e);
      this.up(e.heap);
      return;
    }
    // full: the lightest leaves for "other"; the newcomer takes its slot and its rank
    const min = this.heap[0];
    this.toOther(min.labels, min.bytes, true);
    this.byKey.delete(min.key);
    const inherit = { cost: min.rankCost, bytes: min.rankBytes };
    min.key = key;
    min.labels = labels;
    min.bytes = bytes;
    min.rankCost = inherit.cost + cost;
    min.rankBytes = inherit.bytes + bytes;
    this.byKey.set(key, min);
    this.down(0);
  }

  /** The top k by cost then bytes (their exact bytes), and everything else summed into "other". */
  take(k: number): { top: { labels: L; bytes: number }[]; other: { labels: L; bytes: number }[] } {
    const all = [...this.byKey.values()].map((e) => ({ labels: e.labels, bytes: e.bytes, cost: this.costOf(e.labels, e.bytes) }));
    all.sort((a, b) => b.cost - a.cost || b.bytes - a.bytes || (this.shape.key(a.labels) < this.shape.key(b.labels) ? -1 : 1));
    const top = all.slice(0, k).filter((e) => e.bytes > 0);
    for (const e of all.slice(k)) this.toOther(e.labels, e.bytes, true);
    const other = [...this.other.values()].filter((o) => o.bytes > 0);
    this.byKey.clear();
    this.heap.length = 0;
    this.other.clear();
    return { top, other };
  }

  private toOther(labels: L, bytes: number, fromRemote: boolean): void {
    const o = this.shape.other(labels);
    const key = this.shape.key(o);
    const e = this.other.get(key);
    if (e) e.bytes += bytes;
    else this.other.set(key, { labels: o, bytes });
    if (fromRemote) this.folded.remotes++;
    this.folded.bytes += bytes;
  }

  private less(a: Entry<L>, b: Entry<L>): boolean {
    return a.rankCost < b.rankCost || (a.rankCost === b.rankCost && a.rankBytes < b.rankBytes);
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const t = h[i];
    h[i] = h[j];
    h[j] = t;
    h[i].heap = i;
    h[j].heap = j;
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(this.heap[i], this.heap[p])) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
