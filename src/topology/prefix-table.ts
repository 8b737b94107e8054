// Prefix lookup for the hot path. All prefixes are flattened once into sorted, disjoint segments that
// cover the whole address space, so a lookup is one binary search over typed arrays and allocates
// nothing. Which prefix owns a point: the one with the highest rank among those covering it
// (rank = rule priority * 256 + prefix length, so longest prefix wins within one rule).
import { ipv6BigIntToWords, type Cidr } from '../net/ip.js';

export interface RankedPrefix {
  cidr: Cidr;
  rank: number;
  value: number; // class index; 0 is the default for uncovered space
}

interface Flat {
  starts: bigint[];
  values: number[];
}

function flatten(prefixes: RankedPrefix[], maxAddr: bigint): Flat {
  // CIDR blocks either nest or are disjoint: a stack sweep in (start asc, end desc) order visits
  // each block inside its containers.
  const sorted = [...prefixes].sort((a, b) => {
    if (a.cidr.start !== b.cidr.start) return a.cidr.start < b.cidr.start ? -1 : 1;
    if (a.cidr.end !== b.cidr.end) return a.cidr.end > b.cidr.end ? -1 : 1;
    return a.rank - b.rank;
  });
  const starts: bigint[] = [];
  const values: number[] = [];
  const emit = (s: bigint, v: number): void => {
    const last = starts.length - 1;
    if (last >= 0 && starts[last] === s) values[last] = v;
    else if (last < 0 || values[last] !== v) {
      starts.push(s);
      values.push(v);
    }
  };
  const stack: { end: bigint; rank: number; value: number }[] = [];
  const closeBefore = (pos: bigint): void => {
    while (stack.length > 0 && stack[stack.length - 1].end < pos) {
      const top = stack.pop()!;
      const next = top.end + 1n;
      if (next <= maxAddr) emit(next, stack.length > 0 ? stack[stack.length - 1].value : 0);
    }
  };
  emit(0n, 0);
  for (const p of sorted) {
    closeBefore(p.cidr.start);
    const outer = stack[stack.length - 1];
    const eff = outer !== undefined && outer.rank > p.rank ? { rank: outer.rank, value: outer.value } : p;
    stack.push({ end: p.cidr.end, rank: eff.rank, value: eff.value });
    emit(p.cidr.start, eff.value);
  }
  closeBefore(maxAddr + 1n);
  return { starts, values };
}

/** A second set of prefixes whose owner combines with the first's into one value per segment. */
export interface Overlay {
  prefixes: RankedPrefix[];
  combine(value: number, overlay: number): number;
}

function flattenWith(prefixes: RankedPrefix[], family: 4 | 6, overlay: Overlay | undefined): Flat {
  const max = family === 4 ? 0xffffffffn : (1n << 128n) - 1n;
  const a = flatten(prefixes.filter((p) => p.cidr.family === family), max);
  if (!overlay) return a;
  const b = flatten(overlay.prefixes.filter((p) => p.cidr.family === family), max);
  // both cover the whole space from 0: sweep the union of their segment starts
  const starts: bigint[] = [];
  const values: number[] = [];
  let i = 0;
  let j = 0;
  const end = max + 1n;
  while (i < a.starts.length || j < b.starts.length) {
    const sa = i < a.starts.length ? a.starts[i] : end;
    const sb = j < b.starts.length ? b.starts[j] : end;
    const s = sa < sb ? sa : sb;
    if (sa === s) i++;
    if (sb === s) j++;
    const v = overlay.combine(a.values[i - 1], b.values[j - 1]);
    if (values.length > 0 && values[values.length - 1] === v) continue;
    starts.push(s);
    values.push(v);
  }
  return { starts, values };
}

/** A table's segments as built: `words` 32-bit words of start per segment, the owner of each. */
export interface Segments {
  starts: Uint32Array;
  values: Int32Array;
}

/** Segments from elsewhere (a cache file) must be what a build makes, or lookups would go astray. */
function checkSegments(seg: Segments, words: number): Segments {
  const n = seg.values.length;
  if (n === 0 || seg.starts.length !== n * words) throw new Error('prefix table: segment arrays of different lengths');
  for (let k = 0; k < words; k++) if (seg.starts[k] !== 0) throw new Error('prefix table: the first segment does not start at 0');
  for (let i = 1; i < n; i++) {
    let c = 0;
    for (let k = 0; k < words && c === 0; k++) c = seg.starts[i * words + k] - seg.starts[(i - 1) * words + k];
    if (c <= 0) throw new Error('prefix table: segment starts not ascending');
  }
  return seg;
}

/** IPv4: segments plus a direct index on the top 16 bits, so the binary search spans a few entries. */
export class PrefixTable4 {
  readonly starts: Uint32Array;
  readonly values: Int32Array;
  private readonly index16: Uint32Array;

  /** From prefixes, or from the segments of a table built before (the compiled-topology cache). */
  constructor(prefixes: RankedPrefix[] | Segments, overlay?: Overlay) {
    if (Array.isArray(prefixes)) {
      const flat = flattenWith(prefixes, 4, overlay);
      this.starts = Uint32Array.from(flat.starts, (s) => Number(s));
      this.values = Int32Array.from(flat.values);
    } else {
      ({ starts: this.starts, values: this.values } = checkSegments(prefixes, 1));
    }
    // index16[t]: the segment holding address t << 16, in one sweep (starts ascend)
    this.index16 = new Uint32Array(65537);
    const starts = this.starts;
    const last = starts.length - 1;
    let seg = 0;
    for (let t = 0; t < 65536; t++) {
      const a = t * 65536;
      while (seg < last && starts[seg + 1] <= a) seg++;
      this.index16[t] = seg;
    }
    this.index16[65536] = last;
  }

  get segments(): number {
    return this.starts.length;
  }

  private segmentOf(a: number, lo: number, hi: number): number {
    const s = this.starts;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid] <= a) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** `a` is an unsigned 32-bit address. */
  lookup(a: number): number {
    const t = a >>> 16;
    return this.values[this.segmentOf(a, this.index16[t], this.index16[t + 1])];
  }
}

/** IPv6: segment starts stored as four 32-bit words each. */
export class PrefixTable6 {
  readonly starts: Uint32Array;
  readonly values: Int32Array;

  constructor(prefixes: RankedPrefix[] | Segments, overlay?: Overlay) {
    if (!Array.isArray(prefixes)) {
      ({ starts: this.starts, values: this.values } = checkSegments(prefixes, 4));
      return;
    }
    const flat = flattenWith(prefixes, 6, overlay);
    this.starts = new Uint32Array(flat.starts.length * 4);
    flat.starts.forEach((s, i) => this.starts.set(ipv6BigIntToWords(s), i * 4));
    this.values = Int32Array.from(flat.values);
  }

  get segments(): number {
    return this.values.length;
  }

  /** `w` holds the address as four big-endian 32-bit words. */
  lookup(w: Uint32Array): number {
    const s = this.starts;
    const w0 = w[0];
    const w1 = w[1];
    const w2 = w[2];
    const w3 = w[3];
    let lo = 0;
    let hi = this.values.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const k = mid << 2;
      // start[mid] <= address, compared word by word
      const le =
        s[k] < w0 ||
        (s[k] === w0 && (s[k + 1] < w1 || (s[k + 1] === w1 && (s[k + 2] < w2 || (s[k + 2] === w2 && s[k + 3] <= w3)))));
      if (le) lo = mid;
      else hi = mid - 1;
    }
    return this.values[lo];
  }
}
