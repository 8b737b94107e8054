// aztraffic_price_dollars_per_byte: the prices in force, per byte; they follow the topology's region.
import client from 'prom-client';
import { CATEGORY_NAMES, DIRECTION_NAMES } from '../../classify/categories.js';
import { BYTES_PER_GB, type Prices } from '../../classify/prices.js';
import type { MetricFamily } from './family.js';

export class PriceFamily implements MetricFamily {
  private readonly gauge: client.Gauge<'direction' | 'category'>;

  constructor(registers: client.Registry[]) {
    this.gauge = new client.Gauge({
      name: 'aztraffic_price_dollars_per_byte',
      help: 'Price in USD per byte (price per GB / 2^30) by direction and billing category; unpriced categories have no series.',
      labelNames: ['direction', 'category'],
      registers,
    });
  }

  setPrices(prices: Prices): void {
    this.gauge.reset();
    for (const category of CATEGORY_NAMES) {
      for (const direction of DIRECTION_NAMES) {
        const perGb = prices.perGb[category]?.[direction];
        if (perGb !== undefined) this.gauge.set({ direction, category }, perGb / BYTES_PER_GB);
      }
    }
  }
}
