// Per-remote byte counts and their cost (the sum of the bill lines of each byte's usage combination, in
// cost units: prices.ts; handed over in dollars) between two flushes, in an open-addressing hash table over typed arrays: adding a packet allocates
// nothing. Keys are (address, service port, direction, category, network path); IPv6 addresses are
// first interned to a small id. Full table → bytes go to the "other" bucket, never lost.
import { DOLLARS_PER_COST_UNIT } from '../classify/prices.js';
import { EMPTY_KEY, LAYOUT, type CounterLayout } from './counter-layout.js';

/** A table's entries, exported in insertion order (RemoteTable.exportEntries). */
export interface RemoteEntries {
  count: number;
  words: Uint32Array;
  keys: Uint32Array;
  zones: Int32Array;
  bytes: Float64Array;
  cost: Float64Array;
}

// A slot's fields side by side (32 bytes: one cache line holds two slots), so that a packet's probe and
// sum touch one line, not one per field: words 0 the IPv4 address or IPv6 intern id, 1 the packed key
// (remoteKey(v6, path, cat, dir, port)), 2 the remote zone; doubles 2 the bytes, 3 their cost.
const SLOT_WORDS = 8;
const K0 = 0;
const K1 = 1;
const ZONE = 2;
const SLOT_DOUBLES = 4;
const BYTES = 2;
const COST = 3;
/** Slots of a new table (64 KiB). */
const INITIAL_SLOTS = 2048;

export class RemoteTable {
  readonly capacity: number;
  /** Slots now: grown with the entries (twice as many, up to twice the capacity), so that a few thousand remotes lie in few pages. */
  private mask: number;
  private readonly maxSlots: number;
  /** The slots as words and as doubles (one buffer). */
  private w: Uint32Array;
  private f: Float64Array;
  private used = 0;
  /** Slots in use, in insertion order: a flush visits and clears these, not the whole table. */
  private readonly usedSlots: Int32Array;

  private readonly v6Mask: number;
  private readonly v6Words: Uint32Array; // interned IPv6 addresses, 4 words per slot
  private readonly v6Used: Uint8Array;
  private v6Count = 0;
  private readonly v6UsedSlots: Int32Array;

  /** Bytes that found no slot, by [dir][cat][remote zone], and their cost. */
  readonly overflow: Float64Array;
  private readonly overflowCost: Float64Array;
  overflowed = 0;

  constructor(
    capacity: number,
    readonly zoneCount: number,
    /** Called when the table is full, before a byte would spill: it may drain and clear the table. */
    public onFull?: () => void,
    /** How keys and spill slots are packed (tests give other category counts). */
    private readonly layout: CounterLayout = LAYOUT,
  ) {
    this.capacity = capacity;
    const k = layout.keyShifts;
    this.dirShift = k.dir;
    this.catShift = k.cat;
    this.pathShift = k.path;
    this.occupied = 1 << k.occupied;
    this.v6Bit = 1 << k.v6;
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.maxSlots = slots;
    this.mask = Math.min(slots, INITIAL_SLOTS) - 1;
    const buffer = new ArrayBuffer((this.mask + 1) * SLOT_WORDS * 4);
    this.w = new Uint32Array(buffer);
    this.f = new Float64Array(buffer);
    this.v6Mask = slots - 1;
    this.v6Words = new Uint32Array(slots * 4);
    this.v6Used = new Uint8Array(slots);
    this.usedSlots = new Int32Array(capacity);
    this.v6UsedSlots = new Int32Array(capacity);
    this.overflow = new Float64Array(layout.spillSlots(zoneCount));
    this.overflowCost = new Float64Array(layout.spillSlots(zoneCount));
  }

  get size(): number {
    return this.used;
  }

  // the remote key packed inline (layout.remoteKey, without a call per packet)
  private readonly dirShift: number;
  private readonly catShift: number;
  private readonly pathShift: number;
  private readonly occupied: number;
  private readonly v6Bit: number;

  add4(addr: number, port: number, dir: number, cat: number, path: number, zone: number, ipBytes: number, cost: number): void {
    // a full table is drained before it would spill, where the owner asks for it (analyze)
    if (this.used >= this.capacity && this.onFull !== undefined) this.onFull();
    this.add(addr, this.occupied | (path << this.pathShift) | (cat << this.catShift) | (dir << this.dirShift) | (port + 1), dir, cat, zone, ipBytes, cost);
  }

  add6(w: Uint32Array, port: number, dir: number, cat: number, path: number, zone: number, ipBytes: number, cost: number): void {
    if (this.onFull !== undefined && (this.used >= this.capacity || this.v6Count >= this.capacity)) this.onFull();
    const id = this.intern6(w);
    if (id < 0) {
      this.spill(dir, cat, zone, ipBytes, cost);
      return;
    }
    this.add(id, this.occupied | this.v6Bit | (path << this.pathShift) | (cat << this.catShift) | (dir << this.dirShift) | (port + 1), dir, cat, zone, ipBytes, cost);
  }

  private add(key0: number, key1: number, dir: number, cat: number, zone: number, ipBytes: number, cost: number): void {
    const found = this.probe(key0, key1);
    if (found >= 0) {
      const d = found * SLOT_DOUBLES;
      this.f[d + BYTES] += ipBytes;
      this.f[d + COST] += cost;
      return;
    }
    if (this.used >= this.capacity) {
      this.spill(dir, cat, zone, ipBytes, cost);
      return;
    }
    let h = ~found;
    if (2 * (this.used + 1) > this.mask + 1 && this.mask + 1 < this.maxSlots) {
      this.grow();
      h = ~this.probe(key0, key1);
    }
    const o = h * SLOT_WORDS;
    this.w[o + K0] = key0;
    this.w[o + K1] = key1;
    this.w[o + ZONE] = zone;
    const d = h * SLOT_DOUBLES;
    this.f[d + BYTES] = ipBytes;
    this.f[d + COST] = cost;
    this.usedSlots[this.used++] = h;
  }

  /** The slot of a key; absent: ~(the empty slot where it would go). */
  private probe(key0: number, key1: number): number {
    const mask = this.mask;
    let h = (Math.imul(key0, 0x9e3779b1) ^ Math.imul(key1, 0x85ebca6b)) >>> 0;
    h = (h ^ (h >>> 15)) & mask;
    const w = this.w;
    for (;;) {
      const o = h * SLOT_WORDS;
      const k = w[o + K1];
      if (k === EMPTY_KEY) return ~h;
      if (k === key1 && w[o + K0] === key0) return h;
      h = (h + 1) & mask;
    }
  }

  /** Twice the slots: every entry placed again, insertion order kept. */
  private grow(): void {
    // a slot's words hold its doubles too: copying them moves the whole slot
    const w = this.w;
    const slots = 2 * (this.mask + 1);
    const buffer = new ArrayBuffer(slots * SLOT_WORDS * 4);
    this.w = new Uint32Array(buffer);
    this.f = new Float64Array(buffer);
    this.mask = slots - 1;
    for (let i = 0; i < this.used; i++) {
      const old = this.usedSlots[i];
      const h = ~this.probe(w[old * SLOT_WORDS + K0], w[old * SLOT_WORDS + K1]);
      this.w.set(w.subarray(old * SLOT_WORDS, (old + 1) * SLOT_WORDS), h * SLOT_WORDS);
      this.usedSlots[i] = h;
    }
  }

  private spill(dir: number, cat: number, zone: number, ipBytes: number, cost: number): void {
    const slot = this.layout.spillSlot(dir, cat, zone, this.zoneCount);
    this.overflow[slot] += ipBytes;
    this.overflowCost[slot] += cost;
    this.overflowed++;
  }

  private intern6(w: Uint32Array): number {
    const found = this.probe6(w);
    if (found >= 0) return found;
    if (this.v6Count >= this.capacity) return -1;
    const h = ~found;
    this.v6Words.set(w, h << 2);
    this.v6Used[h] = 1;
    this.v6UsedSlots[this.v6Count++] = h;
    return h;
  }

  /** The intern id of an IPv6 address; absent: ~(the empty slot where it would go). */
  private probe6(w: Uint32Array): number {
    const w0 = w[0];
    const w1 = w[1];
    const w2 = w[2];
    const w3 = w[3];
    let h = (Math.imul(w0 ^ w1, 0x9e3779b1) ^ Math.imul(w2 ^ w3, 0x85ebca6b)) >>> 0;
    h = (h ^ (h >>> 15)) & this.v6Mask;
    const words = this.v6Words;
    while (this.v6Used[h] !== 0) {
      const k = h << 2;
      if (words[k] === w0 && words[k + 1] === w1 && words[k + 2] === w2 && words[k + 3] === w3) return h;
      h = (h + 1) & this.v6Mask;
    }
    return ~h;
  }

  /**
   * Every entry, in the order they were first added (for merge() into another table): the address
   * (IPv4 in word 0; IPv6 in four words), the packed key, remote zone, bytes and cost.
   */
  exportEntries(): RemoteEntries {
    const n = this.used;
    const out: RemoteEntries = { count: n, words: new Uint32Array(n * 4), keys: new Uint32Array(n), zones: new Int32Array(n), bytes: new Float64Array(n), cost: new Float64Array(n) };
    for (let i = 0; i < n; i++) {
      const h = this.usedSlots[i];
      const o = h * SLOT_WORDS;
      const k = this.w[o + K1];
      const k0 = this.w[o + K0];
      if (k & this.v6Bit) out.words.set(this.v6Words.subarray(k0 << 2, (k0 << 2) + 4), i * 4);
      else out.words[i * 4] = k0;
      out.keys[i] = k;
      out.zones[i] = this.w[o + ZONE] | 0;
      out.bytes[i] = this.f[h * SLOT_DOUBLES + BYTES];
      out.cost[i] = this.f[h * SLOT_DOUBLES + COST];
    }
    return out;
  }

  /**
   * Whether merging these tables' entries, in turn, would leave this table short of full (never calling
   * onFull): one table, had it seen all their packets, would have been drained only when full.
   */
  mergesWithoutFilling(tables: readonly RemoteEntries[]): boolean {
    const newKeys = new Set<string>();
    const newV6 = new Set<string>();
    for (const e of tables) {
      for (let i = 0; i < e.count; i++) {
        const k = e.keys[i];
        const w = e.words.subarray(i * 4, i * 4 + 4);
        const id = k & this.v6Bit ? this.probe6(w) : w[0];
        if (id >= 0 && this.probe(id, k) >= 0) continue;
        const text = w.join(':');
        if (id < 0) newV6.add(text);
        newKeys.add(`${text}/${k}`);
      }
    }
    return this.used + newKeys.size < this.capacity && this.v6Count + newV6.size < this.capacity;
  }

  /** Add exported entries, in their order (check mergesWithoutFilling first: this never drains). */
  merge(e: RemoteEntries): void {
    for (let i = 0; i < e.count; i++) {
      const k = e.keys[i];
      const { dir, cat } = this.layout.decodeRemoteKey(k);
      const id = k & this.v6Bit ? this.intern6(e.words.subarray(i * 4, i * 4 + 4)) : e.words[i * 4];
      if (id < 0) this.spill(dir, cat, e.zones[i], e.bytes[i], e.cost[i]);
      else this.add(id, k, dir, cat, e.zones[i], e.bytes[i], e.cost[i]);
    }
  }

  /** Visit every entry (flush time): its bytes and their dollars; then the caller clears. */
  forEach(
    visit: (
      family: 4 | 6,
      addr4: number,
      addr6: Uint32Array | undefined,
      port: number,
      dir: number,
      cat: number,
      path: number,
      zone: number,
      bytes: number,
      dollars: number,
    ) => void,
  ): void {
    // the slots in use, not the whole table: a flush costs what was seen since the last one
    for (let i = 0; i < this.used; i++) {
      const h = this.usedSlots[i];
      const o = h * SLOT_WORDS;
      const { v6, port, dir, cat, path } = this.layout.decodeRemoteKey(this.w[o + K1]);
      const zone = this.w[o + ZONE] | 0;
      const bytes = this.f[h * SLOT_DOUBLES + BYTES];
      const dollars = this.f[h * SLOT_DOUBLES + COST] * DOLLARS_PER_COST_UNIT;
      if (v6) {
        const id = this.w[o + K0] << 2;
        visit(6, 0, this.v6Words.subarray(id, id + 4), port, dir, cat, path, zone, bytes, dollars);
      } else {
        visit(4, this.w[o + K0], undefined, port, dir, cat, path, zone, bytes, dollars);
      }
    }
  }

  /** The dollars of the bytes of a spill slot (overflow's index). */
  spilledDollars(slot: number): number {
    return this.overflowCost[slot] * DOLLARS_PER_COST_UNIT;
  }

  clear(): void {
    for (let i = 0; i < this.used; i++) this.w[this.usedSlots[i] * SLOT_WORDS + K1] = EMPTY_KEY;
    this.used = 0;
    for (let i = 0; i < this.v6Count; i++) this.v6Used[this.v6UsedSlots[i]] = 0;
    this.v6Count = 0;
    if (this.overflowed > 0) {
      this.overflow.fill(0);
      this.overflowCost.fill(0);
      this.overflowed = 0;
    }
  }
}
