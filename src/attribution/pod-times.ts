// Addresses over time, offline: a pod's address is given to another pod once it is gone (Jobs, CI
// runners and batch pods reuse a node's addresses within minutes). Bytes go to the pod that held the
// address when the packet was seen: a sink in front of the pipeline that, as the capture's time passes
// the start of a pod that takes over an address, hands the attribution the pods holding each address
// then. An address is its first holder's before anyone's start, and a finished pod's until the next
// holder starts (the file says when that pod ended, not who had the address in between).
import type { FrameSink } from '../sources/frame-sink.js';
import type { PodInfo } from './pods.js';

export class PodTimes implements FrameSink {
  /** Each address's holders, by start (unknown starts first). */
  private readonly holders = new Map<string, PodInfo[]>();
  /** Times at which an address changes hands, ascending. */
  private readonly changes: number[];
  private nextChange = 0;
  /** The window the pods set last hold for: [since, next). Before the first frame, none. */
  private since = Infinity;
  private next = -Infinity;

  constructor(
    private readonly inner: FrameSink,
    private readonly pods: readonly PodInfo[],
    /** The pods that hold the addresses from now on. */
    private readonly apply: (holding: PodInfo[]) => void,
  ) {
    for (const p of pods) for (const ip of p.ips) this.holders.set(ip, [...(this.holders.get(ip) ?? []), p]);
    const changes = new Set<number>();
    for (const list of this.holders.values()) {
      list.sort((a, b) => (a.from ?? -Infinity) - (b.from ?? -Infinity));
      for (const p of list.slice(1)) if (p.from !== undefined) changes.add(p.from);
    }
    this.changes = [...changes].sort((a, b) => a - b);
  }

  /** Whether any address changes hands: otherwise the pods can be set once, without this sink. */
  get reused(): boolean {
    return this.changes.length > 0;
  }

  /** The pods holding the addresses at time `t` (host-network pods, with no address, always). */
  holding(t: number): PodInfo[] {
    const out = new Set<PodInfo>(this.pods.filter((p) => p.ips.length === 0));
    for (const list of this.holders.values()) {
      let h = list[0];
      for (const p of list) if (p.from === undefined || p.from <= t) h = p;
      out.add(h);
    }
    return [...out];
  }

  addInterface(name: string, linkType: number): number {
    return this.inner.addInterface(name, linkType);
  }

  interfaceDrops(iface: number, kernel: number | undefined, ifdrop: number | undefined): void {
    this.inner.interfaceDrops?.(iface, kernel, ifdrop);
  }

  frame(linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number, ts: number, iface: number): void {
    if (ts >= this.next || ts < this.since) this.advance(ts);
    this.inner.frame(linkType, buf, off, capLen, wireLen, ts, iface);
  }

  /** Into the window of `ts` (forward as time passes; back for a file that starts earlier). */
  private advance(ts: number): void {
    let i = 0;
    while (i < this.changes.length && this.changes[i] <= ts) i++;
    const changed = i !== this.nextChange || this.since === Infinity;
    this.nextChange = i;
    this.since = i > 0 ? this.changes[i - 1] : -Infinity;
    this.next = i < this.changes.length ? this.changes[i] : Infinity;
    if (changed) this.apply(this.holding(ts));
  }
}
