// Topology sources behind one interface: each loads its part anew when asked (IMDS, the EC2 API,
// ip-ranges.json; the topology file once), says how many entries it has, and throws when it fails. The
// manager keeps each source's last good value, merges them and swaps in snapshots.
import { callAws } from './aws-calls.js';
import { Ec2UnauthorizedError, ImdsDisabledError } from './aws-errors.js';
import type { Ec2Info } from './ec2.js';
import type { ImdsInfo } from './imds.js';
import { fetchIpRanges } from './ip-ranges.js';
import type { IpRanges, TopologyFile } from './model.js';

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
}

/** The EC2 API about the VPC that IMDS names: it needs IMDS's answer first. */
export class Ec2Source implements TopologySource<Ec2Info> {
  readonly name = 'ec2';
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly imds: () => ImdsInfo | undefined,
    readonly refreshMs: number | undefined,
  ) {}

  async load(): Promise<Loaded<Ec2Info>> {
    const imds = this.imds();
    const vpcId = imds?.interfaces[0]?.vpcId;
    if (!imds || !vpcId) return { absent: 'no VPC known from IMDS' };
    return { value: await callAws({ kind: 'ec2', imds, vpcId }, this.env) };
  }

  size(v: Ec2Info): number {
    return v.subnets.length;
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
  ) {}

  async load(previous: IpRanges | undefined): Promise<Loaded<IpRanges>> {
    const r = await fetchIpRanges(this.url, this.cache);
    if (r.fromCache) return { value: r.ranges, warning: `ip-ranges.json download failed; using the cached copy ${this.cache}` };
    if (previous && r.ranges.syncToken !== undefined && r.ranges.syncToken === previous.syncToken) return { unchanged: true };
    return { value: r.ranges };
  }

  size(v: IpRanges): number {
    return v.prefixes.length + v.ipv6_prefixes.length;
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
}
