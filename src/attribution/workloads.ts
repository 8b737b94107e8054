// Workloads: who on this host a byte belongs to. The engine counts per
// workload number; this table turns (kind, namespace, name) into numbers and back. It is bounded: names
// come from the wire's owners (process names, pod names), so past the cap everything new is "other".

import { OTHER_WORKLOAD, UNKNOWN_WORKLOAD } from '../engine/owners.js';

/** What a pod's bytes are attributed to: its top owner's kind, else the pod. */
export const POD_OWNER_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Pod'] as const;
export type PodOwnerKind = (typeof POD_OWNER_KINDS)[number];
export type WorkloadKind = PodOwnerKind | 'systemd_unit' | 'process' | 'unknown' | 'other';

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

export class Workloads {
  private readonly list: Workload[] = [
    { kind: 'unknown', namespace: '', name: '' },
    { kind: 'other', namespace: '', name: 'other' },
  ];
  private readonly index = new Map<string, number>();
  /** Distinct workloads that found the table full and were counted as "other". */
  overflowed = 0;

  constructor(readonly capacity = 4096) {}

  get size(): number {
    return this.list.length;
  }

  /** The number of a workload, made on first sight; OTHER_WORKLOAD once the table is full. */
  id(kind: WorkloadKind, namespace: string, name: string): number {
    if (kind === 'unknown') return UNKNOWN_WORKLOAD;
    const ns = sanitizeWorkloadName(namespace);
    const n = sanitizeWorkloadName(name);
    const key = `${kind}\u0000${ns}\u0000${n}`;
    let i = this.index.get(key);
    if (i !== undefined) return i;
    if (this.list.length >= this.capacity) {
      this.overflowed++;
      return OTHER_WORKLOAD;
    }
    i = this.list.push({ kind, namespace: ns, name: n }) - 1;
    this.index.set(key, i);
    return i;
  }

  get(id: number): Workload {
    return this.list[id];
  }
}
