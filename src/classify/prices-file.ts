// The prices file (--prices.file): read and validated here, apart from the prices themselves, so that
// a command without one never loads the schema library.
import { z } from 'zod';
import { loadStructuredFile } from '../config/files.js';
import { CATEGORY_NAMES } from './categories.js';
import { DEFAULT_PRICES, PriceBook, type PriceOverrides, type Prices } from './prices.js';

const price = z.number().nonnegative('price must be >= 0');
const pair = z.object({ egress: price.optional(), ingress: price.optional() }).strict();

export const PricesFileSchema = z
  .object({
    currency: z.literal('USD').optional(),
    prices: z.partialRecord(z.enum(CATEGORY_NAMES), pair).default({}),
    usage_types: z
      .record(z.string(), price)
      .superRefine((r, ctx) => {
        for (const k of Object.keys(r)) {
          if (!/^[A-Za-z0-9-]+-(Bytes|Hours)$/.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'usage types look like NatGateway-Bytes or USE2-NatGateway-Bytes ($/GB), NatGateway-Hours or VpcEndpoint-Hours ($/hour)' });
        }
      })
      .default({}),
  })
  .strict();

/** The prices of the file at `path` over each region's built-in ones; no path: the built-in ones. */
export function readPriceBook(path: string | undefined): PriceBook {
  const overrides: PriceOverrides | undefined = path ? loadStructuredFile('--prices.file', path, PricesFileSchema) : undefined;
  return new PriceBook(path, overrides);
}

/** The region's built-in prices, with every price the file names replacing the built-in one. */
export function loadPrices(path: string | undefined, base: Prices = DEFAULT_PRICES): Prices {
  return readPriceBook(path).over(base);
}
