// The counting engine: given a local and a remote address, bytes, packets and ports, it classifies
// (category row of the local address × class of the remote) and counts into zone-pair counters and the
// remote table. Packets (through Pipeline) and sources that already have addresses and byte counts
// (flow records) share it. Nothing here allocates per call. Beside bytes it counts their cost: each byte
// at the sum of the prices of its usage combination's bill lines, so that a remote's or workload's
// dollars are the sum of the bill lines its bytes are on (a NAT gateway's processing included). Cost is
// counted in cost units (prices.ts: bytes × micro-dollars per GB): whole numbers, whose sums are exact in
// any order, so that parts counted apart and merged give the one-thread figures to the last digit.
import { Category, Direction } from '../classify/categories.js';
import { costUnitsPerByte, DOLLARS_PER_COST_UNIT } from '../classify/prices.js';
import type { Topology } from '../topology/topology.js';
import { decodePairSlot, decodeUsageSlot, decodeWorkSlot, LAYOUT, packClassWord, pairSlot, SLOTS_PER_PAIR, usageSlot, workSlot, ZonePairs } from './counter-layout.js';
import { LocalAddresses, type LocalEntry } from './local-addresses.js';
import type { FlowView } from './flow-view.js';
import { Hold } from './hold.js';
import { PENDING, UNKNOWN_WORKLOAD, type FlowOwners } from './owners.js';

export type { FlowView };
import { RemoteTable } from './remote-table.js';
import { parseCidr } from '../net/ip.js';

const EPHEMERAL_MIN = 32768;

/** Zone pairs (with their local side's workload) kept before they are renumbered at a drain. */
const MAX_PAIRS = 4096;

const WORK_SLOTS = LAYOUT.workSlots;
const { catMask: CLASS_CAT_MASK, comboShift: CLASS_COMBO_SHIFT } = LAYOUT.classWord;

/** Key of an address (or a prefix's first address) in the map of addresses' workloads. */
export function addressKey(c: { family: number; start: bigint }): string {
  return `${c.family}:${c.start}`;
}

/** The service side's port: the well-known one, else the one that is not ephemeral, else the lower. */
export function servicePort(a: number, b: number): number {
  if (a < 0 || b < 0) return -1;
  const aLow = a < 1024;
  if (aLow !== b < 1024) return aLow ? a : b;
  const aEph = a >= EPHEMERAL_MIN;
  if (aEph !== b >= EPHEMERAL_MIN) return aEph ? b : a;
  return a < b ? a : b;
}


/**
 * What an engine counted, to be added to another's (a worker's share of a file): zone pairs in the
 * order they were first seen, their counters (SLOTS_PER_PAIR each), usage by combination key.
 */
export interface EngineCounts {
  pairs: number;
  localZone: Int32Array;
  remoteZone: Int32Array;
  workload: Int32Array;
  bytes: Float64Array;
  packets: Float64Array;
  /** Cost units of each counter slot's bytes (their bill lines' prices). */
  cost: Float64Array;
  /** Per usage combination (Topology.usageComboKey), bytes by direction. */
  usage: { key: string; bytes: [number, number] }[];
  transitPackets: number;
  transitBytes: number;
}

/** What a drain hands over for one counter slot. */
export interface PairTotals {
  dir: number;
  cat: number;
  localZone: number;
  remoteZone: number;
  bytes: number;
  packets: number;
}

/** `a` with `v` at `i` (a new local entry's), grown when full. */
function grown(a: Int32Array<ArrayBuffer>, i: number, v: number): Int32Array<ArrayBuffer> {
  let out = a;
  if (i >= a.length) {
    out = new Int32Array(Math.max(16, 2 * i));
    out.set(a);
  }
  out[i] = v;
  return out;
}

export class Engine {
  private t!: Topology;
  private pairs!: ZonePairs;
  // counters, indexed pairSlot(pair, dir, cat); they grow with the zone pairs seen
  private bytes = new Float64Array(0);
  private packets = new Float64Array(0);
  private cost = new Float64Array(0);
  private remoteTable!: RemoteTable;
  /** Bytes per usage combination (Topology.usageCombos) and direction: index usageSlot(combo, dir). */
  private usage = new Float64Array(0);
  /** Cost units per byte of a usage combination and direction (the sum of its lines' prices): index usageSlot(combo, dir). */
  private comboPrice = new Float64Array(0);
  /** The network path of each usage combination. */
  private comboPath = new Uint8Array(0);
  /** $/GB of a usage type (the prices in force); none: every line is unpriced, its cost 0. */
  private usagePrice: ((usageType: string) => number | undefined) | undefined;
  /** Packets and bytes where neither address is local: not billed to this host. */
  transitPackets = 0;
  transitBytes = 0;

  private locals = new LocalAddresses([]);
  // per local entry (LocalAddresses): its count row (remote class → usage combination << 8 | category),
  // its zone's pair row (remote zone → zone pair, -1 until seen), its zone, and its workload (-1: the
  // host's own address, whose bytes belong to the processes of their sockets)
  private local4Rows: Uint32Array[] = [];
  private local4Pairs: Int32Array[] = [];
  private local4Zone = new Int32Array(0);
  private local4Work = new Int32Array(0);
  private local6Rows: Uint32Array[] = [];
  private local6Pairs: Int32Array[] = [];
  private local6Zone = new Int32Array(0);
  private local6Work = new Int32Array(0);
  /** Traffic held until the topology is known (serve at boot); undefined: counted at once. */
  private hold: Hold | undefined;
  /** The outcomes of the hold that ended (its tables are let go). */
  private endedHold: { outcomes: Hold['outcomes']; flows: number } | undefined;
  /** Count bytes per workload too (attribution on). */
  private attributing = false;
  /** Flows of the host's own addresses, for attribution to processes; none: those bytes are unknown. */
  private flows: FlowOwners | undefined;
  /** The workload of each local address that belongs to one (pods), keyed by addressKey(). */
  private addressWorkloads: ReadonlyMap<string, number> = new Map();
  /** The workloads of addresses made local one at a time (addLocal). */
  private readonly addedWorkloads = new Map<string, number>();
  /** The workload of every other local address: -1, the flows' processes (or a sidecar's one pod). */
  private fallbackWorkload = -1;
  /** Bytes per workload, direction and category: index workSlot(workload, dir, cat); their cost beside. */
  private work = new Float64Array(0);
  private workCost = new Float64Array(0);
  /** The time of the newest packet (seconds), set by the pipeline: a flow's age. */
  now = 0;
  private localTexts: string[] = [];
  private onRemotesFull: (() => void) | undefined;
  private readonly beforeSwap: (() => void)[] = [];

  constructor(
    topology: Topology,
    private readonly remoteTableSize = 65536,
  ) {
    this.install(topology);
  }

  get topology(): Topology {
    return this.t;
  }

  get remotes(): RemoteTable {
    return this.remoteTable;
  }

  get localIps(): readonly string[] {
    return this.localTexts;
  }

  /** `drain` is called before a topology swap replaces the counters: it must take what they hold. */
  onBeforeSwap(drain: () => void): void {
    this.beforeSwap.push(drain);
  }

  /** Swap in a new topology snapshot. Whoever drains the counters takes them first: nothing is lost. */
  setTopology(t: Topology): void {
    for (const drain of this.beforeSwap) drain();
    this.install(t);
  }

  private install(t: Topology): void {
    this.t = t;
    this.pairs = new ZonePairs(t.zones.length);
    this.bytes = new Float64Array(16 * SLOTS_PER_PAIR);
    this.packets = new Float64Array(16 * SLOTS_PER_PAIR);
    this.cost = new Float64Array(16 * SLOTS_PER_PAIR);
    this.remoteTable = new RemoteTable(this.remoteTableSize, t.zones.length, this.onRemotesFull);
    this.usage = new Float64Array(0);
    this.setLocalIps(this.localTexts);
  }

  /**
   * The prices bytes are counted at from now on: `perGb` gives a usage type's $/GB (undefined: unpriced,
   * it adds nothing). What was counted already keeps the prices it was counted at, as the bill does.
   */
  setUsagePrices(perGb: (usageType: string) => number | undefined): void {
    this.usagePrice = perGb;
    this.priceCombos();
  }

  /** The $/GB in force of every usage type of the combinations met (for another thread's engine to count the same). */
  usagePrices(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const c of this.t.usageCombos) {
      for (const u of [...c.types[0], ...c.types[1]]) {
        const perGb = this.usagePrice?.(u);
        if (perGb !== undefined) out[u] = perGb;
      }
    }
    return out;
  }

  /** Each usage combination's cost units per byte and path, for the combinations the topology has met. */
  private priceCombos(): void {
    const combos = this.t.usageCombos;
    const need = usageSlot(combos.length, 0);
    if (this.comboPrice.length < need) this.comboPrice = new Float64Array(need);
    if (this.comboPath.length < combos.length) this.comboPath = new Uint8Array(combos.length);
    for (let c = 0; c < combos.length; c++) {
      this.comboPath[c] = combos[c].path;
      for (let dir = 0; dir < 2; dir++) {
        let units = 0;
        for (const u of combos[c].types[dir]) units += costUnitsPerByte(this.usagePrice?.(u) ?? 0);
        this.comboPrice[usageSlot(c, dir)] = units;
      }
    }
  }

  /** From now on a full remote table is handed to `drain` (which empties it) instead of spilling. */
  drainRemotesWhenFull(drain: () => void): void {
    this.onRemotesFull = drain;
    this.remoteTable.onFull = drain;
  }

  setLocalIps(ips: readonly string[]): void {
    this.localTexts = [...ips];
    this.locals = new LocalAddresses(ips);
    const entries = (list: readonly LocalEntry[]) => {
      const made = list.map((e) => this.localEntry(e));
      return { rows: made.map((e) => e.row), pairs: made.map((e) => e.pair), zones: Int32Array.from(made, (e) => e.zone), work: Int32Array.from(made, (e) => e.work) };
    };
    const v4 = entries(this.locals.v4);
    const v6 = entries(this.locals.v6);
    [this.local4Rows, this.local4Pairs, this.local4Zone, this.local4Work] = [v4.rows, v4.pairs, v4.zones, v4.work];
    [this.local6Rows, this.local6Pairs, this.local6Zone, this.local6Work] = [v6.rows, v6.pairs, v6.zones, v6.work];
    this.growUsage();
  }

  /** The zones (label indexes; 0: none known) of the local addresses counted for. */
  localZones(): Set<number> {
    const out = new Set<number>();
    for (let i = 0; i < this.locals.v4.length; i++) out.add(this.local4Zone[i]);
    for (let i = 0; i < this.locals.v6.length; i++) out.add(this.local6Zone[i]);
    return out;
  }

  /** Usage rows number combinations as local addresses meet them: make room for every one, priced. */
  private growUsage(): void {
    const need = usageSlot(this.t.usageCombos.length, 0);
    if (need > this.usage.length) {
      const u = new Float64Array(need);
      u.set(this.usage.subarray(0, Math.min(this.usage.length, need)));
      this.usage = u;
    }
    this.priceCombos();
  }

  /**
   * Count bytes per workload from now on: `addresses` gives local addresses that belong to a workload
   * (pods; keys from addressKey), `flows` attributes the host's own addresses by socket (none: unknown),
   * `fallback` (a workload number) takes the host's own addresses instead.
   */
  attribute(addresses: ReadonlyMap<string, number>, flows?: FlowOwners, fallback = -1): void {
    this.attributing = true;
    this.ensureWork(UNKNOWN_WORKLOAD);
    this.addressWorkloads = addresses;
    // without flows the host's own addresses are unknown: say so per address, not per packet
    this.fallbackWorkload = fallback >= 0 || flows ? fallback : UNKNOWN_WORKLOAD;
    this.flows = flows;
    this.setLocalIps(this.localTexts);
  }

  /** New workloads of local addresses (pods come and go): in force from the next setLocalIps. */
  setAddressWorkloads(addresses: ReadonlyMap<string, number>): void {
    this.addressWorkloads = addresses;
  }

  localIndex4(a: number): number {
    return this.locals.index4(a);
  }

  localIndex6(w: Uint32Array): number {
    return this.locals.index6(w);
  }

  /**
   * Count one packet or flow: its addresses (family 4: src4/dst4; 6: src6/dst6 as four 32-bit words),
   * IP bytes, packets and ports (-1 where there are none). Whichever address is local decides the
   * direction; returns false for transit (neither is). One function for both families: the frame
   * loop calls it once per packet, and it is compiled as one unit with what it calls inlined.
   */
  count(f: FlowView): boolean {
    return this.countAs(f, -1);
  }

  /**
   * count(), with the category given (>= 0: no bill line, as held traffic that outlived the hold is
   * counted unclassified) or the topology's (-1).
   */
  private countAs(f: FlowView, forced: number): boolean {
    const v4 = f.family === 4;
    let dir: number = Direction.EGRESS;
    let local = v4 ? this.localIndex4(f.src4) : this.localIndex6(f.src6);
    if (local < 0) {
      local = v4 ? this.localIndex4(f.dst4) : this.localIndex6(f.dst6);
      if (local < 0) return this.transit(f.ipBytes, f.packets);
      dir = Direction.INGRESS;
    }
    // before the topology is known: held, classified when it is (or unclassified past the hold)
    if (this.hold !== undefined && forced < 0) {
      if (this.hold.add(f)) return true;
      this.hold.outcomes.table_full += f.ipBytes;
      forced = Category.UNCLASSIFIED;
    }
    this.countLocal(f, v4, local, dir, forced);
    return true;
  }

  /**
   * count(), with the side that is local given (a flow-log record says which side its interface is on,
   * and both may be local addresses: two logged hosts of one VPC). Returns false where that side is no
   * local address (addLocal it first).
   */
  countFrom(f: FlowView, localIsSource: boolean): boolean {
    const v4 = f.family === 4;
    const local = v4 ? this.localIndex4(localIsSource ? f.src4 : f.dst4) : this.localIndex6(localIsSource ? f.src6 : f.dst6);
    if (local < 0) return false;
    this.countLocal(f, v4, local, localIsSource ? Direction.EGRESS : Direction.INGRESS, -1);
    return true;
  }

  /**
   * The network path (Path) a flow is counted on, its local side given: what countFrom would count it
   * on (a flow log's traffic-path is checked against it). -1 where that side is no local address.
   */
  pathOf(f: FlowView, localIsSource: boolean): number {
    const v4 = f.family === 4;
    const local = v4 ? this.localIndex4(localIsSource ? f.src4 : f.dst4) : this.localIndex6(localIsSource ? f.src6 : f.dst6);
    if (local < 0) return -1;
    const t = this.t;
    const cls = v4 ? t.table4.lookup(localIsSource ? f.dst4 : f.src4) : t.table6.lookup(localIsSource ? f.dst6 : f.src6);
    const combo = this.usageCombo((v4 ? this.local4Rows : this.local6Rows)[local][cls] >>> CLASS_COMBO_SHIFT, f, localIsSource, servicePort(f.srcPort, f.dstPort));
    return this.comboPath[combo];
  }

  /**
   * The usage combination a flow is counted on, from its class word's: through a NAT route, a
   * connection whose service port is this host's was opened from outside: it came through a load
   * balancer or accelerator, never the NAT gateway.
   */
  private usageCombo(combo: number, f: FlowView, egress: boolean, port: number): number {
    const inbound = this.t.inboundCombo[combo];
    return inbound >= 0 && port >= 0 && port === (egress ? f.srcPort : f.dstPort) && f.srcPort !== f.dstPort ? inbound : combo;
  }

  /**
   * Make one address local from now on, its bytes counted for `workload` (-1: none): a flow log's
   * interface address met for the first time. Only the new address's rows are built.
   */
  addLocal(text: string, workload: number): void {
    const cidr = parseCidr(text);
    if (workload >= 0) this.addedWorkloads.set(addressKey(cidr), workload);
    // IPv6 tables are per prefix length: built anew (a flow log's IPv6 interfaces are few)
    if (cidr.family === 6) return this.setLocalIps([...this.localTexts, text]);
    const before = this.locals.v4.length;
    const index = this.locals.add4(text, cidr);
    if (index < before) return;
    this.localTexts.push(text);
    const e = this.localEntry({ text, cidr });
    this.local4Rows.push(e.row);
    this.local4Pairs.push(e.pair);
    this.local4Zone = grown(this.local4Zone, index, e.zone);
    this.local4Work = grown(this.local4Work, index, e.work);
    this.growUsage();
  }

  /** A local address's count row, its zone's pair row, its zone and its workload (-1: the host's own, counted per flow). */
  private localEntry(e: LocalEntry): { row: Uint32Array; pair: Int32Array; zone: number; work: number } {
    const t = this.t;
    const cls = t.classIndexOf(e.text.replace(/\/.*$/, ''));
    const zone = t.classZone[cls];
    const key = addressKey(e.cidr);
    const w = this.attributing ? (this.addressWorkloads.get(key) ?? this.addedWorkloads.get(key) ?? this.fallbackWorkload) : -1;
    if (w >= 0) this.ensureWork(w);
    // a pod's address counts for its workload in its zone pair's counters
    return { row: t.countRow(cls, packClassWord), pair: this.pairs.row(zone, w), zone, work: w };
  }

  private countLocal(f: FlowView, v4: boolean, local: number, dir: number, forced: number): void {
    const egress = dir === Direction.EGRESS;
    const t = this.t;
    const cls = v4 ? t.table4.lookup(egress ? f.dst4 : f.src4) : t.table6.lookup(egress ? f.dst6 : f.src6);
    const cu = (v4 ? this.local4Rows : this.local6Rows)[local][cls];
    const cat = forced < 0 ? cu & CLASS_CAT_MASK : forced;
    const zone = t.classZone[cls];
    let pair = (v4 ? this.local4Pairs : this.local6Pairs)[local][zone];
    if (pair < 0) pair = this.newPair((v4 ? this.local4Zone : this.local6Zone)[local], zone, (v4 ? this.local4Work : this.local6Work)[local]);
    const idx = pairSlot(pair, dir, cat);
    const port = servicePort(f.srcPort, f.dstPort);
    // what outlived the hold is counted without a usage combination: no line, no cost, path direct
    let cost = 0;
    let path = 0;
    if (forced < 0) {
      const combo = this.usageCombo(cu >>> CLASS_COMBO_SHIFT, f, egress, port);
      const us = usageSlot(combo, dir);
      this.usage[us] += f.ipBytes;
      cost = f.ipBytes * this.comboPrice[us];
      path = this.comboPath[combo];
    }
    this.bytes[idx] += f.ipBytes;
    this.packets[idx] += f.packets;
    this.cost[idx] += cost;
    if (v4) this.remoteTable.add4(egress ? f.dst4 : f.src4, port, dir, cat, path, zone, f.ipBytes, cost);
    else this.remoteTable.add6(egress ? f.dst6 : f.src6, port, dir, cat, path, zone, f.ipBytes, cost);
    // a pod's bytes counted for it with the zone pair's (its workload is the pair's); the host's own per flow
    if (this.attributing && this.pairs.workload[pair] < 0) this.attributeHost(f, egress, dir, cat, cost);
  }

  /** Hold what is counted from now on until releaseHold (the topology is known) or expireHold. */
  startHold(capacity?: number): void {
    this.hold ??= new Hold(capacity);
  }

  /** The hold in force, if any. */
  get holding(): Hold | undefined {
    return this.hold;
  }

  /** What the hold did (in force, or ended): its outcomes and the flows it holds, for the metrics. */
  get holdState(): { outcomes: Hold['outcomes']; flows: number } | undefined {
    return this.hold ? { outcomes: this.hold.outcomes, flows: this.hold.flows } : this.endedHold;
  }

  /** The topology is known: what was held is classified with it, and nothing is held any more. Its bytes. */
  releaseHold(): number {
    return this.endHold('classified', -1);
  }

  /** The hold outlived its time: what was held is counted unclassified, nothing is held any more. Its bytes. */
  expireHold(): number {
    return this.endHold('unclassified', Category.UNCLASSIFIED);
  }

  private endHold(outcome: 'classified' | 'unclassified', cat: number): number {
    const hold = this.hold;
    if (hold === undefined) return 0;
    this.hold = undefined;
    const bytes = hold.drain((f) => this.countAs(f, cat), outcome);
    this.endedHold = { outcomes: hold.outcomes, flows: 0 };
    return bytes;
  }

  /** Count a packet of the host's own address for the process of its flow (or unknown). */
  private attributeHost(f: FlowView, egress: boolean, dir: number, cat: number, cost: number): void {
    const w = this.hostWorkload(f, egress, dir, cat, cost);
    // the counters cover every workload number handed out (ensureWork): no bounds check here
    if (w >= 0) {
      const slot = workSlot(w, dir, cat);
      this.work[slot] += f.ipBytes;
      this.workCost[slot] += cost;
    }
  }

  /** The workload of a packet of the host's own address: its flow's, unknown, or -1 while its owner is looked up. */
  private hostWorkload(f: FlowView, egress: boolean, dir: number, cat: number, cost: number): number {
    if (this.flows === undefined || f.srcPort < 0) return UNKNOWN_WORKLOAD;
    const w = this.flows.seePacket(f, egress, dir, cat, cost, this.now);
    return w === PENDING ? -1 : w < 0 ? UNKNOWN_WORKLOAD : w;
  }

  /** Add bytes and their cost to a workload's counters (a flow's held bytes, once its owner is known). */
  addWork(w: number, dir: number, cat: number, bytes: number, cost: number): void {
    this.ensureWork(w);
    const slot = workSlot(w, dir, cat);
    this.work[slot] += bytes;
    this.workCost[slot] += cost;
  }

  /** Make room for a workload number's counters before any packet can carry it. */
  ensureWork(w: number): void {
    if ((w + 1) * WORK_SLOTS <= this.work.length) return;
    const size = Math.max(64, 2 * (w + 1)) * WORK_SLOTS;
    const g = new Float64Array(size);
    g.set(this.work);
    this.work = g;
    const d = new Float64Array(size);
    d.set(this.workCost);
    this.workCost = d;
  }

  /**
   * Hand over the bytes (and their dollars) of every workload, direction and category since the last
   * drain, and zero them. Pods' bytes reach these counters through drainCounters (they are counted with
   * their zone pair): drain the counters first (ExporterMetrics.flush does).
   */
  drainWorkloads(visit: (workload: number, dir: number, cat: number, bytes: number, dollars: number) => void): void {
    const u = this.work;
    const d = this.workCost;
    for (let i = 0; i < u.length; i++) {
      if (u[i] === 0 && d[i] === 0) continue;
      const { workload, dir, cat } = decodeWorkSlot(i);
      visit(workload, dir, cat, u[i], d[i] * DOLLARS_PER_COST_UNIT);
      u[i] = 0;
      d[i] = 0;
    }
  }

  private transit(bytes: number, packets: number): false {
    this.transitPackets += packets;
    this.transitBytes += bytes;
    return false;
  }

  /** A zone pair seen for the first time: number it, and make room for its counters (seen before: its number). */
  private newPair(localZone: number, remoteZone: number, workload: number): number {
    const pair = this.pairs.add(localZone, remoteZone, workload);
    const need = pairSlot(pair + 1, 0, 0);
    if (need > this.bytes.length) {
      const size = Math.max(need, this.bytes.length * 2);
      const b = new Float64Array(size);
      b.set(this.bytes);
      this.bytes = b;
      const p = new Float64Array(size);
      p.set(this.packets);
      this.packets = p;
      const d = new Float64Array(size);
      d.set(this.cost);
      this.cost = d;
    }
    return pair;
  }

  /** Whether bytes are counted per workload (attribute() was called). */
  get attributes(): boolean {
    return this.attributing;
  }

  /** What was counted since the last drain (without draining it), for mergeCounts of another engine. */
  exportCounts(): EngineCounts {
    const n = this.pairs.count;
    const usage: EngineCounts['usage'] = [];
    for (let c = 0; c < this.t.usageCombos.length; c++) {
      const bytes: [number, number] = [this.usage[usageSlot(c, Direction.EGRESS)], this.usage[usageSlot(c, Direction.INGRESS)]];
      if (bytes[0] !== 0 || bytes[1] !== 0) usage.push({ key: this.t.usageComboKey(c), bytes });
    }
    return {
      pairs: n,
      localZone: this.pairs.localZone.slice(0, n),
      remoteZone: this.pairs.remoteZone.slice(0, n),
      workload: this.pairs.workload.slice(0, n),
      bytes: this.bytes.slice(0, n * SLOTS_PER_PAIR),
      packets: this.packets.slice(0, n * SLOTS_PER_PAIR),
      cost: this.cost.slice(0, n * SLOTS_PER_PAIR),
      usage,
      transitPackets: this.transitPackets,
      transitBytes: this.transitBytes,
    };
  }

  /** Forget every count, as a new engine would have none, keeping the tables (a worker's next part). */
  resetCounts(): void {
    this.bytes.fill(0);
    this.packets.fill(0);
    this.cost.fill(0);
    this.usage.fill(0);
    this.work.fill(0);
    this.workCost.fill(0);
    this.transitPackets = 0;
    this.transitBytes = 0;
    this.remoteTable.clear();
    this.pairs = new ZonePairs(this.t.zones.length);
    this.setLocalIps(this.localTexts);
  }

  /**
   * Whether mergeCounts can take these: every usage combination is one of this topology's. (The same
   * topology, with the same local addresses, meets the same ones.)
   */
  canMerge(c: EngineCounts): boolean {
    return c.usage.every((u) => this.t.usageComboNumber(u.key) !== undefined) && c.workload.every((w) => w < 0);
  }

  /**
   * Add another engine's counts, as if its packets had come after this one's: its zone pairs that are
   * new here are numbered after this one's, in its order, so drains visit them as one engine would.
   */
  mergeCounts(c: EngineCounts): void {
    for (let p = 0; p < c.pairs; p++) {
      const mine = this.newPair(c.localZone[p], c.remoteZone[p], c.workload[p]) * SLOTS_PER_PAIR;
      const theirs = p * SLOTS_PER_PAIR;
      for (let s = 0; s < SLOTS_PER_PAIR; s++) {
        this.bytes[mine + s] += c.bytes[theirs + s];
        this.packets[mine + s] += c.packets[theirs + s];
        this.cost[mine + s] += c.cost[theirs + s];
      }
    }
    for (const u of c.usage) {
      const combo = this.t.usageComboNumber(u.key)!;
      this.usage[usageSlot(combo, Direction.EGRESS)] += u.bytes[0];
      this.usage[usageSlot(combo, Direction.INGRESS)] += u.bytes[1];
    }
    this.transitPackets += c.transitPackets;
    this.transitBytes += c.transitBytes;
  }

  /** Add the bytes counted since the last drain to `out[category]` (without draining them). */
  categoryBytes(out: Float64Array): void {
    const b = this.bytes;
    for (let i = 0; i < b.length; i++) if (b[i] !== 0) out[decodePairSlot(i).cat] += b[i];
  }

  /** Hand over the bytes of every usage combination (index into topology.usageCombos) and direction. */
  drainUsage(visit: (combo: number, dir: number, bytes: number) => void): void {
    const u = this.usage;
    for (let i = 0; i < u.length; i++) {
      if (u[i] === 0) continue;
      const { combo, dir } = decodeUsageSlot(i);
      visit(combo, dir, u[i]);
      u[i] = 0;
    }
  }

  /** Hand over every non-zero counter since the last drain, and zero them. */
  drainCounters(visit: (t: Readonly<PairTotals>) => void): void {
    const out: PairTotals = { dir: 0, cat: 0, localZone: 0, remoteZone: 0, bytes: 0, packets: 0 };
    const b = this.bytes;
    const p = this.packets;
    const d = this.cost;
    for (let i = 0; i < b.length; i++) {
      if (p[i] === 0 && b[i] === 0) continue;
      const { pair, dir, cat } = decodePairSlot(i);
      out.dir = dir;
      out.cat = cat;
      out.localZone = this.pairs.localZone[pair];
      out.remoteZone = this.pairs.remoteZone[pair];
      // the pair's workload (pods) takes its bytes and cost too: drainWorkloads hands them over
      const w = this.pairs.workload[pair];
      if (w >= 0) {
        const slot = workSlot(w, dir, cat);
        this.work[slot] += b[i];
        this.workCost[slot] += d[i];
      }
      out.bytes = b[i];
      out.packets = p[i];
      visit(out);
    }
    b.fill(0);
    p.fill(0);
    d.fill(0);
    // pods come and go: pairs of workloads no longer here are renumbered away once there are many
    if (this.pairs.count > MAX_PAIRS) {
      this.pairs = new ZonePairs(this.t.zones.length);
      this.bytes = new Float64Array(16 * SLOTS_PER_PAIR);
      this.packets = new Float64Array(16 * SLOTS_PER_PAIR);
      this.cost = new Float64Array(16 * SLOTS_PER_PAIR);
      this.setLocalIps(this.localTexts);
    }
  }
}
