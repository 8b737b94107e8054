// Workloads: who on this host a byte belongs to. The engine counts per
// workload number; this table turns (kind, namespace, name) into numbers and back. It is bounded: names
// come from the wire's owners (process names, pod names), so past the cap everything new is "other".
// It forgets: at every flush, a workload that nothing holds any more (no pod of it on the node, no
// tracked flow of it) gives its number back, so short-lived pods and processes never fill it for good.

import { OTHER_WORKLOAD, UNKNOWN_WORKLOAD } from '../engine/owners.js';

/** What a pod's bytes are attributed to: its top owner's kind, else the pod. */
export const POD_OWNER_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod'] as const;
export type PodOwnerKind = (typeof POD_OWNER_KINDS)[number];
/** A flow log's interface owners (EniOwnerKind), and 'Address' for a host known only by its address. */
export type FlowLogOwnerKind = 'NatGateway' | 'LoadBalancer' | 'VpcEndpoint' | 'TransitGateway' | 'GatewayLoadBalancer' | 'Instance' | 'Lambda' | 'RDS' | 'ECS' | 'EFS' | 'NetworkInterface' | 'Address';
export type WorkloadKind = PodOwnerKind | FlowLogOwnerKind | 'systemd_unit' | 'process' | 'unknown' | 'other';

export interface Workload {
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

export { OTHER_WORKLOAD, UNKNOWN_WORKLOAD };

const MAX_LABEL = 128;

/** Label-safe, bounded form of a name from the host or the API server. */
export function sanitizeWorkloadName(raw: string): string {
  let s = raw.replace(/[^A-Za-z0-9._:@/-]/g, '_');
  if (s.length > MAX_LABEL) s = s.slice(0, MAX_LABEL - 1) + '~';
  // a real workload never merges into the bucket of the rest
  if (s === 'other') s = 'other.';
  return s;
}

/** What a number given back reads as until it is handed out again (it never carries bytes). */
const RELEASED: Workload = Object.freeze({ kind: 'unknown', namespace: '', name: '' });

export class Workloads {
  private readonly list: Workload[] = [
    { kind: 'unknown', namespace: '', name: '' },
    { kind: 'other', namespace: '', name: 'other' },
  ];
  private readonly index = new Map<string, number>();
  /** Numbers given back, handed out again before the table grows. */
  private readonly free: number[] = [];
  /** Times a new workload found the table full and was counted as "other". */
  folded = 0;
  /** Workloads forgotten because nothing held them any more. */
  released = 0;

  constructor(readonly capacity = 4096) {}

  /** Workloads in the table, "unknown" and "other" included. */
  get size(): number {
    return this.list.length - this.free.length;
  }

  /** The number of a workload, made on first sight; OTHER_WORKLOAD once the table is full. */
  id(kind: WorkloadKind, namespace: string, name: string): number {
    if (kind === 'unknown') return UNKNOWN_WORKLOAD;
    const ns = sanitizeWorkloadName(namespace);
    const n = sanitizeWorkloadName(name);
    const key = `${kind}\u0000${ns}\u0000${n}`;
    let i = this.index.get(key);
    if (i !== undefined) return i;
    const entry: Workload = { kind, namespace: ns, name: n };
    i = this.free.pop();
    if (i !== undefined) this.list[i] = entry;
    else if (this.list.length >= this.capacity) {
      this.folded++;
      return OTHER_WORKLOAD;
    } else i = this.list.push(entry) - 1;
    this.index.set(key, i);
    return i;
  }

  get(id: number): Workload {
    return this.list[id];
  }

  /**
   * Forget every workload whose number is not in `held`: its number is handed out again. Only where no
   * counter holds bytes of theirs (just after the engine's workload counters were drained), else those
   * bytes would go to the next owner of the number. Returns how many were forgotten.
   */
  release(held: ReadonlySet<number>): number {
    let n = 0;
    for (const [key, i] of this.index) {
      if (held.has(i)) continue;
      this.index.delete(key);
      this.list[i] = RELEASED;
      this.free.push(i);
      n++;
    }
    this.released += n;
    return n;
  }
}
