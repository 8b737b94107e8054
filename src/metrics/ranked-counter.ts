// A counter family bounded to its top K series by cost then bytes, the rest folded into "other":
// live, chosen at every flush (TopK); analyze, over the whole run (HeavyHitters, then settle()).
// The remote and workload families differ in their labels and where their bytes come from, not here.
import type client from 'prom-client';
import { HeavyHitters, type Folded } from './heavy-hitters.js';
import { TopK, type SeriesShape } from './top-k.js';

export class RankedCounter<L extends { [K in keyof L]: string }> {
  private readonly topK: TopK<L>;
  private heavy: HeavyHitters<L> | undefined;

  constructor(
    private readonly counter: client.Counter<Extract<keyof L, string>>,
    private readonly k: number,
    /** Dollars of `bytes` of a series (0 when free or unpriced): what ranks first. */
    private readonly costOf: (labels: L, bytes: number) => number,
    private readonly shape: SeriesShape<L>,
  ) {
    this.topK = new TopK(k, costOf, shape);
  }

  /** Rank over the whole run instead of per flush (analyze), in a summary of `capacity` entries. */
  accumulate(capacity: number): void {
    this.heavy = new HeavyHitters(capacity, this.costOf, this.shape);
  }

  /** Ranking over the whole run: series may be added one at a time (addOne), no interval map needed. */
  get accumulating(): boolean {
    return this.heavy !== undefined;
  }

  /** analyze: one series' bytes into the whole-run ranking (a key seen twice simply adds up). */
  addOne(labels: L, bytes: number): void {
    this.heavy!.add(labels, bytes);
  }

  /** Series and bytes that went to "other" so far. */
  get folded(): Folded {
    return this.heavy ? this.heavy.folded : this.topK.folded;
  }

  /** One interval's bytes: `deltas` per series (by shape key), `spilled` already bound for "other". */
  add(deltas: Map<string, { labels: L; bytes: number }>, spilled: { labels: L; bytes: number }[]): void {
    if (this.heavy) {
      for (const d of deltas.values()) this.heavy.add(d.labels, d.bytes);
      for (const sp of spilled) this.heavy.add(sp.labels, sp.bytes);
      return;
    }
    this.topK.flush(deltas, spilled, {
      inc: (labels, v) => this.counter.inc(labels, v),
      remove: (labels) => this.counter.remove(labels),
    });
  }

  /** analyze: the top K of the whole run get their series, the rest "other". */
  settle(): void {
    if (!this.heavy) return;
    const { top, other } = this.heavy.take(this.k);
    for (const t of [...top, ...other]) this.counter.inc(t.labels, t.bytes);
  }
}
