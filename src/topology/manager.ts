// Keeps the Topology current: IMDS + EC2 API + ip-ranges.json + the optional topology file (which wins),
// merged into one snapshot and swapped in atomically. A source that fails keeps its last good data; the
// failure shows in aztraffic_topology_refresh_errors_total and the log, never as a lost topology.
import type { Logger } from '../log.js';
import type { ExporterMetrics } from '../metrics/registry.js';
import { discoverEc2, ec2Client, ec2Region, Ec2UnauthorizedError, type Ec2Info } from './ec2.js';
import { discoverImds, ImdsDisabledError, type ImdsInfo } from './imds.js';
import { fetchIpRanges } from './ip-ranges.js';
import { DEFAULT_REGION } from './load.js';
import type { IpRanges, PublicIp, Subnet, TopologyFile } from './model.js';
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
  const region = file?.region ?? imds?.region ?? env.AWS_REGION ?? DEFAULT_REGION;
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
    for (const p of ec2.peerCidrs) if (!subnets.has(p.cidr)) subnets.set(p.cidr, { cidr: p.cidr, vpc: p.vpc });
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
  return { region, subnets: [...subnets.values()], public_ips: [...publicIps.values()], local_ips: localIps };
}

export class TopologyManager {
  imds: ImdsInfo | undefined;
  ec2: Ec2Info | undefined;
  ipRanges: IpRanges | undefined;
  private ipRangesToken: string | undefined;
  /** The first discovery attempt is over (whatever its outcome). */
  loaded = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly env: NodeJS.ProcessEnv;
  /** Called after each swap, e.g. to refresh local addresses. */
  onSwap: (t: Topology) => void = () => {};

  constructor(
    private readonly o: ManagerOptions,
    private readonly metrics: ExporterMetrics,
    private readonly log: Logger,
  ) {
    this.env = o.env ?? process.env;
    this.ipRanges = o.ipRangesFromFile;
  }

  private success(source: string, count: number): void {
    this.metrics.topologySubnets.set({ source }, count);
    this.metrics.topologyLastSuccess.set({ source }, Date.now() / 1000);
  }

  private failure(source: string, message: string): void {
    this.metrics.topologyRefreshErrors.inc({ source });
    this.log.warn(message, { source });
  }

  async start(): Promise<void> {
    for (const source of ['imds', 'ec2', 'ip_ranges']) this.metrics.topologyRefreshErrors.inc({ source }, 0);
    await Promise.all([this.refreshAws(false), this.o.ipRangesFromFile ? Promise.resolve() : this.refreshIpRanges(false)]);
    this.swap();
    this.loaded = true;
    if (this.o.discoverAws) this.every(this.o.refreshIntervalMs, () => this.refreshAws(true));
    if (!this.o.ipRangesFromFile && this.o.ipRangesUrl) this.every(this.o.ipRangesRefreshMs, () => this.refreshIpRanges(true));
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

  /** IMDS, then the EC2 API of the instance's VPC. `swap`: rebuild the topology when done. */
  async refreshAws(swap = true): Promise<void> {
    if (!this.o.discoverAws) return;
    try {
      this.imds = await discoverImds({ timeoutMs: this.o.imdsTimeoutMs, env: this.env });
      this.success('imds', this.imds.interfaces.reduce((n, i) => n + i.subnetCidrs.length, 0));
    } catch (e) {
      if (e instanceof ImdsDisabledError) {
        this.log.info(`${e.message}: topology from files only`);
        return;
      }
      this.failure('imds', (e as Error).message);
      if (!this.imds) return; // nothing to ask the EC2 API about
    }
    const vpcId = this.imds.interfaces[0]?.vpcId;
    if (!vpcId) return;
    try {
      this.ec2 = await discoverEc2(ec2Client(ec2Region(this.env, this.imds)), vpcId);
      this.success('ec2', this.ec2.subnets.length);
    } catch (e) {
      const msg = (e as Error).message;
      if (e instanceof Ec2UnauthorizedError && !this.ec2) {
        this.failure('ec2', `${msg}; classifying with what IMDS knows: this instance's subnets, the rest of the VPC unclassified`);
      } else {
        this.failure('ec2', this.ec2 ? `${msg}; keeping the last good EC2 topology` : msg);
      }
    }
    if (swap) this.swap();
  }

  async refreshIpRanges(swap = true): Promise<void> {
    if (!this.o.ipRangesUrl) return;
    try {
      const r = await fetchIpRanges(this.o.ipRangesUrl, this.o.ipRangesCache);
      if (r.fromCache) this.failure('ip_ranges', `ip-ranges.json download failed; using the cached copy ${this.o.ipRangesCache}`);
      else this.success('ip_ranges', r.ranges.prefixes.length + r.ranges.ipv6_prefixes.length);
      if (r.ranges.syncToken !== undefined && r.ranges.syncToken === this.ipRangesToken) return; // unchanged
      this.ipRanges = r.ranges;
      this.ipRangesToken = r.ranges.syncToken;
      if (swap) this.swap();
    } catch (e) {
      this.failure('ip_ranges', `${(e as Error).message}${this.ipRanges ? '; keeping the last good ip-ranges' : ''}`);
    }
  }

  /** The merged topology file of what is known now. */
  current(): TopologyFile {
    return mergeTopology(this.imds, this.ec2, this.o.file, this.env);
  }

  private swap(): void {
    const merged = this.current();
    try {
      const t = new Topology({ file: merged, ipRanges: this.ipRanges, region: merged.region ?? DEFAULT_REGION });
      this.metrics.swapTopology(t);
      this.onSwap(t);
      this.log.info('topology updated', { region: t.region, subnets: t.subnetCount, public_ips: t.publicIpCount, ip_range_prefixes: t.ipRangePrefixCount, zones: t.zones.length - 1 });
    } catch (e) {
      // a discovered value that does not parse must not cost the last good topology
      this.failure('merge', `topology not updated: ${(e as Error).message}`);
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
