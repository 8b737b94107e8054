// aztraffic_savings_dollars_per_hour{suggestion, remote}: what each cheaper path (savings.ts) would save,
// net of its fixed fees, at the rate observed — over the capture (analyze), or over the last hour (serve:
// the ledger's counts are kept once a minute for an hour, so that a burst does not make the gauge flicker
// and an alert "for 24h" can hold). Bounded to the top K by saving.
import client from 'prom-client';
import { HOURS_PER_MONTH } from '../../classify/prices.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import { SavingsLedger, type LedgerContext, type LedgerCounts, type SavingRow } from '../savings.js';
import type { MetricFamily } from './family.js';

const STEP_MS = 60_000;
const WINDOW_MS = 3_600_000;

export class SavingsFamily implements MetricFamily {
  readonly ledger: SavingsLedger;
  private readonly gauge: client.Gauge<'suggestion' | 'remote'>;
  /** analyze: the capture's span, over which every count is taken */
  private spanSeconds: number | null | undefined;
  /** when counting began, by the family's clock (rates since then until an hour has passed) */
  private readonly started: number;
  /** live: the ledger's counts once a step, an hour's worth */
  private readonly marks: { t: number; counts: LedgerCounts }[] = [];

  constructor(
    registers: client.Registry[],
    ctx: LedgerContext,
    private readonly k: number,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
    this.ledger = new SavingsLedger(ctx, Math.max(4096, 4 * k));
    this.gauge = new client.Gauge({
      name: 'aztraffic_savings_dollars_per_hour',
      help: 'USD per hour a cheaper path would save at the observed rate (last hour live; the capture in analyze), net of its fixed fees (endpoint hours × zones, a NAT gateway\'s hours); only changes worth their fees at this rate. suggestion: gateway_endpoint, interface_endpoint, nat_same_zone, private_address, zone_cache, zone_local; top K by saving.',
      labelNames: ['suggestion', 'remote'],
      registers,
    });
  }

  /** analyze: rates over the capture's span (null: no timestamps, no rates). */
  over(seconds: number | null): void {
    this.spanSeconds = seconds;
  }

  take(_p: Pipeline): void {
    if (this.spanSeconds !== undefined) return;
    const t = this.now();
    const last = this.marks[this.marks.length - 1];
    if (last === undefined || t - last.t >= STEP_MS) {
      this.marks.push({ t, counts: this.ledger.counts() });
      while (this.marks.length > 1 && t - this.marks[1].t >= WINDOW_MS) this.marks.shift();
    }
  }

  /** The cheaper paths now: over the capture, or over the last hour (since start, until an hour has passed). */
  rows(): SavingRow[] {
    if (this.spanSeconds !== undefined) return this.spanSeconds === null ? [] : this.ledger.rows(this.spanSeconds);
    const t = this.now();
    const base = this.marks.find((m) => t - m.t <= WINDOW_MS + STEP_MS && t - m.t >= STEP_MS);
    if (base === undefined) return this.ledger.rows((t - this.started) / 1000);
    return this.ledger.rows((t - base.t) / 1000, base.counts);
  }

  settle(): void {
    this.gauge.reset();
    // a saving is what a change would take off the bill: one not worth its fixed fees has no series
    // (the page and analyze show it, with its break-even)
    for (const r of this.rows().filter((x) => x.worth_it).slice(0, this.k)) this.gauge.set({ suggestion: r.suggestion, remote: r.remote }, r.monthly_savings_dollars / HOURS_PER_MONTH);
  }
}
