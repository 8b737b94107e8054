// Flow-log records → the engine, as captures on each logged host would have counted them. A record
// counts from the side of the interface that logged it (flow-direction, else the interface's own
// addresses). Interfaces that are paths, not hosts (NAT gateways, endpoints, load balancer nodes, TGW
// attachments) never add to what a logged host carries: their records are kept aside, summed per host
// and remote, and fill in at the end only for hosts whose own interface was never logged — the NAT
// gateway's pkt-srcaddr/pkt-dstaddr name the host and the remote behind the translation.
import { Path } from '../classify/bill.js';
import { AddressKind } from '../classify/rules.js';
import type { Engine } from '../engine/engine.js';
import { ipv4ToString, ipv6BigIntToWords, ipv6WordsToString, parseCidr } from '../net/ip.js';
import type { PodInfo } from '../attribution/pods.js';
import type { Workloads } from '../attribution/workloads.js';
import { FlowDirection, FlowRecord, InterfaceIds } from '../sources/flow-logs/record.js';
import { PATH_OWNER_KINDS, type NetworkInterface } from '../topology/model.js';
import type { Topology } from '../topology/topology.js';
import type { Pipeline } from './pipeline.js';

/**
 * What a flow log's traffic-path (egress records) allows of our paths: 2 internet gateway or gateway
 * endpoint, 3 virtual private gateway, 4 and 5 VPC peering, 7 gateway endpoint, 8 internet gateway. 1
 * (another resource of the VPC: NAT gateway, endpoint, TGW attachment, …) and 6 (local gateway) say too
 * little to check.
 */
export const TRAFFIC_PATHS: Record<number, readonly number[]> = {
  2: [Path.DIRECT, Path.GATEWAY_ENDPOINT],
  3: [Path.VPN_GATEWAY],
  4: [Path.VPC_PEERING],
  5: [Path.VPC_PEERING],
  7: [Path.GATEWAY_ENDPOINT],
  8: [Path.DIRECT],
};

export const TRAFFIC_PATH_NAMES: Record<number, string> = { 2: 'internet gateway or gateway endpoint', 3: 'virtual private gateway', 4: 'VPC peering', 5: 'inter-region VPC peering', 7: 'gateway endpoint', 8: 'internet gateway' };

const ROLE_UNSEEN = 0;
const ROLE_HOST = 1;
const ROLE_PATH = 2;

/** Fill-in sums kept, at most (host, remote, ports, direction): past it, path records are counted apart as untaken. */
const MAX_FILL_INS = 1 << 20;

/** Records whose side was not yet known, kept to be decided at the end: at most this many (interface, addresses, ports). */
const MAX_UNDECIDED = 1 << 17;

/** Records of one interface, addresses, protocol and ports whose side was not known when they came. */
interface Undecided {
  eni: number;
  family: number;
  src4: number;
  dst4: number;
  src6: Uint32Array;
  dst6: Uint32Array;
  proto: number;
  srcPort: number;
  dstPort: number;
  bytes: number;
  packets: number;
  records: number;
  start: number;
  end: number;
}

/** Records summed per addresses, protocol and ports (fill-ins, undecided records). */
type SummedFlow = Pick<Undecided, 'family' | 'src4' | 'dst4' | 'src6' | 'dst6' | 'proto' | 'srcPort' | 'dstPort' | 'bytes' | 'packets'>;

/** A sum as one record the engine counts. */
function asRecord(f: SummedFlow, v: FlowRecord): void {
  v.family = f.family;
  v.src4 = f.src4;
  v.dst4 = f.dst4;
  v.src6.set(f.src6);
  v.dst6.set(f.dst6);
  v.ipBytes = f.bytes;
  v.packets = f.packets;
  v.proto = f.proto;
  v.srcPort = f.srcPort;
  v.dstPort = f.dstPort;
}

/** What the records were, beyond what the engine counted. */
export interface FlowRecordStats {
  /** Bytes of path interfaces counted for hosts whose own interface was not logged. */
  filledInBytes: number;
  /** Bytes of path interfaces left out: their host's own interface was logged (counted there). */
  seenOnHostBytes: number;
  /** Bytes of path interfaces' other legs (the NAT gateway's side to the remote, a load balancer's to its clients): the same bytes as the leg to the host, or no host's. */
  outerLegBytes: number;
  /** Records without flow-direction whose side could not be told (neither address is the interface's). */
  directionUnknown: number;
  directionUnknownBytes: number;
  /** Path records not summed because the fill-in table was full. */
  fillInsFullBytes: number;
  /** A NAT gateway's records in a format without pkt-srcaddr/pkt-dstaddr: the remote behind it is unknown. */
  natWithoutPktBytes: number;
}

/** Hosts whose own interface is in the logs: path interfaces' records are not counted for them. */
export interface LoggedHosts {
  /** IPv4 addresses as numbers. */
  v4: Set<number>;
  v6: Set<string>;
}

export class FlowRecordCounter {
  readonly ids = new InterfaceIds();
  readonly stats: FlowRecordStats = { filledInBytes: 0, seenOnHostBytes: 0, outerLegBytes: 0, directionUnknown: 0, directionUnknownBytes: 0, fillInsFullBytes: 0, natWithoutPktBytes: 0 };
  private role = new Uint8Array(256);
  private workload = new Int32Array(256);
  /** Each interface's first IPv4 address (0: none known), the rest in `more4`. */
  private addr4 = new Uint32Array(256);
  private readonly more4 = new Map<number, Set<number>>();
  private readonly own6 = new Map<number, Set<string>>();
  private readonly interfaces: Map<string, NetworkInterface>;
  /** The interface owning each address the topology lists. */
  private readonly byAddress = new Map<string, NetworkInterface>();
  /** NAT gateways' private addresses (IPv4 as numbers, IPv6 as text): an interface with one is a path. */
  private readonly nat4 = new Set<number>();
  private readonly nat6 = new Set<string>();
  /** Addresses of logged host interfaces (IPv4 as numbers, IPv6 as text). */
  private readonly logged4: Set<number>;
  private readonly logged6: Set<string>;
  private readonly fills = new FillIns();
  /**
   * Records without flow-direction met before their interface's own address was known: decided at the
   * end, once every address the logs teach is known, so that what counts does not hang on record order
   * (the stream's, or a SQL engine's groups).
   */
  private readonly undecided = new Map<string, Undecided>();
  /** Records whose traffic-path the route tables disagree with, by (traffic-path, our path). */
  readonly disagreements = new Map<number, { trafficPath: number; path: number; records: number; bytes: number }>();
  /** The topology has route tables to check traffic-path against. */
  private readonly checkPaths: boolean;
  private readonly view = new FlowRecord();

  /** Pods by address (a --pods file): a pod's address names it rather than its node's interface. */
  private readonly pods = new Map<string, PodInfo[]>();

  constructor(
    private readonly pipeline: Pipeline,
    private readonly workloads: Workloads,
    pods: readonly PodInfo[] = [],
    /** Hosts whose own interface was logged (kept by a running exporter from object to object). */
    logged: LoggedHosts = { v4: new Set(), v6: new Set() },
  ) {
    this.logged4 = logged.v4;
    this.logged6 = logged.v6;
    for (const p of pods) {
      for (const ip of p.hostNetwork ? [] : p.ips) {
        const list = this.pods.get(ip) ?? [];
        list.push(p);
        this.pods.set(ip, list);
      }
    }
    const t = this.topology;
    this.interfaces = new Map(t.interfaces.map((i) => [i.id, i]));
    for (const i of t.interfaces) for (const ip of i.ips ?? []) this.byAddress.set(ip, i);
    for (const ip of t.natIps) {
      const c = parseCidr(ip);
      if (c.family === 4) this.nat4.add(Number(c.start));
      else this.nat6.add(ipv6WordsToString(ipv6BigIntToWords(c.start)));
    }
    this.checkPaths = t.routeTableCount > 0;
  }

  private get topology(): Topology {
    return this.pipeline.topology;
  }

  private get engine(): Engine {
    return this.pipeline.engine;
  }

  /** Count one record (from a reader: its fields are read now, not kept). */
  readonly count = (r: FlowRecord): void => {
    const p = this.pipeline;
    if (r.end > p.now) p.now = p.engine.now = r.end;
    if (r.start > 0 && r.start < p.first) p.first = r.start;
    const eni = r.eni;
    if (eni >= this.role.length) this.grow(eni);
    let role = eni < 0 ? ROLE_HOST : this.role[eni];
    if (role === ROLE_UNSEEN) role = this.meet(eni, r);
    if (role === ROLE_PATH) return this.pathRecord(eni, r);
    let localIsSource: boolean;
    if (r.direction !== FlowDirection.UNKNOWN) localIsSource = r.direction === FlowDirection.EGRESS;
    else {
      const side = this.ownSide(eni, r);
      if (side === 0) {
        if (eni < 0 || !this.defer(eni, r)) {
          this.stats.directionUnknown += r.records;
          this.stats.directionUnknownBytes += r.ipBytes;
        }
        return;
      }
      localIsSource = side > 0;
    }
    if (!this.engine.countFrom(r, localIsSource)) {
      this.makeLocal(eni, r, localIsSource);
      this.engine.countFrom(r, localIsSource);
    }
    if (r.trafficPath > 0 && localIsSource && this.checkPaths) this.checkPath(r);
  };

  /** Each interface's own addresses as the logs taught them (by interface id): what a running exporter keeps from object to object. */
  ownAddresses(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (let eni = 0; eni < this.ids.size && eni < this.addr4.length; eni++) {
      const list: string[] = [];
      if (this.addr4[eni] !== 0) list.push(ipv4ToString(this.addr4[eni]));
      for (const a of this.more4.get(eni) ?? []) list.push(ipv4ToString(a));
      for (const a of this.own6.get(eni) ?? []) list.push(a);
      if (list.length > 0) out[this.ids.name(eni)] = list;
    }
    return out;
  }

  /** Addresses an earlier counter learnt (ownAddresses), known before the first record. */
  teach(own: Readonly<Record<string, readonly string[]>>): void {
    for (const [name, ips] of Object.entries(own)) {
      const b = Buffer.from(name, 'latin1');
      const eni = this.ids.ofBytes(b, 0, b.length);
      if (eni >= this.role.length) this.grow(eni);
      for (const ip of ips) this.noteOwn(eni, ip);
    }
  }

  /** An egress record's traffic-path against the path the route tables give it: disagreements are counted. */
  private checkPath(r: FlowRecord): void {
    const expected = TRAFFIC_PATHS[r.trafficPath];
    if (expected === undefined) return;
    const path = this.engine.pathOf(r, true);
    if (path < 0 || expected.includes(path)) return;
    const key = r.trafficPath * 64 + path;
    const d = this.disagreements.get(key);
    if (d) {
      d.records += r.records;
      d.bytes += r.ipBytes;
    } else this.disagreements.set(key, { trafficPath: r.trafficPath, path, records: r.records, bytes: r.ipBytes });
  }

  /** The interface's first record: host or path, and its workload. */
  private meet(eni: number, r: FlowRecord): number {
    const name = this.ids.name(eni);
    const known = this.interfaces.get(name);
    let role: number = ROLE_HOST;
    if (known?.kind !== undefined) role = PATH_OWNER_KINDS.has(known.kind) ? ROLE_PATH : ROLE_HOST;
    else if (r.direction !== FlowDirection.UNKNOWN) {
      // an interface the topology does not list: a path if its own address is a NAT gateway's or a managed one
      if (this.pathAddress(r, r.direction === FlowDirection.EGRESS)) role = ROLE_PATH;
    }
    this.role[eni] = role;
    for (const ip of known?.ips ?? []) this.noteOwn(eni, ip);
    this.workload[eni] = this.workloadOf(known, name);
    return role;
  }

  private workloadOf(i: NetworkInterface | undefined, eniName: string): number {
    if (i === undefined || i.kind === undefined) return this.workloads.id('NetworkInterface', '', eniName);
    const name = i.kind === 'Instance' ? (i.name ?? i.instance ?? i.owner ?? eniName) : (i.owner ?? i.name ?? eniName);
    return this.workloads.id(i.kind, '', name);
  }

  /**
   * The workload of the pod that held an address at time `t` (seconds), else the last that held it
   * before; undefined: no pod's. An address is the one workload's for the whole of the logs (the engine
   * counts per address): the pod holding it when it was first met.
   */
  private podWorkload(ip: string, t: number): number | undefined {
    const list = this.pods.get(ip);
    if (list === undefined) return undefined;
    const holding = list.find((p) => (p.from ?? -Infinity) <= t && t < (p.until ?? Infinity)) ?? list[list.length - 1];
    return this.workloads.id(holding.owner.kind, holding.owner.namespace, holding.owner.name);
  }

  /** Whether a side's address is a NAT gateway's (its private address). */
  private natAddress(r: FlowRecord, source: boolean): boolean {
    return r.family === 4 ? this.nat4.has(source ? r.src4 : r.dst4) : this.nat6.has(addressText(r, source));
  }

  /** Whether a side's address is a path's own: a NAT gateway's, or a managed one (an endpoint's, a load balancer node's). */
  private pathAddress(r: FlowRecord, source: boolean): boolean {
    const t = this.topology;
    const cls = r.family === 4 ? t.table4.lookup(source ? r.src4 : r.dst4) : t.table6.lookup(source ? r.src6 : r.dst6);
    return t.classes[cls].managed !== '' || this.natAddress(r, source);
  }

  /**
   * The workload of an address met without its interface's owner (a record without an interface id, a
   * host filled in from a path): a pod's, else its interface's where the topology lists it, else its own.
   */
  private addressWorkload(ip: string, t: number): number {
    const owner = this.byAddress.get(ip);
    return this.podWorkload(ip, t) ?? (owner ? this.workloadOf(owner, owner.id) : this.workloads.id('Address', '', ip));
  }

  private noteOwn(eni: number, ip: string): void {
    const c = parseCidr(ip);
    if (c.family === 4) return this.noteOwn4(eni, Number(c.start));
    let s = this.own6.get(eni);
    if (!s) this.own6.set(eni, (s = new Set()));
    s.add(ipv6WordsToString(ipv6BigIntToWords(c.start)));
  }

  private noteOwn4(eni: number, a: number): void {
    if (this.addr4[eni] === 0) this.addr4[eni] = a;
    else if (this.addr4[eni] !== a) {
      let s = this.more4.get(eni);
      if (!s) this.more4.set(eni, (s = new Set()));
      s.add(a);
    }
  }

  private isOwn4(eni: number, a: number): boolean {
    // an interface of one address (nearly all): no map looked up per record
    return this.addr4[eni] === a || (this.more4.size > 0 && (this.more4.get(eni)?.has(a) ?? false));
  }

  /** Without flow-direction: 1 where the source is the interface's own address, -1 the destination, 0 neither. */
  private ownSide(eni: number, r: FlowRecord): number {
    if (eni < 0) return 0;
    if (r.family === 4) {
      if (this.isOwn4(eni, r.src4)) return 1;
      if (this.isOwn4(eni, r.dst4)) return -1;
    } else {
      const own = this.own6.get(eni);
      if (own?.has(ipv6WordsToString(r.src6))) return 1;
      if (own?.has(ipv6WordsToString(r.dst6))) return -1;
    }
    // an interface the topology does not list: its address is the one side in the VPC's subnets
    const src = this.vpcHost(r, true);
    if (src === this.vpcHost(r, false)) return 0;
    return src ? 1 : -1;
  }

  /** Whether a side's address is a host of the VPC (a subnet's address, not a managed one; any private address without a topology). */
  private vpcHost(r: FlowRecord, source: boolean): boolean {
    const t = this.topology;
    const cls = r.family === 4 ? t.table4.lookup(source ? r.src4 : r.dst4) : t.table6.lookup(source ? r.src6 : r.dst6);
    const c = t.classes[cls];
    return (c.kind === AddressKind.SUBNET || c.kind === AddressKind.PRIVATE) && c.managed === '';
  }

  /** The local side's address becomes a local address of the engine, counted for the interface's workload. */
  private makeLocal(eni: number, r: FlowRecord, source: boolean): void {
    const text = addressText(r, source);
    // a pod's address names its pod (the one holding it at the record's time); else the interface's owner
    const w = eni >= 0 ? (this.podWorkload(text, r.start) ?? this.workload[eni]) : this.addressWorkload(text, r.start);
    this.engine.addLocal(text, w);
    if (r.family === 4) {
      const a = source ? r.src4 : r.dst4;
      this.logged4.add(a);
      if (eni >= 0) this.noteOwn4(eni, a);
    } else this.logged6.add(text);
  }

  /**
   * A path interface's record: the leg between it and a host of the VPC is summed for that host (its
   * remote: the packet's own address where the log has pkt-srcaddr/pkt-dstaddr); its other leg is the
   * same bytes, or no host's.
   */
  private pathRecord(eni: number, r: FlowRecord): void {
    const srcOwn = this.isPathOwn(eni, r, true);
    const dstOwn = this.isPathOwn(eni, r, false);
    let hostIsSource: boolean;
    if (srcOwn !== dstOwn) hostIsSource = dstOwn;
    else {
      const s = this.vpcHost(r, true);
      if (s === this.vpcHost(r, false)) return this.outer(r);
      hostIsSource = s;
    }
    if (!this.vpcHost(r, hostIsSource)) return this.outer(r);
    const pkt = r.pktFamily === r.family;
    // without pkt-srcaddr/pkt-dstaddr a NAT gateway's record names only itself: its remote is unknown
    if (!pkt && this.natAddress(r, !hostIsSource)) {
      this.stats.natWithoutPktBytes += r.ipBytes;
      return;
    }
    if (!this.fills.add(r, hostIsSource, pkt)) this.stats.fillInsFullBytes += r.ipBytes;
  }

  private outer(r: FlowRecord): void {
    this.stats.outerLegBytes += r.ipBytes;
  }

  private isPathOwn(eni: number, r: FlowRecord, source: boolean): boolean {
    if (r.family === 4) {
      const a = source ? r.src4 : r.dst4;
      if (this.isOwn4(eni, a)) return true;
      // an own address found is remembered: the next record's check is the one above
      if (!this.pathAddress(r, source)) return false;
      this.noteOwn4(eni, a);
      return true;
    }
    return this.pathAddress(r, source) || (this.own6.get(eni)?.has(addressText(r, source)) ?? false);
  }

  /** Keep a record whose side is not known yet, summed with its like; false: the table is full. */
  private defer(eni: number, r: FlowRecord): boolean {
    const key = `${eni} ${addressText(r, true)} ${addressText(r, false)} ${r.proto} ${r.srcPort} ${r.dstPort}`;
    let u = this.undecided.get(key);
    if (u === undefined) {
      if (this.undecided.size >= MAX_UNDECIDED) return false;
      u = { eni, family: r.family, src4: r.src4, dst4: r.dst4, src6: Uint32Array.from(r.src6), dst6: Uint32Array.from(r.dst6), proto: r.proto, srcPort: r.srcPort, dstPort: r.dstPort, bytes: 0, packets: 0, records: 0, start: r.start, end: 0 };
      this.undecided.set(key, u);
    }
    u.bytes += r.ipBytes;
    u.packets += r.packets;
    u.records += r.records;
    if (r.start > 0 && (u.start <= 0 || r.start < u.start)) u.start = r.start;
    if (r.end > u.end) u.end = r.end;
    return true;
  }

  /** The kept records, with every address the logs taught: counted where their side is now known (until no more is learned), the rest said. */
  private decide(): void {
    const r = this.view;
    for (let progress = true; progress && this.undecided.size > 0; ) {
      progress = false;
      for (const [key, u] of this.undecided) {
        r.reset();
        asRecord(u, r);
        r.records = u.records;
        r.start = u.start;
        r.end = u.end;
        const side = this.ownSide(u.eni, r);
        if (side === 0) continue;
        this.undecided.delete(key);
        progress = true;
        this.engine.now = u.end;
        if (!this.engine.countFrom(r, side > 0)) {
          this.makeLocal(u.eni, r, side > 0);
          this.engine.countFrom(r, side > 0);
        }
      }
    }
    for (const u of this.undecided.values()) {
      this.stats.directionUnknown += u.records;
      this.stats.directionUnknownBytes += u.bytes;
    }
    this.undecided.clear();
    this.engine.now = this.pipeline.now;
  }

  /** The path records' sums, for the hosts whose own interface was never logged: counted now. */
  finish(): void {
    this.decide();
    const v = this.view;
    this.fills.forEach((f) => {
      const host = f.family === 4 ? (f.hostIsSource ? f.src4 : f.dst4) : -1;
      const hostText = f.family === 4 ? ipv4ToString(host) : ipv6WordsToString(f.hostIsSource ? f.src6 : f.dst6);
      if (f.family === 4 ? this.logged4.has(host) : this.logged6.has(hostText)) {
        this.stats.seenOnHostBytes += f.bytes;
        return;
      }
      asRecord(f, v);
      this.engine.now = f.end;
      if (!this.engine.countFrom(v, f.hostIsSource)) {
        this.engine.addLocal(hostText, this.addressWorkload(hostText, f.end));
        this.engine.countFrom(v, f.hostIsSource);
      }
      this.stats.filledInBytes += f.bytes;
    });
    this.engine.now = this.pipeline.now;
    this.fills.clear();
  }

  private grow(eni: number): void {
    const n = Math.max(eni + 1, this.role.length * 2);
    const role = new Uint8Array(n);
    role.set(this.role);
    this.role = role;
    const w = new Int32Array(n);
    w.set(this.workload);
    this.workload = w;
    const a = new Uint32Array(n);
    a.set(this.addr4);
    this.addr4 = a;
  }
}

function addressText(r: FlowRecord, source: boolean): string {
  return r.family === 4 ? ipv4ToString(source ? r.src4 : r.dst4) : ipv6WordsToString(source ? r.src6 : r.dst6);
}


/** One summed fill-in: the path record's addresses as the host's capture would have seen them. */
interface FillIn {
  family: number;
  src4: number;
  dst4: number;
  src6: Uint32Array;
  dst6: Uint32Array;
  hostIsSource: boolean;
  proto: number;
  srcPort: number;
  dstPort: number;
  bytes: number;
  packets: number;
  end: number;
}

/**
 * Path records summed per (host, remote, protocol, ports, direction): an open-addressing table over
 * typed arrays (IPv4) and a map (IPv6, where the addresses are text keys: few records). No allocation
 * per IPv4 record once its key was seen.
 */
class FillIns {
  private size = 0;
  private keys = new Uint32Array(0);
  private bytes = new Float64Array(0);
  private packets = new Float64Array(0);
  private end = new Float64Array(0);
  private used = new Uint8Array(0);
  private readonly v6 = new Map<string, FillIn>();

  constructor() {
    this.alloc(1024);
  }

  private alloc(slots: number): void {
    this.keys = new Uint32Array(slots * 4);
    this.bytes = new Float64Array(slots);
    this.packets = new Float64Array(slots);
    this.end = new Float64Array(slots);
    this.used = new Uint8Array(slots);
  }

  /** Sum a path record for its host (the host's side given; the remote is the packet's own address where known). False: full. */
  add(r: FlowRecord, hostIsSource: boolean, pkt: boolean): boolean {
    if (r.family === 6) return this.add6(r, hostIsSource, pkt);
    const src = pkt && !hostIsSource ? r.pktSrc4 : r.src4;
    const dst = pkt && hostIsSource ? r.pktDst4 : r.dst4;
    const ports = ((r.srcPort & 0xffff) << 16) | (r.dstPort & 0xffff);
    const meta = ((r.proto & 0xff) << 8) | (hostIsSource ? 1 : 0) | (r.srcPort < 0 ? 2 : 0) | (r.dstPort < 0 ? 4 : 0);
    if (2 * (this.size + 1) > this.used.length) {
      if (this.used.length * 2 > 2 * MAX_FILL_INS) return false;
      this.rehash(this.used.length * 2);
    }
    const mask = this.used.length - 1;
    let h = Math.imul(src ^ Math.imul(dst, 0x85ebca6b) ^ Math.imul(ports, 0xc2b2ae35) ^ meta, 0x9e3779b1) >>> 0;
    for (h &= mask; ; h = (h + 1) & mask) {
      const k = h * 4;
      if (this.used[h] === 0) {
        this.used[h] = 1;
        this.keys[k] = src;
        this.keys[k + 1] = dst;
        this.keys[k + 2] = ports;
        this.keys[k + 3] = meta;
        this.size++;
        break;
      }
      if (this.keys[k] === src && this.keys[k + 1] === dst && this.keys[k + 2] === ports >>> 0 && this.keys[k + 3] === meta) break;
    }
    this.bytes[h] += r.ipBytes;
    this.packets[h] += r.packets;
    if (r.end > this.end[h]) this.end[h] = r.end;
    return true;
  }

  private add6(r: FlowRecord, hostIsSource: boolean, pkt: boolean): boolean {
    const src = pkt && !hostIsSource ? r.pktSrc6 : r.src6;
    const dst = pkt && hostIsSource ? r.pktDst6 : r.dst6;
    const key = `${ipv6WordsToString(src)} ${ipv6WordsToString(dst)} ${r.proto} ${r.srcPort} ${r.dstPort} ${hostIsSource}`;
    let f = this.v6.get(key);
    if (!f) {
      if (this.v6.size >= MAX_FILL_INS) return false;
      f = { family: 6, src4: 0, dst4: 0, src6: Uint32Array.from(src), dst6: Uint32Array.from(dst), hostIsSource, proto: r.proto, srcPort: r.srcPort, dstPort: r.dstPort, bytes: 0, packets: 0, end: 0 };
      this.v6.set(key, f);
    }
    f.bytes += r.ipBytes;
    f.packets += r.packets;
    if (r.end > f.end) f.end = r.end;
    return true;
  }

  private rehash(slots: number): void {
    const { keys, bytes, packets, end, used } = this;
    this.alloc(slots);
    const mask = slots - 1;
    for (let s = 0; s < used.length; s++) {
      if (used[s] === 0) continue;
      const k = s * 4;
      let h = Math.imul(keys[k] ^ Math.imul(keys[k + 1], 0x85ebca6b) ^ Math.imul(keys[k + 2] | 0, 0xc2b2ae35) ^ keys[k + 3], 0x9e3779b1) >>> 0;
      for (h &= mask; this.used[h] !== 0; h = (h + 1) & mask);
      this.used[h] = 1;
      this.keys.set(keys.subarray(k, k + 4), h * 4);
      this.bytes[h] = bytes[s];
      this.packets[h] = packets[s];
      this.end[h] = end[s];
    }
  }

  /** Visit every sum, in table order for IPv4, then IPv6 in order of first sight. */
  forEach(visit: (f: FillIn) => void): void {
    const f: FillIn = { family: 4, src4: 0, dst4: 0, src6: new Uint32Array(4), dst6: new Uint32Array(4), hostIsSource: false, proto: 0, srcPort: 0, dstPort: 0, bytes: 0, packets: 0, end: 0 };
    for (let s = 0; s < this.used.length; s++) {
      if (this.used[s] === 0) continue;
      const k = s * 4;
      const meta = this.keys[k + 3];
      f.src4 = this.keys[k];
      f.dst4 = this.keys[k + 1];
      f.srcPort = meta & 2 ? -1 : this.keys[k + 2] >>> 16;
      f.dstPort = meta & 4 ? -1 : this.keys[k + 2] & 0xffff;
      f.proto = meta >>> 8;
      f.hostIsSource = (meta & 1) === 1;
      f.bytes = this.bytes[s];
      f.packets = this.packets[s];
      f.end = this.end[s];
      visit(f);
    }
    for (const v of this.v6.values()) visit(v);
  }

  clear(): void {
    this.size = 0;
    this.alloc(1024);
    this.v6.clear();
  }
}
