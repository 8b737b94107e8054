// aztraffic_usage_bytes_total{usage_type, path} and aztraffic_usage_price_dollars_per_byte{usage_type}:
// the bill's own lines (docs/billing.md), fed by the engine's drained usage counters.
import client from 'prom-client';
import { PATH_NAMES } from '../../classify/bill.js';
import { BYTES_PER_GB, usagePriceOf, type Prices } from '../../classify/prices.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import type { SavingsLedger } from '../savings.js';
import type { MetricFamily } from './family.js';

export class UsageFamily implements MetricFamily {
  private readonly bytes: client.Counter<'usage_type' | 'path'>;
  private readonly price: client.Gauge<'usage_type'>;
  /** Usage types counted so far: each has a price series (where it has a price). */
  private readonly seen = new Set<string>();
  private prices: Prices;

  constructor(
    registers: client.Registry[],
    prices: Prices,
    /** where bytes that cross zones to a NAT gateway are noted (what one in the host's zone would save) */
    private readonly savings?: SavingsLedger,
  ) {
    this.prices = prices;
    this.bytes = new client.Counter({
      name: 'aztraffic_usage_bytes_total',
      help: "IP-layer bytes by AWS usage type (as the Cost and Usage Report names it, region codes included) and network path; a byte on two bill lines counts in both.",
      labelNames: ['usage_type', 'path'],
      registers,
    });
    this.price = new client.Gauge({
      name: 'aztraffic_usage_price_dollars_per_byte',
      help: 'Price in USD per byte (price per GB / 2^30) of each usage type counted; unpriced usage types have no series.',
      labelNames: ['usage_type'],
      registers,
    });
  }

  setPrices(prices: Prices): void {
    this.prices = prices;
    this.price.reset();
    for (const u of this.seen) this.priceOf(u);
  }

  take(p: Pipeline): void {
    const t = p.topology;
    p.engine.drainUsage((combo, dir, bytes) => {
      const c = t.usageCombos[combo];
      const path = PATH_NAMES[c.path];
      if (c.cross !== undefined) this.savings?.noteCrossZone(c.cross.via, c.cross.zone, c.cross.line, dir, bytes);
      for (const usageType of c.types[dir]) {
        this.bytes.inc({ usage_type: usageType, path }, bytes);
        if (!this.seen.has(usageType)) {
          this.seen.add(usageType);
          this.priceOf(usageType);
        }
      }
    });
  }

  private priceOf(usageType: string): void {
    const perGb = usagePriceOf(this.prices, usageType);
    if (perGb !== undefined) this.price.set({ usage_type: usageType }, perGb / BYTES_PER_GB);
  }
}
