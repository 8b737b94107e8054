// An immutable Topology snapshot: every address range the rules know, compiled into prefix tables whose
// values are small "address classes" (kind + zone). Category is then a function of the local address's
// class and the remote's, precomputed into one row per local class, so the hot path does two lookups
// and one index.
import { crossZoneLine, localZoneCode, otherPartition, Path, usageTypes, type LbKind, type PathFacts } from '../classify/bill.js';
import { Category } from '../classify/categories.js';
import { AddressKind, categorize, sameZone, type AddressClass } from '../classify/rules.js';
import { ConfigError } from '../config/errors.js';

export { AddressKind, type AddressClass };
import { ipv6BigIntToWords, parseCidr, type Cidr } from '../net/ip.js';
import type { Host, IpRanges, NetworkInterface, RouteTable, TopologyFile } from './model.js';
import { PrefixTable4, PrefixTable6, type RankedPrefix, type Segments } from './prefix-table.js';
import { longestRoutes } from './route-cells.js';

/** A usage combination: the path of a (local class, remote class) pair and the usage types per direction. */
export interface UsageCombo {
  path: number;
  /** Usage types by direction index (egress, ingress); a type may repeat (two legs of one line). */
  types: [string[], string[]];
  /**
   * A NAT gateway in another zone than the host: the gateway, the host's zone and the line of the leg
   * between them (what a NAT gateway in the host's zone would save).
   */
  cross?: { via: string; zone: string; line: string };
}


// rule order of docs/billing.md ("Categories and prices"), highest first
const PRIORITY_INTERNAL = 6;
const PRIORITY_SUBNET = 5;
const PRIORITY_PUBLIC_IP = 4;
const PRIORITY_IP_RANGES = 3;
const PRIORITY_PRIVATE = 2;

const rank = (priority: number, c: Cidr): number => priority * 256 + c.length;

const INTERNAL_RANGES = [
  '0.0.0.0/8',
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local: IMDS .254, DNS .253, Time Sync .123
  '224.0.0.0/4',
  '255.255.255.255/32',
  '::/128',
  '::1/128',
  'fe80::/10',
  'ff00::/8',
  'fd00:ec2::123/128',
  'fd00:ec2::253/128',
  'fd00:ec2::254/128',
];

const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'];


export interface TopologySources {
  file?: TopologyFile;
  ipRanges?: IpRanges;
  region: string;
}

/**
 * A built Topology as data: what the compiled-topology cache stores, so that a start-up with the same
 * files skips compiling (and validating) tens of thousands of prefixes.
 */
export interface CompiledTopology {
  facts: {
    region: string;
    classes: AddressClass[];
    classLabels: string[];
    zones: string[];
    zoneIds: [string, string][];
    idOfName: [string, string][];
    routeTargets: string[][];
    deviceZones: [string, AddressClass][];
    inspectionEndpoints: string[];
    directConnect: string[];
    routeTableCount: number;
    subnetCount: number;
    publicIpCount: number;
    ipRangePrefixCount: number;
    localIps: string[];
    localMacs: string[];
    host: Host | undefined;
    interfaces: NetworkInterface[];
    natIps: string[];
  };
  table4: Segments;
  table6: Segments;
}

const NO_CLASS: Omit<AddressClass, 'kind' | 'zone' | 'zoneId'> = { region: '', routeTable: -1, cell: 0, managed: '', service: '' };

/** A subnet's route table: its explicit association, else its VPC's main table; -1 where none is known. */
function routeTableOf(tables: RouteTable[], subnetId: string | undefined, vpc: string | undefined): number {
  if (tables.length === 0) return -1;
  if (subnetId !== undefined) {
    const explicit = tables.findIndex((t) => t.subnets.includes(subnetId));
    if (explicit >= 0) return explicit;
  }
  return tables.findIndex((t) => t.main && (vpc === undefined || t.vpc === undefined || t.vpc === vpc));
}

const classKey = (c: AddressClass): string => `${c.kind}|${c.zone}|${c.zoneId}|${c.region}|${c.routeTable}|${c.cell}|${c.managed}|${c.service}`;

/** A usage combination's key: equal combinations, equal keys (within a Topology and across threads). */
const comboKey = (c: UsageCombo): string => JSON.stringify(c);

export class Topology {
  readonly region: string;
  readonly classes: AddressClass[] = [{ kind: AddressKind.INTERNET, zone: '', zoneId: '', ...NO_CLASS }];
  /** Zone names; index 0 is '' (no zone). Label index of local_az/remote_az. */
  readonly zones: string[] = [''];
  /** zone name → zone ID, where known. */
  readonly zoneIds = new Map<string, string>();
  readonly table4: PrefixTable4;
  readonly table6: PrefixTable6;
  /** Category rows by local class, made when first asked for (only local addresses' classes are). */
  private readonly categoryRows = new Map<number, Uint8Array>();
  private readonly countRows = new Map<number, Uint32Array>();
  /** Usage combinations, numbered as usage rows meet them; 0 is "direct, no usage type". */
  readonly usageCombos: UsageCombo[] = [{ path: Path.DIRECT, types: [[], []] }];
  private readonly usageComboIndex = new Map<string, number>([[comboKey(this.usageCombos[0]), 0]]);
  /** Per usage combination through a NAT gateway, the one a connection opened from outside takes instead (-1: none). */
  readonly inboundCombo: number[] = [-1];
  /** Route-table facts: per table, the route target of each cell ('' where no route covers it). */
  private readonly routeTargets: string[][] = [];
  private readonly deviceZones = new Map<string, AddressClass>();
  /**
   * vpce- route targets that are Gateway Load Balancer endpoints (firewalls, inspection appliances):
   * typed so by DescribeVpcEndpoints, or the target of a route to a CIDR (a gateway endpoint's routes
   * are always its service's prefix list). Any other vpce- target is an S3 or DynamoDB gateway endpoint.
   */
  private readonly inspectionEndpoints = new Set<string>();
  /** vgw- route targets with no VPN connection: Direct Connect's virtual private gateways. */
  private readonly directConnect = new Set<string>();
  readonly routeTableCount: number;
  /** remote_az label index per class */
  readonly classZone: Int32Array;
  readonly subnetCount: number;
  readonly publicIpCount: number;
  readonly ipRangePrefixCount: number;
  readonly localIps: string[];
  /** MACs of this host's ENIs (IMDS): live capture covers the interfaces that carry them. */
  readonly localMacs: string[];
  /** The host itself: its instance, account and ENIs (IMDS or the file), for the bill's resource IDs. */
  readonly host: Host | undefined;
  /** The VPC's ENIs with their addresses and owners (flow-log records name them). */
  readonly interfaces: NetworkInterface[];
  /** NAT gateways' private addresses: a flow log's interface with one is a path, not a host. */
  readonly natIps: string[];

  private readonly classIndex = new Map<string, number>();
  private readonly zoneIndex = new Map<string, number>([['', 0]]);
  /** The zone label of each class (parallel to classes). */
  private readonly classLabels: string[] = [''];
  /** The first zone ID seen for each zone name. */
  private readonly idOfName = new Map<string, string>();

  constructor(src: TopologySources | CompiledTopology) {
    if ('facts' in src) {
      const f = src.facts;
      this.region = f.region;
      this.classes = f.classes;
      this.classLabels = f.classLabels;
      this.zones = f.zones;
      for (const [z, id] of f.zoneIds) this.zoneIds.set(z, id);
      for (const [z, id] of f.idOfName) this.idOfName.set(z, id);
      this.routeTargets = f.routeTargets;
      for (const [id, c] of f.deviceZones) this.deviceZones.set(id, c);
      for (const id of f.inspectionEndpoints) this.inspectionEndpoints.add(id);
      for (const id of f.directConnect) this.directConnect.add(id);
      ({ routeTableCount: this.routeTableCount, subnetCount: this.subnetCount, publicIpCount: this.publicIpCount } = f);
      ({ ipRangePrefixCount: this.ipRangePrefixCount, localIps: this.localIps, localMacs: this.localMacs, host: this.host } = f);
      this.interfaces = f.interfaces;
      this.natIps = f.natIps;
      this.classes.forEach((c, i) => this.classIndex.set(classKey(c), i));
      this.zones.forEach((z, i) => this.zoneIndex.set(z, i));
      this.table4 = new PrefixTable4(src.table4);
      this.table6 = new PrefixTable6(src.table6);
      const n = this.classes.length;
      for (const v of [src.table4.values, src.table6.values]) if (v.some((c) => c < 0 || c >= n)) throw new Error('compiled topology: a segment names no class');
      if (this.classLabels.length !== n || this.classLabels.some((l) => !this.zoneIndex.has(l))) throw new Error('compiled topology: class labels do not match');
      this.classZone = Int32Array.from(this.classLabels, (label) => this.zoneIndex.get(label)!);
      return;
    }
    this.region = src.region;
    const prefixes: RankedPrefix[] = [];
    const add = (text: string, priority: number, cls: number): void => {
      const c = parseCidr(text);
      prefixes.push({ cidr: c, rank: rank(priority, c), value: cls });
    };
    const internal = this.classOf(AddressKind.INTERNAL, '', '');
    for (const r of INTERNAL_RANGES) add(r, PRIORITY_INTERNAL, internal);
    const priv = this.classOf(AddressKind.PRIVATE, '', '');
    for (const r of PRIVATE_RANGES) add(r, PRIORITY_PRIVATE, priv);

    const file = src.file;
    const tables = file?.route_tables ?? [];
    this.routeTableCount = tables.length;
    // the subnets of this host's own addresses first: their zones keep their plain names (zoneLabel)
    const locals = (file?.local_ips ?? []).map((ip) => parseCidr(ip));
    const holdsLocal = (c: Cidr): boolean => locals.some((l) => l.family === c.family && c.start <= l.start && l.end <= c.end);
    const subnets = (file?.subnets ?? []).map((s) => {
      const c = parseCidr(s.cidr);
      return { s, c, own: holdsLocal(c) };
    });
    subnets.sort((a, b) => Number(b.own) - Number(a.own));
    for (const { s, c } of subnets) {
      const zone = s.zone ?? '';
      const zoneId = s.zone_id ?? '';
      if (s.region !== undefined && s.region !== this.region) {
        // a VPC peered across regions: its addresses are another region's
        prefixes.push({ cidr: c, rank: rank(PRIORITY_SUBNET, c), value: this.classOf(AddressKind.AWS_OTHER_REGION, '', '', { region: s.region }) });
        continue;
      }
      const routeTable = routeTableOf(tables, s.id, s.vpc);
      prefixes.push({ cidr: c, rank: rank(PRIORITY_SUBNET, c), value: this.classOf(AddressKind.SUBNET, zone, zoneId, { routeTable }) });
      // AWS reserves base+1 (router), +2 (DNS), +3 of every subnet: never billed
      const reserved = this.classOf(AddressKind.INTERNAL, zone, zoneId);
      const bits = BigInt(c.family === 4 ? 32 : 128);
      for (let k = 1n; k <= 3n && c.start + k <= c.end; k++) {
        const host: Cidr = { family: c.family, start: c.start + k, end: c.start + k, length: Number(bits) };
        prefixes.push({ cidr: host, rank: rank(PRIORITY_INTERNAL, host), value: reserved });
      }
    }
    for (const p of file?.public_ips ?? []) {
      add(p.ip, PRIORITY_PUBLIC_IP, this.classOf(AddressKind.PUBLIC_IP, p.zone ?? '', p.zone_id ?? ''));
    }
    // managed ENIs inside subnets: a /32 of the subnet rule outranks its subnet
    for (const e of file?.endpoints ?? []) {
      for (const m of e.type === 'interface' ? e.ips : []) add(m.ip, PRIORITY_SUBNET, this.classOf(AddressKind.SUBNET, m.zone ?? '', m.zone_id ?? '', { managed: 'interface_endpoint' }));
    }
    for (const lb of file?.load_balancers ?? []) add(lb.ip, PRIORITY_SUBNET, this.classOf(AddressKind.SUBNET, lb.zone ?? '', lb.zone_id ?? '', { managed: lb.kind }));
    for (const n of file?.nat_gateways ?? []) this.deviceZones.set(n.id, { kind: AddressKind.SUBNET, zone: n.zone ?? '', zoneId: n.zone_id ?? '', ...NO_CLASS });
    // ENIs routes lead to (NAT instances, appliances), by their id and their instance's
    for (const i of file?.interfaces ?? []) {
      const at: AddressClass = { kind: AddressKind.SUBNET, zone: i.zone ?? '', zoneId: i.zone_id ?? '', ...NO_CLASS };
      this.deviceZones.set(i.id, at);
      if (i.instance !== undefined) this.deviceZones.set(i.instance, at);
    }
    for (const g of file?.vpn_gateways ?? []) if (g.direct_connect) this.directConnect.add(g.id);
    for (const e of file?.endpoints ?? []) if (e.type === 'gateway_load_balancer') this.inspectionEndpoints.add(e.id);
    for (const t of tables) for (const r of t.routes) if (r.target.startsWith('vpce-') && r.destination !== undefined) this.inspectionEndpoints.add(r.target);
    const cells = this.routeCells(tables, file?.prefix_lists ?? []);
    const ipRangePrefixes = this.ipRangePrefixes(src.ipRanges);
    // a loop, not push(...spread): a spread of 125k+ arguments overflows the stack
    for (const p of ipRangePrefixes) prefixes.push(p);

    this.subnetCount = file?.subnets.length ?? 0;
    this.publicIpCount = file?.public_ips.length ?? 0;
    this.ipRangePrefixCount = ipRangePrefixes.length;
    this.localIps = file?.local_ips ?? [];
    this.localMacs = file?.local_macs ?? [];
    this.host = file?.host;
    this.interfaces = file?.interfaces ?? [];
    this.natIps = (file?.nat_gateways ?? []).flatMap((n) => n.private_ips);
    // one lookup gives both the rule's class and the route cell: their pairs are classes of their own
    const overlay = cells.length === 0 ? undefined : { prefixes: cells, combine: (cls: number, cell: number) => (cell === 0 ? cls : this.withCell(cls, cell)) };
    this.table4 = new PrefixTable4(prefixes, overlay);
    this.table6 = new PrefixTable6(prefixes, overlay);

    this.classZone = Int32Array.from(this.classLabels, (label) => this.zoneIndex.get(label)!);
  }

  /** This topology as data, for the compiled-topology cache (new Topology(compiled) gives it back). */
  compiled(): CompiledTopology {
    return {
      facts: {
        region: this.region,
        classes: this.classes,
        classLabels: this.classLabels,
        zones: this.zones,
        zoneIds: [...this.zoneIds],
        idOfName: [...this.idOfName],
        routeTargets: this.routeTargets,
        deviceZones: [...this.deviceZones],
        inspectionEndpoints: [...this.inspectionEndpoints],
        directConnect: [...this.directConnect],
        routeTableCount: this.routeTableCount,
        subnetCount: this.subnetCount,
        publicIpCount: this.publicIpCount,
        ipRangePrefixCount: this.ipRangePrefixCount,
        localIps: this.localIps,
        localMacs: this.localMacs,
        host: this.host,
        interfaces: this.interfaces,
        natIps: this.natIps,
      },
      table4: { starts: this.table4.starts, values: this.table4.values },
      table6: { starts: this.table6.starts, values: this.table6.values },
    };
  }

  /**
   * category[remoteClass] for traffic of a local address of class `localClass`. Rows, not a whole
   * classes × classes matrix: thousands of zones make thousands of classes, and a host has few local ones.
   */
  categoryRow(localClass: number): Uint8Array {
    let row = this.categoryRows.get(localClass);
    if (row === undefined) {
      const local = this.classes[localClass];
      row = Uint8Array.from(this.classes, (remote) => categorize(local, remote));
      this.categoryRows.set(localClass, row);
    }
    return row;
  }

  /**
   * What the engine reads per packet, in one word per remote class: the usage combination (path and
   * usage types) and the category, packed as the engine's counter layout says (`pack`). One array read
   * for both on the hot path.
   */
  countRow(localClass: number, pack: (combo: number, cat: number) => number): Uint32Array {
    let row = this.countRows.get(localClass);
    if (row === undefined) {
      const local = this.classes[localClass];
      const cats = this.categoryRow(localClass);
      row = Uint32Array.from(this.classes, (remote, i) => pack(this.usageCombo(local, remote, cats[i]), cats[i]));
      this.countRows.set(localClass, row);
    }
    return row;
  }

  /** The path facts of traffic between a local and a remote class. */
  private pathOf(local: AddressClass, remote: AddressClass, cat: number): PathFacts {
    const facts: PathFacts = { path: Path.DIRECT, otherZone: false, peerOtherZone: false, lb: undefined, remoteInKnownVpc: remote.kind === AddressKind.SUBNET, remoteRegion: remote.region, directConnect: false };
    const lz = localZoneCode(this.region, local.zone);
    if (lz !== undefined) facts.localZoneCode = lz;
    // link-local and loopback (the instance metadata service, the time server, the DNS resolver's
    // 169.254 address) never leave the host or its ENI: no route, whatever covers 0.0.0.0/0
    if (cat === Category.INTERNAL) return facts;
    if (remote.managed === 'interface_endpoint') facts.path = Path.INTERFACE_ENDPOINT;
    else if (remote.managed !== '') {
      facts.path = Path.LOAD_BALANCER;
      facts.lb = remote.managed as LbKind;
    } else if (local.routeTable >= 0) {
      const target = this.routeTargets[local.routeTable][remote.cell] ?? '';
      if (target.startsWith('nat-')) {
        facts.path = Path.NAT_GATEWAY;
        facts.otherZone = this.inOtherZone(local, target);
        if (facts.otherZone) {
          facts.via = target;
          facts.zone = local.zone;
        }
      } else if (target.startsWith('vpce-')) facts.path = this.inspectionEndpoints.has(target) ? Path.GATEWAY_LOAD_BALANCER_ENDPOINT : Path.GATEWAY_ENDPOINT;
      else if (target.startsWith('tgw-')) facts.path = Path.TRANSIT_GATEWAY;
      else if (target.startsWith('vgw-')) {
        facts.path = Path.VPN_GATEWAY;
        facts.directConnect = this.directConnect.has(target);
      } else if (target.startsWith('eni-') || target.startsWith('i-')) {
        // a NAT instance or appliance: the leg to it crosses zones when its zone is known to differ
        facts.path = Path.INSTANCE;
        facts.otherZone = this.inOtherZone(local, target);
      }
      else if (target.startsWith('pcx-')) {
        facts.path = Path.VPC_PEERING;
        facts.peerOtherZone = cat === Category.CROSS_AZ;
      }
    }
    return facts;
  }

  /**
   * Whether a route's device (a NAT gateway, an instance's ENI) is in another zone than the local side:
   * one of unknown zone is not, so that no cross-zone leg is invented.
   */
  private inOtherZone(local: AddressClass, target: string): boolean {
    const dev = this.deviceZones.get(target);
    return dev !== undefined && (dev.zone !== '' || dev.zoneId !== '') && !sameZone(local, dev);
  }

  /** A usage combination's key, the same in every Topology built from the same facts. */
  usageComboKey(i: number): string {
    return comboKey(this.usageCombos[i]);
  }

  /** The number of the usage combination with this key here, if met. */
  usageComboNumber(key: string): number | undefined {
    return this.usageComboIndex.get(key);
  }

  private usageCombo(local: AddressClass, remote: AddressClass, cat: number): number {
    const facts = this.pathOf(local, remote, cat);
    const i = this.comboOf(facts, cat);
    // NAT never carries a connection opened from outside: such bytes came through a load balancer or an
    // accelerator that keeps the client's address (the engine tells them by their service port)
    if (facts.path === Path.NAT_GATEWAY && this.inboundCombo[i] < 0) this.inboundCombo[i] = this.comboOf({ ...facts, path: Path.LOAD_BALANCER, lb: undefined, otherZone: false }, cat);
    return i;
  }

  private comboOf(facts: PathFacts, cat: number): number {
    const combo: UsageCombo = { path: facts.path, types: [usageTypes(this.region, 0, cat, facts), usageTypes(this.region, 1, cat, facts)] };
    if (facts.via !== undefined && facts.path === Path.NAT_GATEWAY) combo.cross = { via: facts.via, zone: facts.zone ?? '', line: crossZoneLine(this.region, facts) };
    const key = comboKey(combo);
    let i = this.usageComboIndex.get(key);
    if (i === undefined) {
      i = this.usageCombos.push(combo) - 1;
      this.usageComboIndex.set(key, i);
      this.inboundCombo[i] = -1;
    }
    return i;
  }

  /**
   * Route cells: every route destination of every table (prefix lists expanded). The most specific
   * cell covering an address decides each table's longest-prefix route for it, so a table's route is
   * a function of the cell, computed here once per (table, cell).
   */
  private routeCells(tables: RouteTable[], lists: { id: string; cidrs: string[] }[]): RankedPrefix[] {
    const listCidrs = new Map(lists.map((l) => [l.id, l.cidrs]));
    const routes = tables.map((t) =>
      t.routes.flatMap((r) => {
        const dests = r.destination !== undefined ? [r.destination] : (listCidrs.get(r.prefix_list!) ?? []);
        return dests.map((d) => ({ cidr: parseCidr(d), target: r.target }));
      }),
    );
    const cellIndex = new Map<string, number>();
    const cells: RankedPrefix[] = [];
    const cellCidrs: Cidr[] = [parseCidr('0.0.0.0/32')]; // index 0: no cell
    for (const table of routes) {
      for (const r of table) {
        const key = `${r.cidr.family}|${r.cidr.start}|${r.cidr.length}`;
        if (cellIndex.has(key)) continue;
        const i = cellCidrs.push(r.cidr) - 1;
        cellIndex.set(key, i);
        cells.push({ cidr: r.cidr, rank: r.cidr.length, value: i });
      }
    }
    for (const targets of longestRoutes(routes, cellCidrs)) this.routeTargets.push(targets);
    return cells;
  }

  private withCell(cls: number, cell: number): number {
    const c = this.classes[cls];
    return this.classOf(c.kind, c.zone, c.zoneId, { region: c.region, routeTable: c.routeTable, managed: c.managed, service: c.service, cell });
  }

  private classOf(kind: number, zone: string, zoneId: string, more: Partial<typeof NO_CLASS> = {}): number {
    const cls = { kind, zone, zoneId, ...NO_CLASS, ...more };
    const key = classKey(cls);
    let i = this.classIndex.get(key);
    if (i === undefined) {
      i = this.classes.length;
      this.classes.push(cls);
      this.classIndex.set(key, i);
      const label = this.zoneLabel(zone, zoneId);
      this.classLabels.push(label);
      if (!this.zoneIndex.has(label)) this.zoneIndex.set(label, this.zones.push(label) - 1);
      if (label !== '' && zoneId !== '' && !this.zoneIds.has(label)) this.zoneIds.set(label, zoneId);
    }
    return i;
  }

  /**
   * The zones of the known VPCs (their subnets and public IPs), not the locations of AWS's ranges (Local
   * Zone and Wavelength border groups are remote locations, not zones a host here is in).
   */
  vpcZones(): string[] {
    const out = new Set<string>();
    this.classes.forEach((c, i) => {
      if ((c.kind === AddressKind.SUBNET || c.kind === AddressKind.PUBLIC_IP) && this.classLabels[i] !== '') out.add(this.classLabels[i]);
    });
    return this.zones.filter((z) => out.has(z));
  }

  private ipRangePrefixes(ranges: IpRanges | undefined): RankedPrefix[] {
    if (!ranges) return [];
    // a prefix's services are the union of its entries; what decides its kind are a few facts about
    // them, kept as bits (not sets: a million prefixes must fit), plus the region or Local Zone of the
    // few that need one
    const IN_REGION = 1;
    const EC2_IN_REGION = 2;
    const GLOBAL_FREE = 4; // CloudFront, Route 53: free to reach
    const OTHER_REGION = 8;
    const ACCELERATOR = 16; // Global Accelerator: internet, unless the prefix is also another service's
    // the region's services a gateway endpoint reaches: what a cheaper path for them needs to know
    const S3 = 32;
    const DYNAMODB = 64;
    const byPrefix = new Map<string, number>();
    const regionOf = new Map<string, string>();
    const localZoneOf = new Map<string, string>();
    const note = (prefix: string, region: string, service: string, nbg: string | undefined): void => {
      let f = byPrefix.get(prefix) ?? 0;
      // CloudFront's ranges tagged with a region are its regional edge caches, not that region's hosts:
      // an origin fetch to them is free, never inter-region. Global Accelerator's are its edge, reached as
      // the internet is, whatever region they name.
      if (service.startsWith('CLOUDFRONT') && !otherPartition(region)) {
        byPrefix.set(prefix, f | GLOBAL_FREE);
        return;
      }
      if (service === 'GLOBALACCELERATOR') {
        byPrefix.set(prefix, f | ACCELERATOR);
        return;
      }
      if (region === this.region) {
        f |= service === 'EC2' ? IN_REGION | EC2_IN_REGION : service === 'S3' ? IN_REGION | S3 : service === 'DYNAMODB' ? IN_REGION | DYNAMODB : IN_REGION;
        // a network border group unlike its region (Local Zone, Wavelength) is its own location
        if (nbg !== undefined && nbg !== region) localZoneOf.set(prefix, nbg);
      } else if (region === 'GLOBAL') {
        if (service.startsWith('CLOUDFRONT') || service.startsWith('ROUTE53')) f |= GLOBAL_FREE;
      } else if (!otherPartition(region)) {
        f |= OTHER_REGION;
        if (!regionOf.has(prefix)) regionOf.set(prefix, region);
      }
      byPrefix.set(prefix, f);
    };
    for (const p of ranges.prefixes) note(p.ip_prefix, p.region, p.service, p.network_border_group);
    for (const p of ranges.ipv6_prefixes) note(p.ipv6_prefix, p.region, p.service, p.network_border_group);
    const out: RankedPrefix[] = [];
    for (const [prefix, f] of byPrefix) {
      // other partitions (GovCloud, China) and GLOBAL ranges other than CloudFront and Route 53
      // (Global Accelerator…) are billed as internet
      let cls = 0;
      if (f & ACCELERATOR) {
        // internet (class 0)
      } else if (f & IN_REGION) {
        const service = f & EC2_IN_REGION ? '' : f & S3 ? 's3' : f & DYNAMODB ? 'dynamodb' : '';
        cls = this.classOf(f & EC2_IN_REGION ? AddressKind.EC2_REGION : AddressKind.AWS_SERVICE, localZoneOf.get(prefix) ?? '', '', { service });
      } else if (f & GLOBAL_FREE) {
        // CloudFront, Route 53: no endpoint in a VPC reaches them
        cls = this.classOf(AddressKind.AWS_SERVICE, '', '', { service: 'global' });
      } else if (f & OTHER_REGION) {
        cls = this.classOf(AddressKind.AWS_OTHER_REGION, '', '', { region: regionOf.get(prefix)! });
      }
      let c: Cidr;
      try {
        c = parseCidr(prefix);
      } catch {
        throw new ConfigError(`prefix ${JSON.stringify(prefix)} is not a valid CIDR`);
      }
      out.push({ cidr: c, rank: rank(PRIORITY_IP_RANGES, c), value: cls });
    }
    return out;
  }

  /**
   * The label of a zone (local_az, remote_az). Zone names differ between accounts: a peered VPC's
   * "us-east-1d" may be another zone than ours. The first zone ID seen for a name keeps the plain
   * name (local subnets come first); another zone ID with the same name is labelled "name (id)", so
   * that "us-east-1d → us-east-1d" never reads as cross-AZ without a word of why.
   */
  private zoneLabel(zone: string, zoneId: string): string {
    if (zone === '' || zoneId === '') return zone;
    const first = this.idOfName.get(zone);
    if (first === undefined) {
      this.idOfName.set(zone, zoneId);
      return zone;
    }
    return first === zoneId ? zone : `${zone} (${zoneId})`;
  }

  /** Class of an address given as text (config time, tests). */
  classify(ip: string): AddressClass {
    return this.classes[this.classIndexOf(ip)];
  }

  classIndexOf(ip: string): number {
    const c = parseCidr(ip);
    if (c.family === 4) return this.table4.lookup(Number(c.start));
    return this.table6.lookup(Uint32Array.from(ipv6BigIntToWords(c.start)));
  }

  /** Category of traffic between a local address and a remote one (both as text). */
  categoryOf(localIp: string, remoteIp: string): number {
    return this.categoryRow(this.classIndexOf(localIp))[this.classIndexOf(remoteIp)];
  }
}
