// This host's addresses, looked up twice per packet (source, then destination). An EKS node has dozens
// of them (every secondary IP of every ENI, and delegated /28 prefixes), so IPv4 is an open-addressing
// hash over typed arrays (prefixes expanded to their addresses), not a scan. IPv6 addresses and
// prefixes (/80 delegations cannot be expanded) are few per host: a scan, longest prefix first.
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
  private words6 = new Uint32Array(0);
  private masks6 = new Uint32Array(0);

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
    this.words6 = new Uint32Array(this.v6.length * 4);
    this.masks6 = new Uint32Array(this.v6.length * 4);
    this.v6.forEach((e, i) => {
      const w = ipv6BigIntToWords(e.cidr.start);
      for (let k = 0; k < 4; k++) {
        const bits = Math.max(0, Math.min(32, e.cidr.length - 32 * k));
        this.masks6[i * 4 + k] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        this.words6[i * 4 + k] = w[k];
      }
    });
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

  /** Entry of an IPv6 address (four 32-bit words), or -1. */
  index6(w: Uint32Array): number {
    const l = this.words6;
    const m = this.masks6;
    for (let i = 0, k = 0; k < l.length; i++, k += 4) {
      if ((w[0] & m[k]) >>> 0 === l[k] && (w[1] & m[k + 1]) >>> 0 === l[k + 1] && (w[2] & m[k + 2]) >>> 0 === l[k + 2] && (w[3] & m[k + 3]) >>> 0 === l[k + 3]) return i;
    }
    return -1;
  }
}
