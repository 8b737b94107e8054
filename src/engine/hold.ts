// Traffic counted before the topology is known (a first boot: the exporter starts before the network,
// and IMDS, the EC2 API and ip-ranges.json answer seconds later), held per flow and classified once it
// is: never billed against a topology the exporter does not have. Open addressing over typed arrays
// (nothing allocated per packet), bounded; what finds it full is counted at once as unclassified.
import type { FlowView } from './flow-view.js';

export type HoldOutcome = 'classified' | 'unclassified' | 'table_full';

export class Hold {
  readonly capacity: number;
  private readonly mask: number;
  private readonly used: Uint8Array;
  private readonly family: Uint8Array;
  private readonly proto: Uint8Array;
  private readonly ports: Uint32Array;
  /** 1: a packet without ports (ICMP, a fragment). */
  private readonly portless: Uint8Array;
  private readonly src: Uint32Array;
  private readonly dst: Uint32Array;
  private readonly bytes: Float64Array;
  private readonly packets: Float64Array;
  private size = 0;
  /** Bytes by outcome so far (aztraffic_held_bytes_total). */
  readonly outcomes: Record<HoldOutcome, number> = { classified: 0, unclassified: 0, table_full: 0 };
  /** The view handed back per held flow on release (one object, refilled). */
  private readonly view = { family: 4, src4: 0, dst4: 0, src6: new Uint32Array(4), dst6: new Uint32Array(4), ipBytes: 0, packets: 0, proto: 0, srcPort: -1, dstPort: -1 };

  constructor(capacity = 65_536) {
    let c = 16;
    while (c < capacity * 2) c *= 2;
    this.capacity = capacity;
    this.mask = c - 1;
    this.used = new Uint8Array(c);
    this.family = new Uint8Array(c);
    this.proto = new Uint8Array(c);
    this.ports = new Uint32Array(c);
    this.portless = new Uint8Array(c);
    this.src = new Uint32Array(c * 4);
    this.dst = new Uint32Array(c * 4);
    this.bytes = new Float64Array(c);
    this.packets = new Float64Array(c);
  }

  /** Flows held now. */
  get flows(): number {
    return this.size;
  }

  /** Holds a packet's bytes with its flow's; false when the table is full (the caller counts it). */
  add(f: FlowView): boolean {
    const v4 = f.family === 4;
    const portless = f.srcPort < 0 ? 1 : 0;
    const ports = portless ? 0 : (((f.srcPort & 0xffff) << 16) | (f.dstPort & 0xffff)) >>> 0;
    let h = Math.imul(v4 ? f.src4 ^ Math.imul(f.dst4, 0x9e3779b1) : f.src6[3] ^ Math.imul(f.dst6[3], 0x9e3779b1) ^ f.src6[0] ^ f.dst6[1], 0x85ebca6b) ^ Math.imul(ports ^ f.proto, 0xc2b2ae35);
    h ^= h >>> 15;
    for (let i = 0; i <= this.mask; i++) {
      const s = (h + i) & this.mask;
      if (this.used[s] === 0) {
        if (this.size >= this.capacity) return false;
        this.used[s] = 1;
        this.size++;
        this.family[s] = f.family;
        this.proto[s] = f.proto;
        this.ports[s] = ports;
        this.portless[s] = portless;
        if (v4) {
          this.src[s * 4] = f.src4;
          this.dst[s * 4] = f.dst4;
        } else {
          this.src.set(f.src6, s * 4);
          this.dst.set(f.dst6, s * 4);
        }
        this.bytes[s] = f.ipBytes;
        this.packets[s] = f.packets;
        return true;
      }
      if (this.same(s, f, v4, ports, portless)) {
        this.bytes[s] += f.ipBytes;
        this.packets[s] += f.packets;
        return true;
      }
    }
    return false;
  }

  private same(s: number, f: FlowView, v4: boolean, ports: number, portless: number): boolean {
    if (this.family[s] !== f.family || this.proto[s] !== f.proto || this.ports[s] !== ports || this.portless[s] !== portless) return false;
    const o = s * 4;
    if (v4) return this.src[o] === f.src4 && this.dst[o] === f.dst4;
    for (let k = 0; k < 4; k++) if (this.src[o + k] !== f.src6[k] || this.dst[o + k] !== f.dst6[k]) return false;
    return true;
  }

  /** Hands every held flow to `count` (its bytes and packets as one view), then holds nothing; the bytes handed. */
  drain(count: (f: FlowView) => void, outcome: Exclude<HoldOutcome, 'table_full'>): number {
    const before = this.outcomes[outcome];
    const v = this.view;
    for (let s = 0; s <= this.mask; s++) {
      if (this.used[s] === 0) continue;
      const o = s * 4;
      v.family = this.family[s];
      v.proto = this.proto[s];
      const p = this.ports[s];
      v.srcPort = this.portless[s] ? -1 : p >>> 16;
      v.dstPort = this.portless[s] ? -1 : p & 0xffff;
      if (v.family === 4) {
        v.src4 = this.src[o];
        v.dst4 = this.dst[o];
      } else {
        v.src6.set(this.src.subarray(o, o + 4));
        v.dst6.set(this.dst.subarray(o, o + 4));
      }
      v.ipBytes = this.bytes[s];
      v.packets = this.packets[s];
      this.outcomes[outcome] += v.ipBytes;
      count(v);
      this.used[s] = 0;
    }
    this.size = 0;
    return this.outcomes[outcome] - before;
  }
}
