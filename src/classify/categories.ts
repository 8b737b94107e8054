// Billing categories (DESIGN.md). Indexes are used in typed arrays on the hot path.
export const Category = {
  SAME_AZ: 0,
  CROSS_AZ: 1,
  REGIONAL_PUBLIC: 2,
  AWS_SERVICE: 3,
  INTER_REGION: 4,
  INTERNET: 5,
  INTERNAL: 6,
  UNCLASSIFIED: 7,
} as const;

export const CATEGORY_NAMES = [
  'same_az',
  'cross_az',
  'regional_public',
  'aws_service',
  'inter_region',
  'internet',
  'internal',
  'unclassified',
] as const;

export type CategoryName = (typeof CATEGORY_NAMES)[number];
export const CATEGORY_COUNT = CATEGORY_NAMES.length;

export const Direction = { EGRESS: 0, INGRESS: 1 } as const;
export const DIRECTION_NAMES = ['egress', 'ingress'] as const;
export type DirectionName = (typeof DIRECTION_NAMES)[number];
