// The heaviest remotes of a whole capture, in bounded memory, whatever order they come in: a Filtered
// Space-Saving summary (Metwally et al.; Homem and Carvalho) ranked by cost, then bytes. When the
// summary is full, a new remote adds its rank to a bucket of hashed counters first, and enters only when
// its bucket outranks the lightest entry: it then takes that entry's place with the bucket's rank (so
// that a remote seen often in small amounts still climbs), but not its bytes. The bytes of a remote left
// out, and of the entry it replaces, go to "other" of their own direction, category and zone at once, so
// every byte is counted exactly once. A remote heavier than 1/capacity of the total ends up in the
// summary, and a remote that is in it from its first byte on has exact bytes. The filter is what keeps a
// flood of a million one-packet remotes from churning the summary (and the heap) once per remote.
import { firstK, type Delta, type SeriesShape } from './top-k.js';

// An entry keeps its series key only, not a labels object: under a flood of distinct remotes every entry
// is soon evicted, and what it held becomes old-generation garbage that the heap grows to hold.
interface Entry {
  key: string;
  /** Bytes counted since this remote (last) entered the summary, and their dollars: exact. */
  bytes: number;
  dollars: number;
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
  private readonly byKey = new Map<string, Entry>();
  private readonly heap: Entry[] = [];
  /** Bytes bound for "other", by its series key (the labels are made once per key). */
  private readonly other = new Map<string, Delta<L>>();
  readonly folded: Folded = { remotes: 0, bytes: 0 };
  /** Entries that took the place of another (a flood of one-off remotes must not make this its size). */
  replaced = 0;
  /** The filter: rank gathered by remotes outside the summary, by hash of their key. */
  private readonly bucketCost: Float64Array;
  private readonly bucketBytes: Float64Array;

  constructor(
    readonly capacity: number,
    private readonly shape: SeriesShape<L>,
  ) {
    this.bucketCost = new Float64Array(4 * capacity);
    this.bucketBytes = new Float64Array(4 * capacity);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** A series' bytes and their dollars (0 when free or unpriced): ranked by dollars, then bytes. */
  add(labels: L, bytes: number, dollars: number): void {
    if (this.shape.isOther(labels)) {
      this.toOther(labels, bytes, dollars, false);
      return;
    }
    const key = this.shape.key(labels);
    let e = this.byKey.get(key);
    if (e) {
      e.bytes += bytes;
      e.dollars += dollars;
      e.rankCost += dollars;
      e.rankBytes += bytes;
      this.down(e.heap);
      return;
    }
    if (this.byKey.size < this.capacity) {
      e = { key, bytes, dollars, rankCost: dollars, rankBytes: bytes, heap: this.heap.length };
      this.heap.push(e);
      this.byKey.set(key, e);
      this.up(e.heap);
      return;
    }
    // full: the newcomer's bucket gathers its rank; until it outranks the lightest, its bytes are "other"
    const b = hashOf(key) % this.bucketCost.length;
    const bucketCost = (this.bucketCost[b] += dollars);
    const bucketBytes = (this.bucketBytes[b] += bytes);
    const min = this.heap[0];
    if (bucketCost < min.rankCost || (bucketCost === min.rankCost && bucketBytes <= min.rankBytes)) {
      this.toOtherKey(this.shape.otherKey(key), bytes, dollars, true);
      return;
    }
    // the lightest leaves for "other"; the newcomer takes its slot with its bucket's rank
    this.toOtherKey(this.shape.otherKey(min.key), min.bytes, min.dollars, true);
    this.byKey.delete(min.key);
    min.key = key;
    min.bytes = bytes;
    min.dollars = dollars;
    min.rankCost = bucketCost;
    min.rankBytes = bucketBytes;
    this.byKey.set(key, min);
    this.replaced++;
    this.down(0);
  }

  /** The top k by cost then bytes (their exact bytes), and everything else summed into "other". */
  take(k: number): { top: Delta<L>[]; other: Delta<L>[] } {
    // labels are made for the top k only, and the k are picked with a bounded heap, not by sorting the
    // whole summary (16,384 entries and more)
    const all = [...this.byKey.values()].map((e) => ({ key: e.key, otherKey: this.shape.otherKey(e.key), bytes: e.bytes, dollars: e.dollars }));
    const first = firstK(all, k, (a, b) => b.dollars - a.dollars || b.bytes - a.bytes || (a.key < b.key ? -1 : 1));
    const top = first.filter((e) => e.bytes > 0).map((e) => ({ labels: this.shape.labels(e.key), bytes: e.bytes, dollars: e.dollars }));
    const chosen = new Set(first);
    for (const e of all) if (!chosen.has(e)) this.toOtherKey(e.otherKey, e.bytes, e.dollars, true);
    const other = [...this.other.values()].filter((o) => o.bytes > 0);
    this.byKey.clear();
    this.heap.length = 0;
    this.other.clear();
    this.bucketCost.fill(0);
    this.bucketBytes.fill(0);
    return { top, other };
  }

  private toOther(labels: L, bytes: number, dollars: number, fromRemote: boolean): void {
    this.toOtherKey(this.shape.key(this.shape.other(labels)), bytes, dollars, fromRemote);
  }

  private toOtherKey(otherKey: string, bytes: number, dollars: number, fromRemote: boolean): void {
    const o = this.otherOf(otherKey);
    o.bytes += bytes;
    o.dollars += dollars;
    if (fromRemote) this.folded.remotes++;
    this.folded.bytes += bytes;
  }

  /** The "other" series of this key, made (with no bytes) when first needed. */
  private otherOf(otherKey: string): Delta<L> {
    let e = this.other.get(otherKey);
    if (e === undefined) this.other.set(otherKey, (e = { labels: this.shape.labels(otherKey), bytes: 0, dollars: 0 }));
    return e;
  }

  private less(a: Entry, b: Entry): boolean {
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

/** FNV-1a over the key's UTF-16 code units: a bucket for the filter. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
