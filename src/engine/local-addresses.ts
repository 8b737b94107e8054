// This host's addresses, looked up twice per packet (source, then destination). An EKS node has dozens
// of them (every secondary IP of every ENI, and delegated /28 prefixes), so IPv4 is an open-addressing
// hash over typed arrays (prefixes expanded to their addresses), not a scan. IPv6 prefixes (/80
// delegations) cannot be expanded: a hash per prefix length over the masked address, the lengths
// longest first (an IPv6 node has a handful of lengths, however many addresses and prefixes).
import { ipv6BigIntToWords, parseCidr, type Cidr } from '../net/ip.js';

/** Largest IPv4 prefix taken as local (expanded address by address). */
export const MAX_LOCAL_PREFIX_ADDRESSES = 65536;

export interface LocalEntry {
  /** An address or a prefix, as given. */
  text: string;
  cidr: Cidr;
}

export class LocalAddresses {
  readonly v4: LocalEntry[] = [];
  readonly v6: LocalEntry[] = [];
  private keys4 = new Int32Array(0);
  private vals4 = new Int32Array(0);
  private shift4 = 32;
  /** Per prefix length (longest first): its masks, and a hash of the masked addresses to entries. */
  private lengths6: { masks: Uint32Array; keys: Uint32Array; vals: Int32Array; shift: number }[] = [];

  /** Entries in the order given; an address given twice (or inside a prefix given before) is one entry. */
  constructor(texts: readonly string[]) {
    const cidrs = texts.map((text) => ({ text, cidr: parseCidr(text) }));
    for (const e of cidrs) {
      if (e.cidr.family === 4 && e.cidr.end - e.cidr.start + 1n > BigInt(MAX_LOCAL_PREFIX_ADDRESSES)) {
        throw new Error(`local prefix ${e.text} is larger than ${MAX_LOCAL_PREFIX_ADDRESSES} addresses`);
      }
    }
    this.build4(cidrs.filter((e) => e.cidr.family === 4));
    this.build6(cidrs.filter((e) => e.cidr.family === 6));
  }

  private build4(entries: LocalEntry[]): void {
    // exact addresses first: an address given alone keeps its own entry inside a prefix
    entries.sort((a, b) => b.cidr.length - a.cidr.length);
    let n = 0;
    for (const e of entries) n += Number(e.cidr.end - e.cidr.start + 1n);
    let bits = 4;
    while (1 << bits < n * 2) bits++;
    this.shift4 = 32 - bits;
    this.keys4 = new Int32Array(1 << bits);
    this.vals4 = new Int32Array(1 << bits).fill(-1);
    for (const e of entries) {
      let index = -1;
      for (let a = Number(e.cidr.start); a <= Number(e.cidr.end); a++) {
        if (this.index4(a) >= 0) continue;
        if (index < 0) index = this.v4.push(e) - 1;
        this.insert4(a, index);
      }
    }
  }

  private insert4(a: number, index: number): void {
    const mask = this.keys4.length - 1;
    let h = Math.imul(a, 0x9e3779b1) >>> this.shift4;
    while (this.vals4[h] >= 0) h = (h + 1) & mask;
    this.keys4[h] = a | 0;
    this.vals4[h] = index;
  }

  private build6(entries: LocalEntry[]): void {
    entries.sort((a, b) => b.cidr.length - a.cidr.length);
    const seen = new Set<string>();
    for (const e of entries) {
      const key = `${e.cidr.start}/${e.cidr.length}`;
      if (seen.has(key)) continue;
      seen.add(key);
      this.v6.push(e);
    }
    const byLength = new Map<number, number[]>();
    this.v6.forEach((e, i) => {
      const list = byLength.get(e.cidr.length) ?? [];
      list.push(i);
      byLength.set(e.cidr.length, list);
    });
    this.lengths6 = [...byLength.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([length, indexes]) => {
        const masks = Uint32Array.from([0, 1, 2, 3], (k) => {
          const bits = Math.max(0, Math.min(32, length - 32 * k));
          return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        });
        let bits = 2;
        while (1 << bits < indexes.length * 2) bits++;
        const keys = new Uint32Array((1 << bits) * 4);
        const vals = new Int32Array(1 << bits).fill(-1);
        const shift = 32 - bits;
        for (const i of indexes) {
          const w = ipv6BigIntToWords(this.v6[i].cidr.start);
          let h = hash6(w[0], w[1], w[2], w[3]) >>> shift;
          while (vals[h] >= 0) h = (h + 1) & (vals.length - 1);
          keys.set(w, h * 4);
          vals[h] = i;
        }
        return { masks, keys, vals, shift };
      });
  }

  /**
   * Add one IPv4 address (a flow log's interface address met for the first time); returns its entry.
   * The hash doubles when half full, so n additions cost O(n) in all.
   */
  add4(text: string, cidr: Cidr): number {
    const known = this.index4(Number(cidr.start));
    if (known >= 0) return known;
    const index = this.v4.push({ text, cidr }) - 1;
    if (2 * (this.v4.length + 1) > this.keys4.length) {
      let bits = Math.max(4, 32 - this.shift4 + 1);
      while (1 << bits < this.v4.length * 4) bits++;
      this.shift4 = 32 - bits;
      this.keys4 = new Int32Array(1 << bits);
      this.vals4 = new Int32Array(1 << bits).fill(-1);
      // in entry order: the constructor's exact addresses before its prefixes, as it built them
      this.v4.forEach((e, i) => {
        for (let a = Number(e.cidr.start); a <= Number(e.cidr.end); a++) if (this.index4(a) < 0) this.insert4(a, i);
      });
    } else this.insert4(Number(cidr.start), index);
    return index;
  }

  /** Entry of an IPv4 address (a host-order 32-bit number), or -1. */
  index4(a: number): number {
    const vals = this.vals4;
    if (vals.length === 0) return -1;
    const keys = this.keys4;
    const mask = keys.length - 1;
    const k = a | 0;
    let h = Math.imul(a, 0x9e3779b1) >>> this.shift4;
    for (;;) {
      const v = vals[h];
      if (v < 0) return -1;
      if (keys[h] === k) return v;
      h = (h + 1) & mask;
    }
  }

  /** Entry of an IPv6 address (four 32-bit words), or -1: the longest prefix that holds it. */
  index6(w: Uint32Array): number {
    const lengths = this.lengths6;
    for (let l = 0; l < lengths.length; l++) {
      const { masks, keys, vals, shift } = lengths[l];
      const a = (w[0] & masks[0]) >>> 0;
      const b = (w[1] & masks[1]) >>> 0;
      const c = (w[2] & masks[2]) >>> 0;
      const d = (w[3] & masks[3]) >>> 0;
      const mask = vals.length - 1;
      for (let h = hash6(a, b, c, d) >>> shift; ; h = (h + 1) & mask) {
        const v = vals[h];
        if (v < 0) break;
        const k = h * 4;
        if (keys[k] === a && keys[k + 1] === b && keys[k + 2] === c && keys[k + 3] === d) return v;
      }
    }
    return -1;
  }
}

function hash6(a: number, b: number, c: number, d: number): number {
  return Math.imul(a ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35) ^ Math.imul(d, 0x27d4eb2f), 0x9e3779b1);
}
