// Prices in USD per GB (2^30 bytes) by category and direction, and by usage type (bill.ts). Built-in
// defaults follow the region; --prices.file overrides any of them. A category with no price stays unpriced (never silently 0).
import { builtInUsagePrice, REGIONS, stripRegionCodes } from './bill.js';
import { CATEGORIES, CATEGORY_NAMES, type CategoryName, type DirectionName } from './categories.js';

/** AWS bills data transfer per GB of 2^30 bytes. */
export const BYTES_PER_GB = 2 ** 30;

/**
 * Cost is counted in whole units, bytes × micro-dollars per GB, so that sums are exact in any order
 * (below 2^53 units: some 90 GB at $0.10/GB in one counter between two drains). A price is taken to
 * the micro-dollar per GB.
 */
export const COST_UNITS_PER_DOLLAR_GB = 1e6;

/** Dollars of one cost unit. */
export const DOLLARS_PER_COST_UNIT = 1 / (COST_UNITS_PER_DOLLAR_GB * BYTES_PER_GB);

/** Cost units of one byte at `perGb` $/GB. */
export function costUnitsPerByte(perGb: number): number {
  return Math.round(perGb * COST_UNITS_PER_DOLLAR_GB);
}

/** AWS prices a month as 730 hours (8,760 / 12): projections, rules and dashboards use the same. */
export const HOURS_PER_MONTH = 730;

export interface Prices {
  currency: 'USD';
  perGb: Partial<Record<CategoryName, Partial<Record<DirectionName, number>>>>;
  /** The region whose built-in usage-type prices apply. */
  region: string;
  /** $/GB by usage type from the prices file: a full name (`USE2-NatGateway-Bytes`) or one without codes. */
  usagePerGb: Record<string, number>;
}

export const DEFAULT_PRICES: Prices = {
  currency: 'USD',
  // each category's own row; a row without prices stays unpriced
  perGb: Object.fromEntries(CATEGORIES.flatMap((c) => ('prices' in c ? [[c.name, { ...c.prices }]] : []))),
  region: 'us-east-1',
  usagePerGb: {},
};

/** The built-in prices of a region (us-east-1's category prices where the region is not in the table). */
export function defaultPrices(region: string): { prices: Prices; known: boolean } {
  const r = REGIONS[region];
  if (!r) return { prices: { ...DEFAULT_PRICES, region }, known: false };
  const perGb = { ...DEFAULT_PRICES.perGb, internet: { egress: r.internet, ingress: 0 }, inter_region: { egress: r.interRegion, ingress: 0 } };
  return { prices: { currency: 'USD', perGb, region, usagePerGb: {} }, known: true };
}

/** What a prices file changes: $/GB per category and direction, and per usage type. */
export interface PriceOverrides {
  prices: Partial<Record<CategoryName, { egress?: number; ingress?: number }>>;
  usage_types: Record<string, number>;
}

/**
 * Prices for any region: its built-in ones with the prices file's overrides on top. The file is read
 * once; the region may change with every topology snapshot (discovery learns it), and prices follow.
 */
export class PriceBook {
  /** `overrides` as read from the prices file at `path` (prices-file.ts); none: the built-in prices. */
  constructor(
    readonly path: string | undefined = undefined,
    private readonly overrides: PriceOverrides = { prices: {}, usage_types: {} },
  ) {}

  over(base: Prices): Prices {
    if (!this.path) return base;
    const perGb: Prices['perGb'] = {};
    for (const cat of CATEGORY_NAMES) {
      const merged = { ...base.perGb[cat], ...this.overrides.prices[cat] };
      if (Object.keys(merged).length > 0) perGb[cat] = merged;
    }
    return { currency: 'USD', perGb, region: base.region, usagePerGb: { ...base.usagePerGb, ...this.overrides.usage_types } };
  }

  /** The region's prices; `known` is false where the region has no built-in prices (us-east-1's apply). */
  forRegion(region: string): { prices: Prices; known: boolean } {
    const regional = defaultPrices(region);
    return { prices: this.over(regional.prices), known: regional.known };
  }
}

export function priceOf(p: Prices, category: CategoryName, direction: DirectionName): number | undefined {
  return p.perGb[category]?.[direction];
}

/**
 * $/GB of a usage type: the prices file's (the full name, then without region codes), else built in.
 * us-east-1's own lines carry no code, so there `USE1-NatGateway-Bytes` in a prices file is taken as
 * naming us-east-1's `NatGateway-Bytes`, before a `NatGateway-Bytes` meant for every region.
 */
export function usagePriceOf(p: Prices, usageType: string): number | undefined {
  const bare = stripRegionCodes(usageType);
  const coded = p.region === 'us-east-1' && bare === usageType ? p.usagePerGb[`USE1-${usageType}`] : undefined;
  return coded ?? p.usagePerGb[usageType] ?? p.usagePerGb[bare] ?? builtInUsagePrice(usageType, p.region);
}

/** Dollars for `bytes` of a category and direction (bytes / 2^30 × $/GB); undefined where unpriced. */
export function costOf(p: Prices, category: CategoryName, direction: DirectionName, bytes: number): number | undefined {
  const perGb = priceOf(p, category, direction);
  return perGb === undefined ? undefined : (bytes / BYTES_PER_GB) * perGb;
}
