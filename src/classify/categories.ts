import { indexOf } from '../net/names.js';

// Billing categories: one row each, with everything that differs between them. Their label names,
// their indexes (used in typed arrays on the hot path), their count, default prices, chart colour, the
// bill line their outside leg adds to and the prices file's schema (and so the chart's) all come from
// this table: a category added here is counted, labelled, priced, drawn and billed everywhere.

/**
 * The line a category's own leg adds to on a path that does not replace it (from this host's side):
 * - `none`: nothing (same zone, AWS services in the region, never-billed addresses);
 * - `cross_zone`: Regional, where the path itself crosses zones (not through a NAT gateway's own leg);
 * - `regional`: Regional, always (public or Elastic IPs in the region);
 * - `internet`: Out on egress, In on ingress;
 * - `inter_region`: AWS-Out / AWS-In of the pair of regions.
 */
export type BillLeg = 'none' | 'cross_zone' | 'regional' | 'internet' | 'inter_region';

export interface CategoryRow {
  readonly name: string;
  /** Built-in $/GB (2^30 bytes) by direction where the region has no price of its own; none: unpriced. */
  readonly prices?: { readonly egress: number; readonly ingress: number };
  /** Its colour wherever it is drawn (page, HTML report). */
  readonly color: string;
  readonly leg: BillLeg;
}

export const CATEGORIES = [
  { name: 'same_az', prices: { egress: 0, ingress: 0 }, color: '#2ca02c', leg: 'none' },
  { name: 'cross_az', prices: { egress: 0.01, ingress: 0.01 }, color: '#ff7f0e', leg: 'cross_zone' },
  // red: the case this product was made for (apt mirrors inside AWS, reached over public addresses)
  { name: 'regional_public', prices: { egress: 0.01, ingress: 0.01 }, color: '#d62728', leg: 'regional' },
  { name: 'aws_service', prices: { egress: 0, ingress: 0 }, color: '#17becf', leg: 'none' },
  { name: 'inter_region', prices: { egress: 0.02, ingress: 0 }, color: '#9467bd', leg: 'inter_region' },
  { name: 'internet', prices: { egress: 0.09, ingress: 0 }, color: '#1f77b4', leg: 'internet' },
  { name: 'internal', prices: { egress: 0, ingress: 0 }, color: '#c7c7c7', leg: 'none' },
  // private addresses in no known subnet: never priced silently as 0
  { name: 'unclassified', color: '#7f7f7f', leg: 'none' },
] as const satisfies readonly CategoryRow[];

export type CategoryName = (typeof CATEGORIES)[number]['name'];
export const CATEGORY_NAMES: readonly [CategoryName, ...CategoryName[]] = CATEGORIES.map((c) => c.name) as [CategoryName, ...CategoryName[]];
export const CATEGORY_COUNT = CATEGORIES.length;

/** Category.SAME_AZ … Category.UNCLASSIFIED: indexes into CATEGORIES. */
export const Category = indexOf(CATEGORY_NAMES);

/** The row of a category's index. */
export function categoryRow(index: number): CategoryRow {
  return CATEGORIES[index];
}

export const DIRECTION_NAMES = ['egress', 'ingress'] as const;
export type DirectionName = (typeof DIRECTION_NAMES)[number];
export const Direction = indexOf(DIRECTION_NAMES);
