// Prices in USD per GB (2^30 bytes) by category and direction. Built-in defaults are us-east-1;
// --prices.file overrides any of them. A category with no price stays unpriced (never silently 0).
import { z } from 'zod';
import { loadStructuredFile } from '../config/files.js';
import { CATEGORY_NAMES, type CategoryName, type DirectionName } from './categories.js';

/** AWS bills data transfer per GB of 2^30 bytes. */
export const BYTES_PER_GB = 2 ** 30;

export interface Prices {
  currency: 'USD';
  perGb: Partial<Record<CategoryName, Partial<Record<DirectionName, number>>>>;
}

export const DEFAULT_PRICES: Prices = {
  currency: 'USD',
  perGb: {
    same_az: { egress: 0, ingress: 0 },
    cross_az: { egress: 0.01, ingress: 0.01 },
    regional_public: { egress: 0.01, ingress: 0.01 },
    aws_service: { egress: 0, ingress: 0 },
    inter_region: { egress: 0.02, ingress: 0 },
    internet: { egress: 0.09, ingress: 0 },
    internal: { egress: 0, ingress: 0 },
  },
};

/**
 * First-tier list prices ($/GB) where regions differ from us-east-1: internet egress (first 10 TB a
 * month) and inter-region egress. Cross-AZ and regional public transfer are $0.01/GB each way in every
 * commercial region. Inter-region prices depend on the destination too (us-east-1 ↔ us-east-2 is $0.01);
 * aztraffic_bytes_total does not carry the destination region, so the common price is used.
 */
export const REGION_PRICES: Record<string, { internet: number; inter_region: number }> = {
  'us-east-1': { internet: 0.09, inter_region: 0.02 },
  'us-east-2': { internet: 0.09, inter_region: 0.02 },
  'us-west-1': { internet: 0.09, inter_region: 0.02 },
  'us-west-2': { internet: 0.09, inter_region: 0.02 },
  'ca-central-1': { internet: 0.09, inter_region: 0.02 },
  'eu-west-1': { internet: 0.09, inter_region: 0.02 },
  'eu-west-2': { internet: 0.09, inter_region: 0.02 },
  'eu-west-3': { internet: 0.09, inter_region: 0.02 },
  'eu-central-1': { internet: 0.09, inter_region: 0.02 },
  'eu-north-1': { internet: 0.09, inter_region: 0.02 },
  'eu-south-1': { internet: 0.09, inter_region: 0.02 },
  'ap-northeast-1': { internet: 0.114, inter_region: 0.09 },
  'ap-northeast-2': { internet: 0.126, inter_region: 0.08 },
  'ap-northeast-3': { internet: 0.114, inter_region: 0.09 },
  'ap-southeast-1': { internet: 0.12, inter_region: 0.09 },
  'ap-southeast-2': { internet: 0.114, inter_region: 0.098 },
  'ap-south-1': { internet: 0.1093, inter_region: 0.086 },
  'ap-east-1': { internet: 0.12, inter_region: 0.09 },
  'sa-east-1': { internet: 0.15, inter_region: 0.138 },
  'af-south-1': { internet: 0.154, inter_region: 0.147 },
  'me-south-1': { internet: 0.117, inter_region: 0.1105 },
};

/** The built-in prices of a region (us-east-1's where the region is not in the table). */
export function defaultPrices(region: string): { prices: Prices; known: boolean } {
  const r = REGION_PRICES[region];
  if (!r) return { prices: DEFAULT_PRICES, known: false };
  const perGb = { ...DEFAULT_PRICES.perGb, internet: { egress: r.internet, ingress: 0 }, inter_region: { egress: r.inter_region, ingress: 0 } };
  return { prices: { currency: 'USD', perGb }, known: true };
}

const price = z.number().nonnegative('price must be >= 0');
const pair = z.object({ egress: price.optional(), ingress: price.optional() }).strict();

export const PricesFileSchema = z
  .object({
    currency: z.literal('USD').optional(),
    prices: z.partialRecord(z.enum(CATEGORY_NAMES), pair).default({}),
  })
  .strict();

/** The region's built-in prices, with every price the file names replacing the built-in one. */
export function loadPrices(path: string | undefined, base: Prices = DEFAULT_PRICES): Prices {
  return new PriceBook(path).over(base);
}

/**
 * Prices for any region: its built-in ones with the prices file's overrides on top. The file is read
 * once; the region may change with every topology snapshot (discovery learns it), and prices follow.
 */
export class PriceBook {
  private readonly overrides: z.output<typeof PricesFileSchema>['prices'];

  constructor(readonly path: string | undefined) {
    this.overrides = path ? loadStructuredFile('--prices.file', path, PricesFileSchema).prices : {};
  }

  over(base: Prices): Prices {
    if (!this.path) return base;
    const perGb: Prices['perGb'] = {};
    for (const cat of CATEGORY_NAMES) {
      const merged = { ...base.perGb[cat], ...this.overrides[cat] };
      if (Object.keys(merged).length > 0) perGb[cat] = merged;
    }
    return { currency: 'USD', perGb };
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

/** Dollars for `bytes` of a category and direction (bytes / 2^30 × $/GB); undefined where unpriced. */
export function costOf(p: Prices, category: CategoryName, direction: DirectionName, bytes: number): number | undefined {
  const perGb = priceOf(p, category, direction);
  return perGb === undefined ? undefined : (bytes / BYTES_PER_GB) * perGb;
}
