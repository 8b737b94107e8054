import { indexOf } from '../net/names.js';
// Billing categories (the README's contract). One list: the label names, their indexes (used in typed
// arrays on the hot path) and their count all come from it, so a category added here is counted,
// labelled and sized everywhere.
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

/** Category.SAME_AZ … Category.UNCLASSIFIED: indexes into CATEGORY_NAMES. */
export const Category = indexOf(CATEGORY_NAMES);

export const DIRECTION_NAMES = ['egress', 'ingress'] as const;
export type DirectionName = (typeof DIRECTION_NAMES)[number];
export const Direction = indexOf(DIRECTION_NAMES);
