// Prices in USD per GB (2^30 bytes) by category and direction. Built-in defaults are us-east-1;
// --prices.file overrides any of them. A category with no price stays unpriced (never silently 0).
import { z } from 'zod';
import { loadStructuredFile } from '../config/files.js';
import { CATEGORY_NAMES, type CategoryName, type DirectionName } from './categories.js';

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

const price = z.number().nonnegative('price must be >= 0');
const pair = z.object({ egress: price.optional(), ingress: price.optional() }).strict();

export const PricesFileSchema = z
  .object({
    currency: z.literal('USD').optional(),
    prices: z.partialRecord(z.enum(CATEGORY_NAMES), pair).default({}),
  })
  .strict();

/** Defaults, with every price the file names replacing the built-in one. */
export function loadPrices(path: string | undefined): Prices {
  if (!path) return DEFAULT_PRICES;
  const file = loadStructuredFile('--prices.file', path, PricesFileSchema);
  const perGb: Prices['perGb'] = {};
  for (const cat of CATEGORY_NAMES) {
    const merged = { ...DEFAULT_PRICES.perGb[cat], ...file.prices[cat] };
    if (Object.keys(merged).length > 0) perGb[cat] = merged;
  }
  return { currency: 'USD', perGb };
}

export function priceOf(p: Prices, category: CategoryName, direction: DirectionName): number | undefined {
  return p.perGb[category]?.[direction];
}
