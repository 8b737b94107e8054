// Keeps the Topology current: the sources (IMDS, EC2 API, ip-ranges.json) and the optional topology file
// (which wins) merged into one snapshot, handed to every subscriber. A source that fails keeps its last
// good data; the failure shows in the TopologyStatus (and so in aztraffic_topology_refresh_errors_total)
// and the log, never as a lost topology. Topology code never calls into metrics.
import type { Logger } from '../config/log.js';
import type { Ec2Info } from './ec2.js';
import type { ImdsInfo } from './imds.js';
import type { IpRanges, PublicIp, Subnet, TopologyFile } from './model.js';
import { resolveRegion } from './region.js';
import { Ec2Source, FileSource, ImdsSource, IpRangesSource, type TopologySource } from './sources.js';
import type { TopologyStatus } from './status.js';
import { Topology } from './topology.js';

export interface ManagerOptions {
  file?: TopologyFile;
  /** ip-ranges from --ip-ranges.file: used as is, never downloaded. */
  ipRangesFromFile?: IpRanges;
  ipRangesUrl?: string;
  ipRangesCache?: string;
  discoverAws: boolean;
  refreshIntervalMs: number;
  ipRangesRefreshMs: number;
  imdsTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Merge what was discovered with the topology file; the file wins for any CIDR or IP it names. */
export function mergeTopology(imds: ImdsInfo | undefined, ec2: Ec2Info | undefined, file: TopologyFile | undefined, env: NodeJS.ProcessEnv = process.env): TopologyFile {
  const { region } = resolveRegion({ file: file?.region, imds: imds?.region, env });
  const subnets = new Map<string, Subnet>();
  const publicIps = new Map<string, PublicIp>();
  if (ec2) {
    // zone names differ between accounts; people read this account's: name a peer's subnet by the
    // name this account gives its zone ID
    const ourName = new Map([...ec2.zoneIds].map(([name, id]) => [id, name]));
    for (const s of ec2.subnets) {
      const name = s.zone_id ? ourName.get(s.zone_id) : undefined;
      subnets.set(s.cidr, name && name !== s.zone ? { ...s, zone: name } : s);
    }
    // peers whose subnets cannot be described: known to be theirs, zone unknown → unclassified
    for (const p of ec2.peerCidrs) if (!subnets.has(p.cidr)) subnets.set(p.cidr, { ...p });
    for (const p of ec2.publicIps) publicIps.set(p.ip, p);
  }
  for (const i of imds?.interfaces ?? []) {
    const zone = { zone: imds!.zone, ...(imds!.zoneId ? { zone_id: imds!.zoneId } : {}) };
    for (const cidr of i.subnetCidrs) if (!subnets.has(cidr)) subnets.set(cidr, { cidr, ...zone, vpc: i.vpcId, id: i.subnetId });
    // without the EC2 API the rest of the VPC is known only as a range: zone unknown → unclassified
    for (const cidr of i.vpcCidrs) if (!subnets.has(cidr) && !ec2) subnets.set(cidr, { cidr, vpc: i.vpcId });
    for (const ip of i.publicIps) if (!publicIps.has(ip)) publicIps.set(ip, { ip, ...zone });
  }
  for (const s of file?.subnets ?? []) subnets.set(s.cidr, s);
  for (const p of file?.public_ips ?? []) publicIps.set(p.ip, p);
  const localIps = [...new Set([...(imds?.interfaces.flatMap((i) => i.localIps) ?? []), ...(file?.local_ips ?? [])])];
  // the path: what the file names (by id, or by address) replaces what discovery found
  const byKey = <T>(key: (x: T) => string, found: T[] | undefined, given: T[] | undefined): T[] => [...new Map([...(found ?? []), ...(given ?? [])].map((x) => [key(x), x])).values()];
  const path = ec2?.path;
  return {
    region,
    subnets: [...subnets.values()],
    public_ips: [...publicIps.values()],
    local_ips: localIps,
    local_macs: [...new Set([...(imds?.interfaces.map((i) => i.mac) ?? []), ...(file?.local_macs ?? [])])],
    route_tables: byKey((t) => t.id, path?.route_tables, file?.route_tables),
    prefix_lists: byKey((l) => l.id, path?.prefix_lists, file?.prefix_lists),
    nat_gateways: byKey((n) => n.id, path?.nat_gateways, file?.nat_gateways),
    endpoints: byKey((e) => e.id, path?.endpoints, file?.endpoints),
    load_balancers: byKey((l) => l.ip, path?.load_balancers, file?.load_balancers),
  };
}

export class TopologyManager {
  /** The first discovery attempt is over (whatever its outcome). */
  loaded = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private readonly subscribers: ((t: Topology) => void)[] = [];
  private readonly values = new Map<string, unknown>();
  /** The last failure of each source, for callers that must stop on it (discover). */
  readonly errors = new Map<string, Error>();
  private readonly imdsSource: ImdsSource | undefined;
  private readonly ec2Source: Ec2Source | undefined;
  private readonly ipRangesSource: IpRangesSource | undefined;
  private readonly fileSource: FileSource | undefined;

  constructor(
    private readonly o: ManagerOptions,
    private readonly status: TopologyStatus,
    private readonly log: Logger,
  ) {
    this.env = o.env ?? process.env;
    if (o.discoverAws) {
      this.imdsSource = new ImdsSource(this.env, o.refreshIntervalMs, o.imdsTimeoutMs);
      this.ec2Source = new Ec2Source(this.env, () => this.imds, o.refreshIntervalMs);
    }
    if (o.file) this.fileSource = new FileSource(o.file);
    if (!o.ipRangesFromFile && o.ipRangesUrl) this.ipRangesSource = new IpRangesSource(o.ipRangesUrl, o.ipRangesCache, o.ipRangesRefreshMs);
    // a source only where one runs: ip-ranges from --ip-ranges.file is the file's ("ip_ranges_file"), and
    // without discovery there is no IMDS or EC2 to wait for (the page would show them "never" in red)
    for (const source of [this.imdsSource && 'imds', this.ec2Source && 'ec2', this.ipRangesSource && 'ip_ranges']) if (source) status.expect(source);
  }

  get imds(): ImdsInfo | undefined {
    return this.values.get('imds') as ImdsInfo | undefined;
  }

  get ec2(): Ec2Info | undefined {
    return this.values.get('ec2') as Ec2Info | undefined;
  }

  get ipRanges(): IpRanges | undefined {
    return (this.values.get('ip_ranges') as IpRanges | undefined) ?? this.o.ipRangesFromFile;
  }

  /** Every new snapshot is handed to `f`, in the order subscribed. */
  onSnapshot(f: (t: Topology) => void): void {
    this.subscribers.push(f);
  }

  async start(): Promise<void> {
    await Promise.all([this.refresh(this.fileSource), this.refreshAws(false), this.refreshIpRanges(false)]);
    this.swap();
    this.loaded = true;
    if (this.o.discoverAws) this.every(this.o.refreshIntervalMs, () => this.refreshAws(true));
    if (this.ipRangesSource) this.every(this.o.ipRangesRefreshMs, () => this.refreshIpRanges(true));
  }

  private every(ms: number, f: () => Promise<void>): void {
    let running = false;
    const t = setInterval(() => {
      if (running) return;
      running = true;
      void f().finally(() => (running = false));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  /** Load one source; its last good value stays when it fails. Returns whether the value changed. */
  private async refresh<T>(source: TopologySource<T> | undefined): Promise<boolean> {
    if (!source) return false;
    const previous = this.values.get(source.name) as T | undefined;
    try {
      const r = await source.load(previous);
      if ('absent' in r) {
        this.log.info(r.absent, { source: source.name });
        return false;
      }
      if ('unchanged' in r) {
        this.status.success(source.name, source.size(previous!));
        return false;
      }
      if (r.warning) this.failure(source.name, r.warning);
      else this.status.success(source.name, source.size(r.value));
      this.values.set(source.name, r.value);
      this.errors.delete(source.name);
      return true;
    } catch (e) {
      const err = e as Error;
      this.errors.set(source.name, err);
      this.failure(source.name, source.explain ? source.explain(err, previous !== undefined) : err.message);
      return false;
    }
  }

  /** IMDS, then the EC2 API of the instance's VPC. `swap`: rebuild the topology when done. */
  async refreshAws(swap = true): Promise<void> {
    const imdsChanged = await this.refresh(this.imdsSource);
    // without IMDS's answer now or before, there is no VPC to ask the EC2 API about
    const ec2Changed = this.imds ? await this.refresh(this.ec2Source) : false;
    if (swap && (imdsChanged || ec2Changed)) this.swap();
  }

  async refreshIpRanges(swap = true): Promise<void> {
    if (await this.refresh(this.ipRangesSource)) {
      if (swap) this.swap();
    }
  }

  private failure(source: string, message: string): void {
    this.status.failure(source, message);
    this.log.warn(message, { source });
  }

  /** The merged topology file of what is known now. */
  current(): TopologyFile {
    return mergeTopology(this.imds, this.ec2, (this.values.get('file') as TopologyFile | undefined) ?? this.o.file, this.env);
  }

  private swap(): void {
    const merged = this.current();
    let t: Topology;
    try {
      t = new Topology({ file: merged, ipRanges: this.ipRanges, region: merged.region ?? resolveRegion({ env: this.env }).region });
    } catch (e) {
      // a discovered value that does not parse must not cost the last good topology
      this.failure('merge', `topology not updated: ${(e as Error).message}`);
      return;
    }
    for (const f of this.subscribers) f(t);
    this.log.info('topology updated', { region: t.region, subnets: t.subnetCount, public_ips: t.publicIpCount, ip_range_prefixes: t.ipRangePrefixCount, zones: t.zones.length - 1 });
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
