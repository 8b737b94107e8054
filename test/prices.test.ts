import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICES, defaultPrices, priceOf } from '../src/classify/prices.js';
import { loadPrices } from '../src/classify/prices-file.js';
import { tempDir } from './helpers.js';

const dir = tempDir();

describe('prices', () => {
  it('us-east-1 defaults of the README; unclassified unpriced', () => {
    expect(priceOf(DEFAULT_PRICES, 'cross_az', 'egress')).toBe(0.01);
    expect(priceOf(DEFAULT_PRICES, 'cross_az', 'ingress')).toBe(0.01);
    expect(priceOf(DEFAULT_PRICES, 'regional_public', 'ingress')).toBe(0.01);
    expect(priceOf(DEFAULT_PRICES, 'inter_region', 'egress')).toBe(0.02);
    expect(priceOf(DEFAULT_PRICES, 'inter_region', 'ingress')).toBe(0);
    expect(priceOf(DEFAULT_PRICES, 'internet', 'egress')).toBe(0.09);
    expect(priceOf(DEFAULT_PRICES, 'unclassified', 'egress')).toBeUndefined();
  });

  it('regions where prices differ, and unknown regions', () => {
    const tokyo = defaultPrices('ap-northeast-1');
    expect(tokyo.known).toBe(true);
    expect(priceOf(tokyo.prices, 'internet', 'egress')).toBe(0.114);
    expect(priceOf(tokyo.prices, 'inter_region', 'egress')).toBe(0.09);
    expect(priceOf(tokyo.prices, 'cross_az', 'egress')).toBe(0.01);
    expect(defaultPrices("xx-nowhere-9")).toEqual({ prices: { ...DEFAULT_PRICES, region: "xx-nowhere-9" }, known: false });
  });

  it('a prices file overrides what it names, on top of the region', () => {
    const f = join(dir, 'p.yaml');
    writeFileSync(f, 'prices:\n  internet: {egress: 0.05}\n  unclassified: {egress: 0.02}\n');
    const p = loadPrices(f, defaultPrices('sa-east-1').prices);
    expect(priceOf(p, 'internet', 'egress')).toBe(0.05);
    expect(priceOf(p, 'internet', 'ingress')).toBe(0);
    expect(priceOf(p, 'inter_region', 'egress')).toBe(0.138);
    expect(priceOf(p, 'unclassified', 'egress')).toBe(0.02);
    expect(priceOf(p, 'unclassified', 'ingress')).toBeUndefined();
  });
});
