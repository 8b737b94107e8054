// Attribution: which pod, service or process each counted byte belongs to. Pods' addresses are known
// up front (the API server, or a --pods file): the engine looks them up with the local address it
// already found. The host's own addresses are shared by its processes: their flows are held in the
// flow table until a lookup names each flow's socket owner: the kernel's exact answer at the flow's
// first packet (kernel.ts), else a scan of /proc/net (sockets.ts); a flow with no socket here may be
// a pod's behind the host's NAT, which connection tracking tells.
import { addressKey, type Engine } from '../engine/engine.js';
import { parseCidr, wordsToBigInt } from '../net/ip.js';
import { FlowTable } from './flows.js';
import type { PodInfo } from './pods.js';
import { CgroupPaths, connectionKey, KernelLookups, loadNetlink, TCP_NEW_SYN_RECV, type FirstAnswer, type FlowSocket } from './kernel.js';
import type { SocketList } from './ss.js';
import { describeCgroup, ownerOf, processInfo, socketHolders, SocketTable, type Owner, type ProcessInfo, type SocketKey } from './sockets.js';
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
  /** Ask the kernel for each flow's socket and NAT (the netlink addon), when it is built. */
  kernel?: boolean;
  /** The sockets taken beside a replayed capture (`ss`): flows' owners from it, not from this host. */
  sockets?: SocketList;
  /** A lookup result, for aztraffic_workload_lookups_total. */
  onLookup?: (result: 'found' | 'unknown' | 'table_full', n: number) => void;
  /** How a found owner was found, for aztraffic_workload_lookup_methods_total. */
  onMethod?: (method: LookupMethod) => void;
  /** A lookup that cannot work here (said once, at start or when first seen). */
  onProblem?: (lookup: KernelLookup, message: string) => void;
}

/** The kernel's exact lookups: a flow's socket, a connection this host opens as its SYN leaves, a pod's behind NAT. */
export type KernelLookup = 'socket' | 'first_packets' | 'conntrack';

/**
 * socket: the kernel named the socket at the flow's first packets; proc_net: a scan of /proc/net did
 * (no addon); cgroup: the process had gone, its socket's cgroup named the unit or container;
 * conntrack: no socket here, the connection was a pod's, translated by this host's NAT.
 */
export type LookupMethod = 'socket' | 'proc_net' | 'cgroup' | 'conntrack';

/** How long a flow's owner is looked for: a socket can appear a moment after its first packet. */
const LOOKUP_TRIES = 4;
const LOOKUP_DELAY_MS = 20;
const RETRY_DELAY_MS = 50;
/** The share of a core reads of /proc/PID/fd may take, and the most CPU time (ms) they may take at once. */
const WALK_SHARE = 0.2;
const WALK_BUDGET_MS = 100;
/** Processes whose file descriptors are read first, before a walk of all of /proc. */
const RECENT_HOLDERS = 8;
/** Flows idle this long are forgotten (their workload is looked up again if they come back). */
const FLOW_IDLE_SECONDS = 120;
/** First-packet answers kept for the flows they are of: at most so many, for at most so long (ms). */
const FIRST_ANSWERS = 65536;
const FIRST_ANSWER_MS = 60_000;

export class Attribution {
  readonly workloads = new Workloads();
  readonly flows: FlowTable | undefined;
  private pods: PodInfo[] = [];
  private containerPods = new Map<string, Owner>();
  private timer: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  /**
   * Each socket's holder, by inode, and the name it had as the socket's SYN left (the first-packets
   * thread's): that names a holder that exited before its flow was counted.
   */
  private inodeHolder = new Map<number, { pid: number; name?: string }>();
  private processes = new Map<number, { info: ProcessInfo | undefined; at: number }>();
  private lastFull = 0;
  /** The pods' workload numbers, and the one of --workload.fixed (-1: none). */
  private podIds = new Set<number>();
  private readonly fixed: number;
  /**
   * Reading processes' descriptors costs CPU time: a budget (ms of CPU) refilled at a fifth of the
   * time that passes, up to a tenth of a second, so that a walk at a new connection runs at once and
   * a flood of them takes a fifth of a core at most. Flows wait while it is spent.
   */
  private walkBudget = WALK_BUDGET_MS;
  private budgetAt = Date.now();
  /** Pod addresses (engine keys) → workload, for connections that left through this host's NAT. */
  private podByAddress = new Map<string, number>();
  private readonly kernel: KernelLookups | undefined;
  private readonly cgroups: CgroupPaths | undefined;
  private said = { socket: false, first_packets: false, conntrack: false };
  /** What the first-packets thread found as connections' SYNs left, by connectionKey. */
  private first = new Map<string, FirstAnswer>();
  private firstTimer: NodeJS.Timeout | undefined;
  /** A lookup is queued as a microtask; one is running. */
  private queued = false;
  private looking = false;
  /** The processes that held the last sockets found, newest first: looked at before the rest. */
  private recentHolders: number[] = [];

  constructor(
    private readonly engine: Engine,
    private readonly o: AttributionOptions,
  ) {
    if (o.processes && !o.fixed) {
      this.flows = new FlowTable(o.flowTableSize ?? 65536);
      if (o.kernel !== false && !o.sockets) {
        const { addon, problem } = loadNetlink();
        if (addon) {
          this.kernel = new KernelLookups(addon);
          this.kernel.probe();
          this.cgroups = new CgroupPaths();
          this.sayProblems();
          const first = this.kernel.startFirst();
          if (first) this.say('first_packets', `${first}: a connection this host opens is looked up when its packets are counted (batches of up to 50 ms), and one shorter than that may be workload_kind="unknown"`);
          else {
            // answers for flows that are never counted (another interface, the capture filter) must not pile up
            this.firstTimer = setInterval(() => this.takeFirst(), 1000);
            this.firstTimer.unref();
          }
        } else {
          this.say('socket', `${problem}: sockets are found by scanning /proc/net 20-170 ms after a flow's first packet (a shorter connection is unknown), and pods behind this host's NAT are not told apart`);
        }
      }
      // with the kernel's exact answer, at the end of the batch of packets that began the flow: the
      // socket of a connection of a millisecond is gone by the next timer
      this.flows.onPending = () => {
        // flows a lookup puts back are retried on its timer
        if (this.looking) return;
        if (this.kernel || o.sockets) this.soon();
        else this.schedule(LOOKUP_DELAY_MS);
      };
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
    this.podByAddress = byAddress;
    this.podIds = new Set();
    // an address two pods claim (the old one's end not seen yet) is the one that started last
    const byStart = [...this.pods].sort((a, b) => (a.from ?? -Infinity) - (b.from ?? -Infinity));
    for (const p of byStart) {
      const id = this.workloads.id(p.owner.kind, p.owner.namespace, p.owner.name);
      this.podIds.add(id);
      for (const ip of p.ips) byAddress.set(addressKey(parseCidr(ip)), id);
    }
    return byAddress;
  }

  private soon(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.lookUp(false);
    });
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    // a walk of every process's fds takes time on a busy host: at most a fifth of the time goes to it
    ms = Math.max(ms, this.budgetWait());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lookUp();
    }, ms);
    this.timer.unref();
  }

  /** One batch: every new flow's socket, its holder, and the holder's workload (with `retries`, the rest's too). */
  lookUp(retries = true): void {
    const flows = this.flows;
    if (!flows) return;
    const slots = flows.takePending(retries);
    if (slots.length === 0) return;
    this.looking = true;
    try {
      this.lookUpSlots(flows, slots);
    } finally {
      this.looking = false;
    }
  }

  private lookUpSlots(flows: FlowTable, slots: number[]): void {
    const tuples = slots.map((s) => flows.tuple(s));
    const add = (w: number, dir: number, cat: number, bytes: number, cost: number): void => this.engine.addWork(w, dir, cat, bytes, cost);
    if (this.o.sockets) {
      for (const [i, slot] of slots.entries()) {
        const owner = this.o.sockets.ownerOf(tuples[i]);
        const id = owner ? this.workloads.id(owner.kind, owner.namespace, owner.name) : UNKNOWN_WORKLOAD;
        this.engine.ensureWork(id);
        flows.resolve(slot, id, add);
        this.o.onLookup?.(owner ? 'found' : 'unknown', 1);
      }
      return;
    }
    const kernel = this.kernel;
    this.takeFirst();
    const sockets = tuples.map((t) => {
      // the socket as its SYN left, with its holder: a connection of a millisecond is gone by now
      const first = this.first.size > 0 && t.proto === 6 ? this.first.get(connectionKey(t.family, t.local, t.localPort, t.remote, t.remotePort)) : undefined;
      if (!first) return kernel?.socket(t);
      if (first.pid > 0 && first.socket.inode > 0) {
        this.hold(first.socket.inode, first.pid, first.comm || undefined);
        // the same socket as now: no second question
        return first.socket;
      }
      const now = kernel?.socket(t);
      return now && now.inode > 0 ? now : first.socket;
    });
    this.sayProblems();
    // without the kernel's answer, one scan of /proc/net for the batch
    let scan: SocketTable | undefined;
    const inodes = tuples.map((t, i) => {
      const s = sockets[i];
      if (s) return s.inode > 0 ? s.inode : undefined;
      if (kernel && !kernel.socketProblem) return undefined;
      scan ??= new SocketTable(this.o.procNet);
      return scan.inodeOf(t);
    });
    const missing = new Set(inodes.filter((i): i is number => i !== undefined && !this.inodeHolder.has(i)));
    const now = Date.now();
    if (missing.size > 0) {
      // reads of descriptors within the budget: the recent holders' first, then (walk) all of /proc
      const allowed = this.budgetWait() === 0;
      const cpu = process.cpuUsage();
      // the sockets' cgroups' processes first (a new process of a unit or container), then the last
      // holders; all of /proc only for a socket of no cgroup but the root's (a walk takes milliseconds,
      // in which the next connections' first packets wait: a unit's socket is named by its cgroup instead)
      const inCgroups = new Set<number>();
      // each cgroup's processes read once for the batch (its new connections are often many)
      const read = new Map<number, number[]>();
      let walk = false;
      for (const [i, inode] of inodes.entries()) {
        if (inode === undefined || !missing.has(inode)) continue;
        const cgroup = sockets[i]?.cgroup ?? 0;
        let pids = read.get(cgroup);
        if (pids === undefined) {
          pids = this.cgroups?.processesOf(cgroup, now) ?? [];
          read.set(cgroup, pids);
          for (const pid of pids) if (inCgroups.size < 64) inCgroups.add(pid);
        }
        if (pids.length === 0) walk = true;
      }
      const first = allowed ? [...inCgroups, ...this.recentHolders] : [];
      const full = allowed && walk;
      const holders = this.kernel && this.o.proc === undefined ? this.kernel.holders(missing, first, full) : socketHolders(missing, this.o.proc, first, full);
      for (const [inode, pid] of holders) {
        this.hold(inode, pid);
        if (this.recentHolders[0] !== pid) this.recentHolders = [pid, ...this.recentHolders.filter((p) => p !== pid)].slice(0, RECENT_HOLDERS);
      }
      // what the reads cost this process, not the wall time a busy machine stretches them to
      const used = process.cpuUsage(cpu);
      this.walkBudget -= (used.user + used.system) / 1000;
    }
    let retry = false;
    slots.forEach((slot, i) => {
      const found = this.ownerOfFlow(tuples[i], sockets[i], inodes[i], now);
      if (found) {
        this.engine.ensureWork(found.id);
        flows.resolve(slot, found.id, add);
        this.o.onLookup?.('found', 1);
        this.o.onMethod?.(found.method);
      } else if (tuples[i].tries + 1 < LOOKUP_TRIES) {
        flows.requeue(slot);
        retry = true;
      } else {
        flows.resolve(slot, UNKNOWN_WORKLOAD, add);
        this.o.onLookup?.('unknown', 1);
      }
    });
    this.reportFull();
    // with the kernel's answers, a flow waits only for the next walk of /proc
    if (retry) this.schedule(this.kernel ? Math.max(10, this.budgetWait()) : RETRY_DELAY_MS);
  }

  /** Keep a socket's holder; bounded where it grows (first-packet answers alone add entries too). */
  private hold(inode: number, pid: number, name?: string): void {
    if (this.inodeHolder.size > 65536) this.inodeHolder.clear();
    this.inodeHolder.set(inode, name === undefined ? { pid } : { pid, name });
  }

  /** Milliseconds until the walk budget is positive again (0: a walk may run now). */
  private budgetWait(): number {
    const now = Date.now();
    this.walkBudget = Math.min(WALK_BUDGET_MS, this.walkBudget + (now - this.budgetAt) * WALK_SHARE);
    this.budgetAt = now;
    return this.walkBudget > 0 ? 0 : Math.ceil(-this.walkBudget / WALK_SHARE) + 1;
  }

  /** A flow's workload, from its socket's holder, else the socket's cgroup, else the pod it was before NAT. */
  private ownerOfFlow(t: SocketKey, socket: FlowSocket | undefined, inode: number | undefined, now: number): { id: number; method: LookupMethod } | undefined {
    const holder = inode === undefined ? undefined : this.inodeHolder.get(inode);
    const pid = holder?.pid;
    const info = pid === undefined ? undefined : this.process(pid, now);
    let owner: Owner | undefined;
    let method: LookupMethod = socket ? 'socket' : 'proc_net';
    if (info) {
      owner = ownerOf(info, (id) => this.containerPods.get(id));
      if (socket && socket.cgroup > 0 && info.cgroup2) this.cgroups?.learn(socket.cgroup, info.cgroup2);
    } else if (socket && (socket.inode > 0 || socket.cgroup > 0)) {
      // the process went before the walk found it (or the walk waits), or closed the socket (still
      // closing, held by nobody): its socket's cgroup still says which unit or container it was; a
      // process of a plain session is named as the first-packets thread found it
      const path = this.cgroups?.pathOf(socket.cgroup, now);
      const c = path === undefined ? {} : describeCgroup(`0::${path}`);
      const pod = c.containerId === undefined ? undefined : this.containerPods.get(c.containerId);
      owner = pod ?? (c.unit ? { kind: 'systemd_unit', namespace: '', name: c.unit } : undefined);
      method = 'cgroup';
      // of a plain session: the name its holder had as the SYN left, before it exited
      const name = owner ? undefined : holder?.name;
      if (name) {
        owner = { kind: 'process', namespace: '', name };
        method = 'socket';
      }
    } else if ((!socket || socket.state !== TCP_NEW_SYN_RECV) && this.podByAddress.size > 0) {
      // only a pod's address can be what conntrack says (no pods: no question, two round trips saved)
      const before = this.kernel?.beforeNat(t);
      const id = before === undefined ? undefined : this.podByAddress.get(addressKey({ family: t.family, start: wordsToBigInt(before.words, t.family) }));
      this.sayProblems();
      if (id !== undefined) return { id, method: 'conntrack' };
    }
    if (!owner) return undefined;
    return { id: this.workloads.id(owner.kind, owner.namespace, owner.name), method };
  }

  /** Whether the kernel answers this lookup here (the addon is built, and nothing refused it for good). */
  kernelAnswers(lookup: KernelLookup): boolean {
    const k = this.kernel;
    return k !== undefined && (lookup === 'socket' ? k.socketProblem : lookup === 'first_packets' ? k.firstProblem : k.conntrackProblem) === undefined;
  }

  /** The first-packets thread's totals (looked up, over the budget, lost), when it runs. */
  get firstPackets(): ArrayLike<number> | undefined {
    return this.kernel && this.kernel.firstProblem === undefined ? this.kernel.firstCounts : undefined;
  }

  /** Take the first-packets thread's answers; forget the oldest past the bound or the age. */
  private takeFirst(): void {
    if (!this.kernel || this.kernel.firstProblem !== undefined) return;
    const now = Date.now();
    this.kernel.takeFirst(this.first, now);
    for (const [key, a] of this.first) {
      if (this.first.size <= FIRST_ANSWERS && now - a.at < FIRST_ANSWER_MS) break;
      this.first.delete(key);
    }
  }

  /** Say once each lookup that cannot work here. */
  private sayProblems(): void {
    const k = this.kernel;
    if (k?.socketProblem) this.say('socket', `${k.socketProblem}: sockets are found by scanning /proc/net instead (a connection shorter than 20-170 ms is unknown)`);
    if (k?.conntrackProblem) this.say('conntrack', `${k.conntrackProblem}: pods' connections that leave with this host's address (SNAT) are workload_kind="unknown"`);
  }

  private say(lookup: KernelLookup, message: string): void {
    if (this.said[lookup]) return;
    this.said[lookup] = true;
    this.o.onProblem?.(lookup, message);
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
    if (this.firstTimer) clearInterval(this.firstTimer);
    if (this.sweeper) clearInterval(this.sweeper);
    this.timer = undefined;
  }
}
