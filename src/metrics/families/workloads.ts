// aztraffic_workload_bytes_total and aztraffic_workload_dollars_total: bytes by the local owner of their
// socket or address (pod, systemd unit, process), and what they cost on their bill lines; bounded to the
// top K workloads by cost then bytes, the rest as workload="other".
// Live: chosen at every flush; analyze: over the whole capture (RankedCounter).
import client from 'prom-client';
import { CATEGORY_NAMES, DIRECTION_NAMES } from '../../classify/categories.js';
import type { KernelLookup, LookupMethod } from '../../attribution/attribution.js';
import type { Workloads } from '../../attribution/workloads.js';
import { pricedCategory, RankedCounter } from '../ranked-counter.js';
import { keyPrefix, type Delta, type SeriesShape } from '../top-k.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import type { MetricFamily } from './family.js';
import { Totals } from './totals.js';

export interface WorkloadLabels {
  direction: string;
  category: string;
  namespace: string;
  workload: string;
  workload_kind: string;
}

export const OTHER_WORKLOAD_NAME = 'other';

export const WORKLOAD_SHAPE: SeriesShape<WorkloadLabels> = {
  key: (l) => `${l.direction}\u0000${l.category}\u0000${l.namespace}\u0000${l.workload}\u0000${l.workload_kind}`,
  labels: (key) => {
    const [direction, category, namespace, workload, workload_kind] = key.split('\u0000');
    return { direction, category, namespace, workload, workload_kind };
  },
  other: (l) => ({ direction: l.direction, category: l.category, namespace: '', workload: OTHER_WORKLOAD_NAME, workload_kind: 'other' }),
  otherKey: (key) => `${keyPrefix(key, 2)}\u0000${OTHER_WORKLOAD_NAME}\u0000other`,
  isOther: (l) => l.workload_kind === 'other',
};

export class WorkloadsFamily implements MetricFamily {
  private readonly ranked: RankedCounter<WorkloadLabels>;
  private readonly lookups: client.Counter<'result'>;
  private readonly methods: client.Counter<'method'>;
  private readonly kernel: client.Gauge<'lookup'>;
  private readonly first: Totals<'outcome'>;
  private readonly firstCpu: Totals<never>;
  private firstCounts: ArrayLike<number> | undefined;
  private readonly folded: client.Counter;
  private readonly released: client.Counter;
  private counted = { folded: 0, released: 0 };

  constructor(
    registers: client.Registry[],
    k: number,
    /** The table that names the engine's workload numbers. */
    private readonly workloads: Workloads,
    /** The numbers something still holds (serve): the rest are forgotten after each drain. */
    private readonly held?: () => ReadonlySet<number>,
  ) {
    const labelNames = ['direction', 'category', 'namespace', 'workload', 'workload_kind'] as const;
    const counter = new client.Counter({
      name: 'aztraffic_workload_bytes_total',
      help: `IP-layer bytes by the local owner of their socket or address (pod's top owner, systemd unit or process; for flow logs, the logging interface's owner); top ${k} workloads by cost, the rest as workload="other".`,
      labelNames,
      registers,
    });
    const dollars = new client.Counter({
      name: 'aztraffic_workload_dollars_total',
      help: 'USD of the bytes of aztraffic_workload_bytes_total (same series): each byte at the sum of its bill lines\' prices in force when it was counted (NAT gateway, endpoint and Transit Gateway processing included).',
      labelNames,
      registers,
    });
    this.lookups = new client.Counter({
      name: 'aztraffic_workload_lookups_total',
      help: 'New flows of the host\'s own addresses looked up to a socket owner, by result (unknown: the socket closed first, or no permission; table_full: the flow table was full).',
      labelNames: ['result'],
      registers,
    });
    this.methods = new client.Counter({
      name: 'aztraffic_workload_lookup_methods_total',
      help: 'Flows of the host\'s own addresses whose owner was found, by how (socket: the kernel named the socket at the first packets; proc_net: a scan of /proc/net did; cgroup: the process had exited, the socket\'s cgroup named its unit or container; conntrack: a pod\'s connection behind this host\'s NAT).',
      labelNames: ['method'],
      registers,
    });
    this.kernel = new client.Gauge({
      name: 'aztraffic_workload_kernel_lookup_available',
      help: 'Whether the kernel answers exact lookups (1) or not (0: the netlink addon is not built, no permission, or not in this kernel): socket (inet_diag, a flow\'s socket at its first packet), first_packets (a connection this host opens, looked up as its SYN leaves) and conntrack (a pod\'s connection behind this host\'s NAT).',
      labelNames: ['lookup'],
      registers,
    });
    const firstTotals = (): void => {
      const c = this.firstCounts;
      if (!c) return;
      this.first.set({ outcome: 'looked_up' }, c[0]);
      this.first.set({ outcome: 'over_budget' }, c[1]);
      this.first.set({ outcome: 'lost' }, c[2]);
      this.firstCpu.set({}, c[3]);
    };
    this.first = new Totals(
      new client.Counter({
        name: 'aztraffic_workload_first_packets_total',
        help: 'Connections this host opened (TCP SYNs), looked up by the netlink addon\'s thread the moment they left: looked_up, over_budget (past the thread\'s budget of a quarter of a core: looked up when counted), lost (answers the exporter did not take in time).',
        labelNames: ['outcome'],
        registers,
        collect: firstTotals,
      }),
    );
    this.firstCpu = new Totals(
      new client.Counter({
        name: 'aztraffic_workload_first_packets_cpu_seconds_total',
        help: 'CPU time of the netlink addon\'s thread that looks up connections as their SYNs leave (held to a quarter of a core).',
        registers,
        collect: firstTotals,
      }),
    );
    new client.Gauge({
      name: 'aztraffic_workload_table_entries',
      help: 'Workloads in the table that names the counted ones (unknown and other included); new ones past aztraffic_workload_table_capacity are counted as workload="other".',
      registers,
      collect() {
        this.set(workloads.size);
      },
    });
    new client.Gauge({ name: 'aztraffic_workload_table_capacity', help: 'Workloads the table holds at most.', registers }).set(workloads.capacity);
    this.folded = new client.Counter({
      name: 'aztraffic_workload_table_folded_total',
      help: 'New workloads (a pod, a flow\'s process) that found the workload table full and were counted as workload="other".',
      registers,
    });
    this.released = new client.Counter({
      name: 'aztraffic_workload_table_released_total',
      help: 'Workloads forgotten at a flush because nothing held them any more (no pod of theirs on the node, no tracked flow): deleted pods, exited processes.',
      registers,
    });
    this.ranked = new RankedCounter(counter, dollars, k, WORKLOAD_SHAPE, pricedCategory);
  }

  /** Rank over the whole run instead of per flush (analyze). */
  accumulate(capacity: number): void {
    this.ranked.accumulate(capacity);
  }

  lookup(result: 'found' | 'unknown' | 'table_full', n = 1): void {
    this.lookups.inc({ result }, n);
  }

  method(method: LookupMethod): void {
    this.methods.inc({ method });
  }

  kernelLookup(lookup: KernelLookup, available: boolean): void {
    this.kernel.set({ lookup }, available ? 1 : 0);
  }

  /** The first-packets thread's totals (looked up, over the budget, lost), read at every scrape. */
  firstPackets(counts: ArrayLike<number>): void {
    this.firstCounts = counts;
  }

  take(p: Pipeline): void {
    const deltas = new Map<string, Delta<WorkloadLabels>>();
    p.engine.drainWorkloads((w, dir, cat, bytes, dollars) => {
      const wl = this.workloads.get(w);
      const labels: WorkloadLabels = {
        direction: DIRECTION_NAMES[dir],
        category: CATEGORY_NAMES[cat],
        namespace: wl.namespace,
        workload: wl.name,
        workload_kind: wl.kind,
      };
      const key = WORKLOAD_SHAPE.key(labels);
      const d = deltas.get(key);
      if (d) {
        d.bytes += bytes;
        d.dollars += dollars;
      } else deltas.set(key, { labels, bytes, dollars });
    });
    // bytes of the workload table's own "other" (past its capacity) are already the rest
    const spilled = [...deltas.entries()].filter(([, d]) => WORKLOAD_SHAPE.isOther(d.labels));
    for (const [key] of spilled) deltas.delete(key);
    this.ranked.add(
      deltas,
      spilled.map(([, d]) => d),
    );
    // the engine holds no workload's bytes now: numbers nothing holds can be given back
    if (this.held) this.workloads.release(this.held());
    this.folded.inc(this.workloads.folded - this.counted.folded);
    this.released.inc(this.workloads.released - this.counted.released);
    this.counted = { folded: this.workloads.folded, released: this.workloads.released };
  }

  /** analyze: the top K of the whole run get their series, the rest "other". */
  settle(): void {
    this.ranked.settle();
  }
}
