// The counter layout of aztraffic_{bytes,packets}_total: one slot per (zone pair, direction, category),
// zone pairs numbered as they are first seen. Memory grows with the pairs traffic shows, not with the
// square of the zones a topology names (5,000 zones would be 25 M pairs). A host has few local zones:
// each gets a row that maps a remote zone to its pair, so finding the slot is two array reads.
import { CATEGORY_COUNT } from '../classify/categories.js';

/** Slots per zone pair: direction × category. */
export const SLOTS_PER_PAIR = 2 * CATEGORY_COUNT;

export class ZonePairs {
  /** Local zone of each pair. */
  localZone = new Int32Array(16);
  /** Remote zone of each pair. */
  remoteZone = new Int32Array(16);
  count = 0;
  private readonly rows = new Map<number, Int32Array>();

  constructor(readonly zoneCount: number) {}

  /** The row of a local zone: remote zone → pair, -1 where not yet seen. */
  row(localZone: number): Int32Array {
    let r = this.rows.get(localZone);
    if (r === undefined) {
      r = new Int32Array(this.zoneCount).fill(-1);
      this.rows.set(localZone, r);
    }
    return r;
  }

  /** A new pair for (local zone, remote zone), recorded in the local zone's row. */
  add(localZone: number, remoteZone: number): number {
    const row = this.row(localZone);
    if (row[remoteZone] >= 0) return row[remoteZone];
    const p = this.count++;
    if (p >= this.localZone.length) {
      this.localZone = grow(this.localZone);
      this.remoteZone = grow(this.remoteZone);
    }
    this.localZone[p] = localZone;
    this.remoteZone[p] = remoteZone;
    row[remoteZone] = p;
    return p;
  }

  /** Counter slot of a pair, direction and category. */
  static slot(pair: number, dir: number, cat: number): number {
    return pair * SLOTS_PER_PAIR + dir * CATEGORY_COUNT + cat;
  }

  /** The pair, direction and category of a slot. */
  static decode(slot: number): { pair: number; dir: number; cat: number } {
    const pair = Math.floor(slot / SLOTS_PER_PAIR);
    const rest = slot - pair * SLOTS_PER_PAIR;
    return { pair, dir: Math.floor(rest / CATEGORY_COUNT), cat: rest % CATEGORY_COUNT };
  }
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const g = new Int32Array(a.length * 2);
  g.set(a);
  return g;
}
