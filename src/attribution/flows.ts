// Flows of this host's own addresses (not pods'), keyed by the 5-tuple, for attribution to processes.
// A packet finds its flow here (open addressing over typed arrays, nothing allocated); a new flow is
// queued and its bytes held until the socket's owner is resolved off the hot path (SocketOwners), then
// moved to that workload. Bounded: when the table is full, new flows count as unknown at once.

import type { FlowView } from '../engine/engine.js';
import { PENDING, type FlowOwners } from '../engine/owners.js';

export { PENDING };

const EMPTY = 0;
const USED = 1;

export class FlowTable implements FlowOwners {
  readonly capacity: number;
  private readonly mask: number;
  private state!: Uint8Array;
  private family!: Uint8Array;
  private proto!: Uint8Array;
  private ports!: Uint32Array;
  private local!: Uint32Array;
  private remote!: Uint32Array;
  /** The flow's workload number, or PENDING. */
  private work!: Int32Array;
  /** Bytes held while pending (and their cost): index slot * 2 + direction, with the category of the flow's first packet. */
  private held!: Float64Array;
  private heldCost!: Float64Array;
  private cat!: Uint8Array;
  private first!: Float64Array;
  private last!: Float64Array;
  private tries!: Uint8Array;
  private used = 0;
  /** The slot of the last flow seen per local port: TCP ports 0-65535, UDP and others at 65536 + port. */
  private portCache = new Int32Array(0x20000).fill(-1);
  /** New flows waiting for their first lookup, oldest first; flows whose lookup is to be tried again. */
  private queue: Int32Array;
  private qHead = 0;
  private qLen = 0;
  private retries: number[] = [];
  /** Flows that found the table full: counted as unknown without a lookup. */
  full = 0;
  /** Called once when the queue of new flows goes from empty to not empty. */
  onPending: () => void = () => {};

  constructor(capacity = 65536) {
    let c = 16;
    while (c < capacity) c *= 2;
    this.capacity = c;
    this.mask = c - 1;
    this.queue = new Int32Array(c);
    this.clear();
  }

  get size(): number {
    return this.used;
  }

  get pending(): number {
    return this.qLen + this.retries.length;
  }

  /**
   * The flow of a packet: its workload number, or PENDING (then its bytes are held here), or -2 when
   * the table is full (the caller counts the bytes as unknown). IPv4 addresses in word 0 of l6/r6.
   */
  seePacket(f: FlowView, egress: boolean, dir: number, cat: number, cost: number, now: number): number {
    const lport = egress ? f.srcPort : f.dstPort;
    const rport = egress ? f.dstPort : f.srcPort;
    // the last flow of this local port (and protocol) first: a socket's packets come in runs, and a
    // local port has one socket at a time but for servers, whose remote is compared too
    const pi = (lport & 0xffff) | (f.proto === 17 ? 0x10000 : 0);
    const c = this.portCache[pi];
    if (c >= 0 && (this.ports[c] & 0xffff) === rport && this.proto[c] === f.proto && this.family[c] === f.family) {
      const o = c * 4;
      let same: boolean;
      if (f.family === 4) {
        same = this.local[o] === (egress ? f.src4 : f.dst4) >>> 0 && this.remote[o] === (egress ? f.dst4 : f.src4) >>> 0;
      } else {
        const l = egress ? f.src6 : f.dst6;
        const r = egress ? f.dst6 : f.src6;
        same = this.local[o + 3] === l[3] && this.remote[o + 3] === r[3] && this.local[o + 2] === l[2] && this.remote[o + 2] === r[2] && this.local[o] === l[0] && this.remote[o] === r[0] && this.local[o + 1] === l[1] && this.remote[o + 1] === r[1];
      }
      if (same) {
        this.last[c] = now;
        const w = this.work[c];
        if (w === PENDING) {
          this.held[c * 2 + dir] += f.ipBytes;
          this.heldCost[c * 2 + dir] += cost;
        }
        return w;
      }
    }
    return this.see(f.family, f.proto, egress ? f.src4 : f.dst4, egress ? f.src6 : f.dst6, egress ? f.dst4 : f.src4, egress ? f.dst6 : f.src6, lport, rport, dir, cat, f.ipBytes, now, cost);
  }

  /** see() with the flow's key given apart (tests, and packets the port cache does not know). */
  see(family: number, proto: number, l4: number, l6: Uint32Array, r4: number, r6: Uint32Array, lport: number, rport: number, dir: number, cat: number, bytes: number, now: number, cost = 0): number {
    const pi = (lport & 0xffff) | (proto === 17 ? 0x10000 : 0);
    const h = this.locate(family, proto, l4, l6, r4, r6, lport, rport);
    if (h >= 0) this.portCache[pi] = h;
    if (h < 0) {
      this.full++;
      return -2;
    }
    this.last[h] = now;
    if (this.created) {
      this.work[h] = PENDING;
      this.held[h * 2] = 0;
      this.held[h * 2 + 1] = 0;
      this.heldCost[h * 2] = 0;
      this.heldCost[h * 2 + 1] = 0;
      this.cat[h] = cat;
      this.first[h] = now;
      this.tries[h] = 0;
      this.enqueue(h);
    }
    const w = this.work[h];
    if (w === PENDING) {
      this.held[h * 2 + dir] += bytes;
      this.heldCost[h * 2 + dir] += cost;
    }
    return w;
  }

  /** Set by locate(): the slot it returned was empty and now holds the flow's key. */
  private created = false;

  /** The flow's slot, made when new; -1 when new and the table is full. */
  private locate(family: number, proto: number, l4: number, l6: Uint32Array, r4: number, r6: Uint32Array, lport: number, rport: number): number {
    const v4 = family === 4;
    const pp = (((lport & 0xffff) << 16) | (rport & 0xffff)) >>> 0;
    let h = Math.imul(pp ^ (proto << 8) ^ family, 0x9e3779b1);
    if (v4) {
      h = Math.imul(h ^ l4, 0x85ebca6b);
      h = Math.imul(h ^ r4, 0xc2b2ae35);
    } else {
      for (let k = 0; k < 4; k++) h = Math.imul(h ^ l6[k] ^ Math.imul(r6[k], 0x27d4eb2f), 0x85ebca6b);
    }
    h = (h ^ (h >>> 15)) & this.mask;
    const st = this.state;
    this.created = false;
    for (;;) {
      if (st[h] === EMPTY) break;
      if (this.ports[h] === pp && this.proto[h] === proto && this.family[h] === family && this.matches(h, v4, l4, l6, r4, r6)) return h;
      h = (h + 1) & this.mask;
    }
    if (this.used * 4 >= this.capacity * 3) return -1;
    st[h] = USED;
    this.used++;
    this.created = true;
    this.family[h] = family;
    this.proto[h] = proto;
    this.ports[h] = pp;
    const o = h * 4;
    if (v4) {
      this.local[o] = l4;
      this.remote[o] = r4;
    } else {
      for (let k = 0; k < 4; k++) {
        this.local[o + k] = l6[k];
        this.remote[o + k] = r6[k];
      }
    }
    return h;
  }

  private matches(h: number, v4: boolean, l4: number, l6: Uint32Array, r4: number, r6: Uint32Array): boolean {
    const o = h * 4;
    if (v4) return this.local[o] === l4 >>> 0 && this.remote[o] === r4 >>> 0;
    for (let k = 0; k < 4; k++) if (this.local[o + k] !== l6[k] || this.remote[o + k] !== r6[k]) return false;
    return true;
  }

  private enqueue(slot: number): void {
    const wasEmpty = this.qLen === 0;
    this.queue[(this.qHead + this.qLen) % this.capacity] = slot;
    this.qLen++;
    if (wasEmpty) this.onPending();
  }

  /**
   * Take the new flows (for a lookup), and with `retries` those to be tried again too; those still
   * unresolved afterwards go back with requeue(). New flows are looked up at once, retries on a timer:
   * a new connection is not kept waiting behind one whose socket has not appeared yet.
   */
  takePending(retries = true): number[] {
    const out: number[] = [];
    if (retries) {
      out.push(...this.retries);
      this.retries = [];
    }
    for (; this.qLen > 0; this.qLen--) {
      out.push(this.queue[this.qHead]);
      this.qHead = (this.qHead + 1) % this.capacity;
    }
    return out;
  }

  requeue(slot: number): void {
    this.tries[slot]++;
    this.retries.push(slot);
  }

  /** What a lookup needs of a flow. */
  tuple(slot: number): { family: 4 | 6; proto: number; local: Uint32Array; remote: Uint32Array; localPort: number; remotePort: number; first: number; tries: number } {
    const p = this.ports[slot];
    const o = slot * 4;
    return {
      family: this.family[slot] === 4 ? 4 : 6,
      proto: this.proto[slot],
      local: this.local.slice(o, o + 4),
      remote: this.remote.slice(o, o + 4),
      localPort: p >>> 16,
      remotePort: p & 0xffff,
      first: this.first[slot],
      tries: this.tries[slot],
    };
  }

  /** The owner is known: the flow's held bytes go to `add`, and its next packets to the workload directly. */
  resolve(slot: number, workload: number, add: (workload: number, dir: number, cat: number, bytes: number, cost: number) => void): void {
    this.work[slot] = workload;
    for (let dir = 0; dir < 2; dir++) {
      const b = this.held[slot * 2 + dir];
      if (b > 0) add(workload, dir, this.cat[slot], b, this.heldCost[slot * 2 + dir]);
      this.held[slot * 2 + dir] = 0;
      this.heldCost[slot * 2 + dir] = 0;
    }
  }

  /** Adds the workload number of every flow tracked here (resolved ones: pending flows have none yet). */
  workloadsHeld(into: Set<number>): void {
    for (let s = 0; s < this.capacity; s++) if (this.state[s] === USED && this.work[s] >= 0) into.add(this.work[s]);
  }

  /** Fresh, empty arrays (the old ones stay with whoever holds them: sweep reads them). */
  private clear(): void {
    const c = this.capacity;
    this.state = new Uint8Array(c);
    this.family = new Uint8Array(c);
    this.proto = new Uint8Array(c);
    this.ports = new Uint32Array(c);
    this.local = new Uint32Array(c * 4);
    this.remote = new Uint32Array(c * 4);
    this.work = new Int32Array(c);
    this.held = new Float64Array(c * 2);
    this.heldCost = new Float64Array(c * 2);
    this.cat = new Uint8Array(c);
    this.first = new Float64Array(c);
    this.last = new Float64Array(c);
    this.tries = new Uint8Array(c);
    this.used = 0;
    this.qHead = 0;
    this.qLen = 0;
    this.retries = [];
    this.portCache.fill(-1);
  }

  /**
   * Forget flows idle since `before` (resolved ones; pending ones stay until looked up): the table is
   * rebuilt from the rest, and the lookup queue with it.
   */
  sweep(before: number): void {
    const keep: number[] = [];
    for (let s = 0; s < this.capacity; s++) if (this.state[s] === USED && (this.last[s] >= before || this.work[s] === PENDING)) keep.push(s);
    if (keep.length === this.used) return;
    const old = {
      family: this.family,
      proto: this.proto,
      ports: this.ports,
      local: this.local,
      remote: this.remote,
      work: this.work,
      held: this.held,
      heldCost: this.heldCost,
      cat: this.cat,
      first: this.first,
      last: this.last,
      tries: this.tries,
    };
    this.clear();
    for (const s of keep) {
      const o = s * 4;
      const h = this.locate(old.family[s], old.proto[s], old.local[o], old.local.subarray(o, o + 4), old.remote[o], old.remote.subarray(o, o + 4), old.ports[s] >>> 16, old.ports[s] & 0xffff);
      this.work[h] = old.work[s];
      this.held[h * 2] = old.held[s * 2];
      this.held[h * 2 + 1] = old.held[s * 2 + 1];
      this.heldCost[h * 2] = old.heldCost[s * 2];
      this.heldCost[h * 2 + 1] = old.heldCost[s * 2 + 1];
      this.cat[h] = old.cat[s];
      this.first[h] = old.first[s];
      this.last[h] = old.last[s];
      this.tries[h] = old.tries[s];
      if (old.work[s] === PENDING) this.enqueue(h);
    }
  }
}
