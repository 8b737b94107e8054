// A counter family bounded to its top K series by cost then bytes, the rest folded into "other":
// live, chosen at every flush (TopK); analyze, over the whole run (HeavyHitters, then settle()). Each
// series has its bytes and, in a twin counter of the same labels, their dollars (the sum of their bill
// lines). The remote and workload families differ in their labels and where their bytes come from, not here.
import type client from 'prom-client';
import type { CategoryName } from '../classify/categories.js';
import { DEFAULT_PRICES } from '../classify/prices.js';
import { HeavyHitters, type Folded } from './heavy-hitters.js';
import { TopK, type Delta, type SeriesShape } from './top-k.js';

/** A series of a category with prices (every one but unclassified): its dollars series exists from its first bytes. */
export const pricedCategory = (l: { category: string }): boolean => DEFAULT_PRICES.perGb[l.category as CategoryName] !== undefined;

export class RankedCounter<L extends { [K in keyof L]: string }> {
  private readonly topK: TopK<L>;
  private heavy: HeavyHitters<L> | undefined;

  constructor(
    private readonly counter: client.Counter<Extract<keyof L, string>>,
    /** The series' dollars, with the same labels. */
    private readonly dollars: client.Counter<Extract<keyof L, string>>,
    private readonly k: number,
    private readonly shape: SeriesShape<L>,
    /** Whether a series is of a priced category: an unpriced one gets a dollars series only once it has dollars (never a silent 0). */
    private readonly priced: (labels: L) => boolean = () => true,
  ) {
    this.topK = new TopK(k, shape);
  }

  /** Rank over the whole run instead of per flush (analyze), in a summary of `capacity` entries. */
  accumulate(capacity: number): void {
    this.heavy = new HeavyHitters(capacity, this.shape);
  }

  /** Ranking over the whole run: series may be added one at a time (addOne), no interval map needed. */
  get accumulating(): boolean {
    return this.heavy !== undefined;
  }

  /** analyze: one series' bytes into the whole-run ranking (a key seen twice simply adds up). */
  addOne(labels: L, bytes: number, dollars: number): void {
    this.heavy!.add(labels, bytes, dollars);
  }

  /** Series and bytes that went to "other" so far. */
  get folded(): Folded {
    return this.heavy ? this.heavy.folded : this.topK.folded;
  }

  /** One interval's bytes: `deltas` per series (by shape key), `spilled` already bound for "other". */
  add(deltas: Map<string, Delta<L>>, spilled: Delta<L>[]): void {
    if (this.heavy) {
      for (const d of deltas.values()) this.heavy.add(d.labels, d.bytes, d.dollars);
      for (const sp of spilled) this.heavy.add(sp.labels, sp.bytes, sp.dollars);
      return;
    }
    this.topK.flush(deltas, spilled, {
      inc: (labels, bytes, dollars) => this.inc(labels, bytes, dollars),
      remove: (labels) => {
        this.counter.remove(labels);
        this.dollars.remove(labels);
      },
    });
  }

  private inc(labels: L, bytes: number, dollars: number): void {
    this.counter.inc(labels, bytes);
    // a free series has bytes and 0 dollars: its dollars series exists too, so sums over series agree
    if (dollars !== 0 || this.priced(labels)) this.dollars.inc(labels, dollars);
  }

  /** analyze: the top K of the whole run get their series, the rest "other". */
  settle(): void {
    if (!this.heavy) return;
    const { top, other } = this.heavy.take(this.k);
    for (const t of [...top, ...other]) this.inc(t.labels, t.bytes, t.dollars);
  }
}
