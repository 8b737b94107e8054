// Every index the counting engine packs, encoded and decoded here and nowhere else, with widths derived
// from the lists they index (categories, directions), so that a category added to CATEGORY_NAMES is
// counted, labelled and never silently aliased.
//
// - Zone-pair counters of aztraffic_{bytes,packets}_total: one slot per (zone pair, direction,
//   category), zone pairs numbered as they are first seen. Memory grows with the pairs traffic shows,
//   not with the square of the zones a topology names (5,000 zones would be 25 M pairs).
// - Remote keys of the remote table: one 32-bit word of (family, network path, category, direction, port).
// - Spill slots: bytes of remotes that found no room, by (direction, category, remote zone).
// - Class words: what the engine reads per packet for a remote class, the usage combination and the
//   category in one 32-bit word (one array read for both).
// - Workload slots: bytes per (workload, direction, category); usage slots: per (combination, direction).
import { PATH_NAMES } from '../classify/bill.js';
import { CATEGORY_COUNT, DIRECTION_NAMES } from '../classify/categories.js';

/** Bits needed for values 0 … n-1. */
export function bitsFor(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n)));
}

export interface RemoteKeyParts {
  v6: boolean;
  path: number;
  cat: number;
  dir: number;
  port: number;
}

/** An empty remote-table slot. */
export const EMPTY_KEY = 0;

/** The encodings for `categories` categories, `directions` directions and `paths` network paths. */
export function makeLayout(categories: number, directions: number, paths: number = PATH_NAMES.length) {
  const slotsPerPair = directions * categories;
  // remote key word, low bits first: port + 1 (17 bits: -1 … 65535), direction, category, path, family,
  // and a top "occupied" bit so that no key is 0 (0 marks an empty slot)
  const PORT_BITS = 17;
  const DIR_BITS = bitsFor(directions);
  const CAT_BITS = bitsFor(categories);
  const PATH_BITS = bitsFor(paths);
  const DIR_SHIFT = PORT_BITS;
  const CAT_SHIFT = DIR_SHIFT + DIR_BITS;
  const PATH_SHIFT = CAT_SHIFT + CAT_BITS;
  const V6_SHIFT = PATH_SHIFT + PATH_BITS;
  const OCCUPIED_SHIFT = V6_SHIFT + 1;
  if (OCCUPIED_SHIFT > 30) throw new Error(`remote key needs ${OCCUPIED_SHIFT + 1} bits: too many categories or paths for one 32-bit word`);
  // class word, low bits first: the category, then the usage combination
  const CLASS_CAT_BITS = 8;
  if (categories > 1 << CLASS_CAT_BITS) throw new Error(`a class word holds ${1 << CLASS_CAT_BITS} categories, not ${categories}`);
  // zone pairs and workloads alike: a row of direction × category counters each
  const rowSlot = (row: number, dir: number, cat: number): number => row * slotsPerPair + dir * categories + cat;
  const decodeRowSlot = (slot: number): { row: number; dir: number; cat: number } => {
    const row = Math.floor(slot / slotsPerPair);
    const rest = slot - row * slotsPerPair;
    return { row, dir: Math.floor(rest / categories), cat: rest % categories };
  };
  const PORT_MASK = (1 << PORT_BITS) - 1;
  const DIR_MASK = (1 << DIR_BITS) - 1;
  const CAT_MASK = (1 << CAT_BITS) - 1;
  const PATH_MASK = (1 << PATH_BITS) - 1;
  return {
    categories,
    directions,
    /** Bit positions of the remote key's fields, for code that packs keys inline (the hot path). */
    keyShifts: { dir: DIR_SHIFT, cat: CAT_SHIFT, path: PATH_SHIFT, v6: V6_SHIFT, occupied: OCCUPIED_SHIFT },
    /** Counter slots per zone pair: direction × category. */
    slotsPerPair,
    /** Counter slot of a pair, direction and category. */
    pairSlot: rowSlot,
    /** The pair, direction and category of a counter slot. */
    decodePairSlot(slot: number): { pair: number; dir: number; cat: number } {
      const { row, dir, cat } = decodeRowSlot(slot);
      return { pair: row, dir, cat };
    },
    /** Spill slot of (direction, category, remote zone), for `zones` zones. */
    spillSlot: (dir: number, cat: number, zone: number, zones: number): number => (dir * categories + cat) * zones + zone,
    spillSlots: (zones: number): number => directions * categories * zones,
    decodeSpillSlot(slot: number, zones: number): { dir: number; cat: number; zone: number } {
      const dc = Math.floor(slot / zones);
      return { dir: Math.floor(dc / categories), cat: dc % categories, zone: slot % zones };
    },
    /** Bits and mask of the class word's category, for the hot path's inline read (engine.count). */
    classWord: { catMask: (1 << CLASS_CAT_BITS) - 1, comboShift: CLASS_CAT_BITS },
    /** The class word of a usage combination and a category. */
    packClassWord: (combo: number, cat: number): number => ((combo << CLASS_CAT_BITS) | cat) >>> 0,
    /** Counter slots per workload: direction × category. */
    workSlots: slotsPerPair,
    /** Counter slot of a workload, direction and category. */
    workSlot: rowSlot,
    decodeWorkSlot(slot: number): { workload: number; dir: number; cat: number } {
      const { row, dir, cat } = decodeRowSlot(slot);
      return { workload: row, dir, cat };
    },
    /** Counter slot of a usage combination and direction. */
    usageSlot: (combo: number, dir: number): number => combo * directions + dir,
    decodeUsageSlot: (slot: number): { combo: number; dir: number } => ({ combo: Math.floor(slot / directions), dir: slot % directions }),
    remoteKey: (v6: boolean, path: number, cat: number, dir: number, port: number): number =>
      (1 << OCCUPIED_SHIFT) | ((v6 ? 1 : 0) << V6_SHIFT) | (path << PATH_SHIFT) | (cat << CAT_SHIFT) | (dir << DIR_SHIFT) | (port + 1),
    decodeRemoteKey(k: number): RemoteKeyParts {
      return {
        v6: ((k >>> V6_SHIFT) & 1) === 1,
        path: (k >>> PATH_SHIFT) & PATH_MASK,
        cat: (k >>> CAT_SHIFT) & CAT_MASK,
        dir: (k >>> DIR_SHIFT) & DIR_MASK,
        port: (k & PORT_MASK) - 1,
      };
    },
  };
}

export type CounterLayout = ReturnType<typeof makeLayout>;

/** The layout of this build's categories and directions. */
export const LAYOUT: CounterLayout = makeLayout(CATEGORY_COUNT, DIRECTION_NAMES.length);
export const SLOTS_PER_PAIR = LAYOUT.slotsPerPair;
export const { pairSlot, decodePairSlot, decodeSpillSlot, workSlot, decodeWorkSlot, usageSlot, decodeUsageSlot, packClassWord } = LAYOUT;

/**
 * Zone pairs, numbered as first seen, each with the workload of its local side (a pod's address is
 * its workload's; -1: the host's own address, attributed per flow): so a packet of a pod counts for its
 * zones and its workload in one add. A host has few local (zone, workload) pairs: each gets a row that
 * maps a remote zone to its pair, so finding a counter slot is two array reads.
 */
export class ZonePairs {
  /** Local zone of each pair. */
  localZone = new Int32Array(16);
  /** Remote zone of each pair. */
  remoteZone = new Int32Array(16);
  /** Workload of each pair's local side; -1: none (per flow, or attribution off). */
  workload = new Int32Array(16);
  count = 0;
  private readonly rows = new Map<number, { zone: number; workload: number; row: Int32Array }>();

  constructor(readonly zoneCount: number) {}

  /** The row of a local zone and workload: remote zone → pair, -1 where not yet seen. */
  row(localZone: number, workload = -1): Int32Array {
    const key = (workload + 1) * 0x100000 + localZone;
    let r = this.rows.get(key);
    if (r === undefined) {
      r = { zone: localZone, workload, row: new Int32Array(this.zoneCount).fill(-1) };
      this.rows.set(key, r);
    }
    return r.row;
  }

  /** The pair of (local zone, remote zone, workload), numbered now if new. */
  add(localZone: number, remoteZone: number, workload = -1): number {
    const row = this.row(localZone, workload);
    if (row[remoteZone] >= 0) return row[remoteZone];
    const p = this.count++;
    if (p >= this.localZone.length) {
      this.localZone = grow(this.localZone);
      this.remoteZone = grow(this.remoteZone);
      this.workload = grow(this.workload);
    }
    this.localZone[p] = localZone;
    this.remoteZone[p] = remoteZone;
    this.workload[p] = workload;
    row[remoteZone] = p;
    return p;
  }
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const g = new Int32Array(a.length * 2);
  g.set(a);
  return g;
}
