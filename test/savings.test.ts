// The live exporter's cheaper paths: a rate over the last hour (since start until an hour has passed), so
// that the gauge follows what the host does now and a burst an hour old no longer counts.
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Category, Direction } from '../src/classify/categories.js';
import { Path } from '../src/classify/bill.js';
import { defaultPrices } from '../src/classify/prices.js';
import { AddressKind, type AddressClass } from '../src/classify/rules.js';
import { SavingsFamily } from '../src/metrics/families/savings.js';

const S3: AddressClass = { kind: AddressKind.AWS_SERVICE, zone: '', zoneId: '', region: '', routeTable: -1, cell: 0, managed: '', service: 's3' };
const GB = 2 ** 30;

describe('cheaper paths in serve', () => {
  it('the gauge is the last hour’s rate, net of fixed fees; an hour-old burst drops out', async () => {
    let now = 0;
    const registry = new client.Registry();
    const prices = defaultPrices('us-east-1').prices;
    const family = new SavingsFamily([registry], { prices: () => prices, region: () => 'us-east-1', localZones: () => ['us-east-1a'] }, 10, () => now);
    // S3 through a NAT gateway in another zone: $0.055 a GB on its lines; 1 GB in the first minute
    const s3 = (gb: number): void => family.ledger.noteRemote('s3.us-east-1.amazonaws.com', S3, '', Direction.INGRESS, Category.AWS_SERVICE, Path.NAT_GATEWAY, gb * GB, gb * 0.055);
    family.take(undefined as never);
    now = 60_000;
    s3(1);
    family.take(undefined as never);
    // since start: 1 GB in a minute = $0.055 × 60 an hour
    now = 120_000;
    family.take(undefined as never);
    const gauge = async (): Promise<number> => {
      family.settle();
      const v = (await registry.getSingleMetric('aztraffic_savings_dollars_per_hour')!.get()).values;
      return v.length === 0 ? 0 : v[0].value;
    };
    expect(await gauge()).toBeCloseTo((0.055 * 3600) / 120, 9);
    // two hours on, with 0.5 GB in the last hour: the first burst is out of the window
    for (let m = 3; m <= 120; m++) {
      now = m * 60_000;
      if (m === 100) s3(0.5);
      family.take(undefined as never);
    }
    now = 120 * 60_000 + 30_000;
    const rows = family.rows();
    expect(rows).toHaveLength(1);
    expect(rows[0].monthly_savings_dollars).toBeCloseTo(0.5 * 0.055 * 730 * (3600 / ((now - 60 * 60_000) / 1000)), 6);
    expect(await gauge()).toBeCloseTo(rows[0].monthly_savings_dollars / 730, 9);
    // nothing for an hour: no suggestion, no series
    now = 4 * 3_600_000;
    family.take(undefined as never);
    now += 120_000;
    family.take(undefined as never);
    expect(family.rows()).toEqual([]);
    expect(await gauge()).toBe(0);
  });
});
