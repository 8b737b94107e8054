// Attribution: which pod, service or process each counted byte belongs to. Pods' addresses are known
// up front (the API server, or a --pods file): the engine looks them up with the local address it
// already found. The host's own addresses are shared by its processes: their flows are held in the
// flow table until a batch lookup in /proc names each flow's socket owner (sockets.ts).
import { addressKey, type Engine } from '../engine/engine.js';
import { parseCidr } from '../net/ip.js';
import { FlowTable } from './flows.js';
import type { PodInfo } from './pods.js';
import { ownerOf, processInfo, socketHolders, SocketTable, type Owner, type ProcessInfo } from './sockets.js';
import { UNKNOWN_WORKLOAD, Workloads } from './workloads.js';

export interface AttributionOptions {
  /** Attribute the host's own addresses to processes through /proc (needs the host's PID namespace). */
  processes: boolean;
  /** Flows of the host's own addresses tracked at once. */
  flowTableSize?: number;
  /** Everything to this workload (sidecar: the pod the exporter runs in). */
  fixed?: Owner;
  proc?: string;
  procNet?: string;
  /** A lookup result, for aztraffic_workload_lookups_total. */
  onLookup?: (result: 'found' | 'unknown' | 'table_full', n: number) => void;
}

/** How long a flow's owner is looked for: a socket can appear a moment after its first packet. */
const LOOKUP_TRIES = 4;
const LOOKUP_DELAY_MS = 20;
const RETRY_DELAY_MS = 50;
/** Flows idle this long are forgotten (their workload is looked up again if they come back). */
const FLOW_IDLE_SECONDS = 120;

export class Attribution {
  readonly workloads = new Workloads();
  readonly flows: FlowTable | undefined;
  private pods: PodInfo[] = [];
  private containerPods = new Map<string, Owner>();
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private inodeOwner = new Map<number, number>();
  private processes = new Map<number, { info: ProcessInfo | undefined; at: number }>();
  private lastFull = 0;
  /** The pods' workload numbers, and the one of --workload.fixed (-1: none). */
  private podIds = new Set<number>();
  private readonly fixed: number;
  /** No lookup batch before this time (ms): the last walk of /proc took a quarter of the gap. */
  private notBefore = 0;

  constructor(
    private readonly engine: Engine,
    private readonly o: AttributionOptions,
  ) {
    if (o.processes && !o.fixed) {
      this.flows = new FlowTable(o.flowTableSize ?? 65536);
      this.flows.onPending = () => this.schedule(LOOKUP_DELAY_MS);
      this.sweeper = setInterval(() => this.sweep(), 10_000);
      this.sweeper.unref();
    }
    this.fixed = o.fixed ? this.workloads.id(o.fixed.kind, o.fixed.namespace, o.fixed.name) : -1;
    this.engine.attribute(this.podWorkloads(), this.flows, this.fixed);
  }

  /**
   * The pods of this node (or of the capture). Their addresses count as theirs from the engine's next
   * setLocalIps, which the caller makes with podIps among the local addresses.
   */
  setPods(pods: readonly PodInfo[]): void {
    this.pods = [...pods];
    this.containerPods = new Map();
    for (const p of pods) for (const id of p.containerIds) this.containerPods.set(id, p.owner);
    this.engine.setAddressWorkloads(this.podWorkloads());
  }

  /** Addresses of pods that are not the host's own: local addresses too. */
  get podIps(): string[] {
    return this.pods.flatMap((p) => p.ips);
  }

  /**
   * The workload numbers something still holds: the pods', the tracked flows', the fixed one. The rest
   * are forgotten at a flush (Workloads.release): deleted pods, exited processes, flows gone idle.
   */
  heldWorkloads(): Set<number> {
    const held = new Set(this.podIds);
    if (this.fixed >= 0) held.add(this.fixed);
    this.flows?.workloadsHeld(held);
    return held;
  }

  /** The workload of each pod address (keyed as the engine keys local addresses). */
  private podWorkloads(): Map<string, number> {
    const byAddress = new Map<string, number>();
    this.podIds = new Set();
    for (const p of this.pods) {
      const id = this.workloads.id(p.owner.kind, p.owner.namespace, p.owner.name);
      this.podIds.add(id);
      for (const ip of p.ips) byAddress.set(addressKey(parseCidr(ip)), id);
    }
    return byAddress;
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    // a walk of every process's fds takes time on a busy host: at most a fifth of the time goes to it
    ms = Math.max(ms, this.notBefore - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lookUp();
    }, ms);
    this.timer.unref();
  }

  /** One batch: every queued flow's socket, its holder, and the holder's workload. */
  lookUp(): void {
    const flows = this.flows;
    if (!flows) return;
    const slots = flows.takePending();
    if (slots.length === 0) return;
    const sockets = new SocketTable(this.o.procNet);
    const tuples = slots.map((s) => flows.tuple(s));
    const inodes = tuples.map((t) => sockets.inodeOf(t));
    const missing = new Set(inodes.filter((i): i is number => i !== undefined && !this.inodeOwner.has(i)));
    if (missing.size > 0) {
      if (this.inodeOwner.size > 65536) this.inodeOwner.clear();
      const started = Date.now();
      for (const [inode, pid] of socketHolders(missing, this.o.proc)) this.inodeOwner.set(inode, pid);
      this.notBefore = Date.now() + 4 * (Date.now() - started);
    }
    const now = Date.now();
    let retry = false;
    const add = (w: number, dir: number, cat: number, bytes: number): void => this.engine.addWork(w, dir, cat, bytes);
    slots.forEach((slot, i) => {
      const inode = inodes[i];
      const pid = inode === undefined ? undefined : this.inodeOwner.get(inode);
      const info = pid === undefined ? undefined : this.process(pid, now);
      if (info) {
        const owner = ownerOf(info, (id) => this.containerPods.get(id));
        const id = this.workloads.id(owner.kind, owner.namespace, owner.name);
        this.engine.ensureWork(id);
        flows.resolve(slot, id, add);
        this.o.onLookup?.('found', 1);
      } else if (tuples[i].tries + 1 < LOOKUP_TRIES) {
        flows.requeue(slot);
        retry = true;
      } else {
        flows.resolve(slot, UNKNOWN_WORKLOAD, add);
        this.o.onLookup?.('unknown', 1);
      }
    });
    this.reportFull();
    if (retry) this.schedule(RETRY_DELAY_MS);
  }

  /** A process's name and cgroup, read once a second at most (a PID can be reused, rarely that fast). */
  private process(pid: number, now: number): ProcessInfo | undefined {
    const c = this.processes.get(pid);
    if (c && now - c.at < 1000) return c.info;
    if (this.processes.size > 16384) this.processes.clear();
    const info = processInfo(pid, this.o.proc);
    this.processes.set(pid, { info, at: now });
    return info;
  }

  /** Report flows that found the table full (at every batch and sweep). */
  private reportFull(): void {
    const flows = this.flows!;
    if (flows.full > this.lastFull) {
      const n = flows.full - this.lastFull;
      this.o.onLookup?.('table_full', n);
      this.lastFull = flows.full;
    }
  }

  /** Forget idle flows. */
  private sweep(): void {
    this.reportFull();
    this.flows!.sweep(this.engine.now - FLOW_IDLE_SECONDS);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.sweeper) clearInterval(this.sweeper);
    this.timer = undefined;
  }
}
