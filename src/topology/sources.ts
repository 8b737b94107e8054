// Topology sources behind one interface: each loads its part anew when asked (IMDS, the EC2 API,
// ip-ranges.json; the topology file once), says how many entries it has, and throws when it fails. The
// manager keeps each source's last good value, merges them and swaps in snapshots.
import { callAws } from './aws-calls.js';
import { Ec2UnauthorizedError, ImdsDisabledError } from './aws-errors.js';
import type { Ec2Info } from './ec2.js';
import type { ImdsInfo } from './imds.js';
import { createdAt, describeCopy, fetchIpRanges } from './ip-ranges.js';
import { resolveRegion } from './region.js';
import type { IpRanges, PublicIp, Subnet, TopologyFile } from './model.js';

/**
 * A source's part of the topology, said as the topology file says it. Parts are merged in the order of
 * the manager's list, a later part winning for any CIDR, address or id it names (the file wins over
 * discovery, the EC2 API over IMDS); local addresses and MACs are the union of all.
 */
export type TopologyPart = Partial<Omit<TopologyFile, 'region'>> & { region?: string };

/** A source's answer: a value, or "nothing new"; `warning` when it is a fallback worth saying. */
export type Loaded<T> = { value: T; warning?: string } | { unchanged: true } | { absent: string };

export interface TopologySource<T> {
  /** The `source` label of the topology metrics. */
  readonly name: string;
  /** How often to load again; undefined: once. */
  readonly refreshMs?: number;
  /** Load anew. Throws on failure: the last good value stays. `absent`: this source is off here. */
  load(previous: T | undefined): Promise<Loaded<T>>;
  /** How many entries (subnets, prefixes) a value holds, for aztraffic_topology_subnets. */
  size(value: T): number;
  /** What to say after a failure, knowing whether a last good value stays. */
  explain?(e: Error, kept: boolean): string;
  /**
   * It adds to what others give (the EC2 API: the rest of the VPC) rather than giving what counting
   * cannot do without: traffic is not held, nor the exporter unready, waiting for it.
   */
  readonly enriches?: boolean;
  /** Whether a failure means it is off here for good (no permission), not that it failed this time. */
  offAfter?(e: Error): boolean;
  /** When the data of a value was made by its publisher (unix seconds), where it says. */
  createdAt?(value: T): number | undefined;
  /** Whether it can load now (the EC2 API needs IMDS's answer first); undefined: always. */
  ready?(): boolean;
  /** Its part of the merged topology file; `has(name)`: whether another source has a value now. */
  part?(value: T, has: (source: string) => boolean): TopologyPart;
}

export class ImdsSource implements TopologySource<ImdsInfo> {
  readonly name = 'imds';
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    readonly refreshMs: number | undefined,
    private readonly timeoutMs?: number,
  ) {}

  async load(): Promise<Loaded<ImdsInfo>> {
    try {
      return { value: await callAws({ kind: 'imds', timeoutMs: this.timeoutMs }, this.env) };
    } catch (e) {
      if (e instanceof ImdsDisabledError) return { absent: `${e.message}: topology from files only` };
      throw e;
    }
  }

  size(v: ImdsInfo): number {
    return v.interfaces.reduce((n, i) => n + i.subnetCidrs.length, 0);
  }

  part(imds: ImdsInfo, has: (source: string) => boolean): TopologyPart {
    const zone = { zone: imds.zone, ...(imds.zoneId ? { zone_id: imds.zoneId } : {}) };
    const subnets: Subnet[] = [];
    for (const i of imds.interfaces) {
      for (const cidr of i.subnetCidrs) subnets.push({ cidr, ...zone, vpc: i.vpcId, id: i.subnetId });
      // without the EC2 API the rest of the VPC is known only as a range: zone unknown → unclassified
      if (!has('ec2')) for (const cidr of i.vpcCidrs) if (!i.subnetCidrs.includes(cidr)) subnets.push({ cidr, vpc: i.vpcId });
    }
    return {
      region: imds.region,
      subnets,
      public_ips: imds.interfaces.flatMap((i) => i.publicIps.map((ip): PublicIp => ({ ip, ...zone }))),
      local_ips: imds.interfaces.flatMap((i) => i.localIps),
      local_macs: imds.interfaces.map((i) => i.mac),
      host: {
        ...(imds.instanceId ? { instance_id: imds.instanceId } : {}),
        ...(imds.accountId ? { account_id: imds.accountId } : {}),
        interfaces: imds.interfaces.map((i) => i.interfaceId).filter((id) => id !== ''),
      },
    };
  }
}

/** The EC2 API about the VPC that IMDS names: it needs IMDS's answer first. */
export class Ec2Source implements TopologySource<Ec2Info> {
  readonly name = 'ec2';
  readonly enriches = true;

  offAfter(e: Error): boolean {
    return e instanceof Ec2UnauthorizedError;
  }

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly imds: () => ImdsInfo | undefined,
    readonly refreshMs: number | undefined,
  ) {}

  ready(): boolean {
    return this.imds() !== undefined;
  }

  async load(): Promise<Loaded<Ec2Info>> {
    const imds = this.imds();
    const vpcId = imds?.interfaces[0]?.vpcId;
    if (!imds || !vpcId) return { absent: 'no VPC known from IMDS' };
    return { value: await callAws({ kind: 'ec2', imds, vpcId }, this.env) };
  }

  size(v: Ec2Info): number {
    return v.subnets.length;
  }

  part(ec2: Ec2Info): TopologyPart {
    // zone names differ between accounts; people read this account's: name a peer's subnet by the
    // name this account gives its zone ID
    const ourName = new Map([...ec2.zoneIds].map(([name, id]) => [id, name]));
    const subnets = ec2.subnets.map((s): Subnet => {
      const name = s.zone_id ? ourName.get(s.zone_id) : undefined;
      return name && name !== s.zone ? { ...s, zone: name } : s;
    });
    // peers whose subnets cannot be described: known to be theirs, zone unknown → unclassified
    const described = new Set(subnets.map((s) => s.cidr));
    for (const p of ec2.peerCidrs) if (!described.has(p.cidr)) subnets.push({ ...p });
    return { subnets, public_ips: ec2.publicIps, ...ec2.path };
  }

  explain(e: Error, kept: boolean): string {
    if (e instanceof Ec2UnauthorizedError && !kept) return `${e.message}; classifying with what IMDS knows: this instance's subnets, the rest of the VPC unclassified`;
    return kept ? `${e.message}; keeping the last good EC2 topology` : e.message;
  }
}

/** ip-ranges.json downloaded (and cached); an unchanged syncToken is "nothing new". */
export class IpRangesSource implements TopologySource<IpRanges> {
  readonly name = 'ip_ranges';
  constructor(
    private readonly url: string,
    private readonly cache: string | undefined,
    readonly refreshMs: number | undefined,
    /** The package's own copy, the last resort: at a first boot there is neither network nor cache. */
    private readonly bundled?: string,
  ) {}

  async load(previous: IpRanges | undefined): Promise<Loaded<IpRanges>> {
    // a copy in force already (a download, the cache) is kept rather than replaced by an older one
    const r = await fetchIpRanges(this.url, this.cache, undefined, previous === undefined ? this.bundled : undefined);
    if (r.fromCache) return { value: r.ranges, warning: `ip-ranges.json download failed; using the cached copy ${this.cache}` };
    if (r.bundled) return { value: r.ranges, warning: `ip-ranges.json download failed and no cached copy; using the package's own copy ${describeCopy(r.ranges)} until a download succeeds` };
    if (previous && r.ranges.syncToken !== undefined && r.ranges.syncToken === previous.syncToken) return { unchanged: true };
    return { value: r.ranges };
  }

  size(v: IpRanges): number {
    return v.prefixes.length + v.ipv6_prefixes.length;
  }

  createdAt(v: IpRanges): number | undefined {
    return createdAt(v);
  }

  explain(e: Error, kept: boolean): string {
    return `${e.message}${kept ? '; keeping the last good ip-ranges' : ''}`;
  }
}

/** The topology file: read at start (it wins over every discovered CIDR and IP it names). */
export class FileSource implements TopologySource<TopologyFile> {
  readonly name = 'file';
  readonly refreshMs = undefined;
  constructor(private readonly file: TopologyFile) {}

  async load(): Promise<Loaded<TopologyFile>> {
    return { value: this.file };
  }

  size(v: TopologyFile): number {
    return v.subnets.length;
  }

  part(file: TopologyFile): TopologyPart {
    return file;
  }
}

/** The parts merged, later ones winning; the region from the last part that names one, else the SDK's variables. */
export function mergeParts(parts: readonly TopologyPart[], env: NodeJS.ProcessEnv): TopologyFile {
  const keyed = <T>(list: (p: TopologyPart) => T[] | undefined, key: (x: T) => string): T[] => [...new Map(parts.flatMap((p) => list(p) ?? []).map((x) => [key(x), x])).values()];
  const union = (list: (p: TopologyPart) => string[] | undefined): string[] => [...new Set(parts.flatMap((p) => list(p) ?? []))];
  const named = [...parts].reverse().find((p) => p.region !== undefined)?.region;
  return {
    region: named ?? resolveRegion({ env }).region,
    subnets: keyed((p) => p.subnets, (s) => s.cidr),
    public_ips: keyed((p) => p.public_ips, (x) => x.ip),
    local_ips: union((p) => p.local_ips),
    local_macs: union((p) => p.local_macs),
    // the path: what the file names (by id, or by address) replaces what discovery found
    route_tables: keyed((p) => p.route_tables, (t) => t.id),
    prefix_lists: keyed((p) => p.prefix_lists, (l) => l.id),
    nat_gateways: keyed((p) => p.nat_gateways, (n) => n.id),
    endpoints: keyed((p) => p.endpoints, (e) => e.id),
    load_balancers: keyed((p) => p.load_balancers, (l) => l.ip),
    interfaces: keyed((p) => p.interfaces, (i) => i.id),
    vpn_gateways: keyed((p) => p.vpn_gateways, (g) => g.id),
    // the host: what the file says of it over what IMDS said
    host: parts.reduce<TopologyFile['host']>((h, p) => (p.host ? { ...h, ...p.host, interfaces: p.host.interfaces.length > 0 ? p.host.interfaces : (h?.interfaces ?? []) } : h), undefined),
  };
}
