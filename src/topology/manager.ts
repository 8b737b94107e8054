// Keeps the Topology current: the sources (IMDS, EC2 API, ip-ranges.json) and the optional topology file
// (which wins) merged into one snapshot, handed to every subscriber. A source that fails keeps its last
// good data; the failure shows in the TopologyStatus (and so in aztraffic_topology_refresh_errors_total)
// and the log, never as a lost topology. Topology code never calls into metrics.
import type { Logger } from '../config/log.js';
import type { Ec2Info } from './ec2.js';
import type { ImdsInfo } from './imds.js';
import type { IpRanges, TopologyFile } from './model.js';
import { resolveRegion } from './region.js';
import { Ec2Source, FileSource, ImdsSource, IpRangesSource, mergeParts, type TopologySource } from './sources.js';
import type { TopologyStatus } from './status.js';
import { Topology } from './topology.js';

export interface ManagerOptions {
  file?: TopologyFile;
  /** ip-ranges from --ip-ranges.file: used as is, never downloaded. */
  ipRangesFromFile?: IpRanges;
  ipRangesUrl?: string;
  ipRangesCache?: string;
  /** The package's own ip-ranges.json, used when neither a download nor the cache gives one. */
  ipRangesBundled?: string;
  discoverAws: boolean;
  refreshIntervalMs: number;
  ipRangesRefreshMs: number;
  imdsTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** A source that has never answered is asked again after 1 s, then 2, 4, … up to 30 s. */
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 30_000;

export class TopologyManager {
  /** The first discovery attempt is over (whatever its outcome). */
  loaded = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private readonly subscribers: ((t: Topology) => void)[] = [];
  private readonly values = new Map<string, unknown>();
  /** The last failure said of each source (said again only when it changes). */
  private readonly warned = new Map<string, string>();
  private stopped = false;
  /** The last failure of each source, for callers that must stop on it (discover). */
  readonly errors = new Map<string, Error>();
  /**
   * The sources that run here, in the order their parts merge (a later one wins): IMDS, the EC2 API,
   * ip-ranges.json (no part: the prefix tables), the topology file.
   */
  private readonly sources: TopologySource<unknown>[];
  /** Sources refreshed together, in order (the EC2 API after IMDS), and how often; 0: once. */
  private readonly groups: { sources: TopologySource<unknown>[]; everyMs: number }[];

  constructor(
    private readonly o: ManagerOptions,
    private readonly status: TopologyStatus,
    private readonly log: Logger,
  ) {
    this.env = o.env ?? process.env;
    const aws: TopologySource<unknown>[] = [];
    if (o.discoverAws) {
      const imds = new ImdsSource(this.env, o.refreshIntervalMs, o.imdsTimeoutMs);
      aws.push(imds, new Ec2Source(this.env, () => this.imds, o.refreshIntervalMs));
    }
    const ipRanges = !o.ipRangesFromFile && o.ipRangesUrl ? [new IpRangesSource(o.ipRangesUrl, o.ipRangesCache, o.ipRangesRefreshMs, o.ipRangesBundled)] : [];
    const file = o.file ? [new FileSource(o.file)] : [];
    this.sources = [...aws, ...ipRanges, ...file];
    this.groups = [
      { sources: file, everyMs: 0 },
      { sources: aws, everyMs: o.refreshIntervalMs },
      { sources: ipRanges, everyMs: o.ipRangesRefreshMs },
    ].filter((g) => g.sources.length > 0);
    // a source only where one runs: ip-ranges from --ip-ranges.file is the file's ("ip_ranges_file"), and
    // without discovery there is no IMDS or EC2 to wait for (the page would show them "never" in red)
    for (const source of aws.concat(ipRanges)) status.expect(source.name);
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
    await Promise.all(this.groups.map((g) => this.refreshGroup(g.sources, false)));
    this.swap();
    this.loaded = true;
    for (const g of this.groups) {
      if (g.everyMs <= 0) continue;
      this.every(g.everyMs, () => this.refreshGroup(g.sources, true));
      // a first boot starts before the network: what has never answered is asked again soon, not at
      // the refresh interval (5 min for IMDS and EC2, 24 h for ip-ranges)
      if (g.sources.some((s) => !this.status.succeeded(s.name))) this.retrySoon(g.sources, FIRST_RETRY_MS);
    }
  }

  /**
   * Sources that counting cannot do without (IMDS, ip-ranges.json) and that have never answered (no
   * value, not off here): until then traffic is held and the exporter is not ready. The EC2 API only
   * adds to IMDS's answer: its failures show in its own series.
   */
  neverAnswered(): string[] {
    return this.sources.filter((s) => !s.enriches && !this.status.answered(s.name)).map((s) => s.name);
  }

  /**
   * Until every source of the group has loaded once (a fallback such as the package's ip-ranges.json is
   * not that): again after `ms`, doubling to LAST_RETRY_MS.
   */
  private retrySoon(sources: TopologySource<unknown>[], ms: number): void {
    const t = setTimeout(() => {
      this.timers = this.timers.filter((x) => x !== t);
      void this.refreshGroup(sources, true, true).then(() => {
        if (this.stopped || sources.every((s) => this.status.succeeded(s.name))) return;
        this.retrySoon(sources, Math.min(ms * 2, LAST_RETRY_MS));
      });
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  /** Load each source of a group in turn; `swap`: rebuild the topology when one changed. */
  private async refreshGroup(sources: TopologySource<unknown>[], swap: boolean, retry = false): Promise<void> {
    let changed = false;
    for (const source of sources) if (await this.refresh(source, retry)) changed = true;
    if (swap && changed) this.swap();
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
  private async refresh<T>(source: TopologySource<T>, retry = false): Promise<boolean> {
    // without IMDS's answer now or before, there is no VPC to ask the EC2 API about
    if (source.ready && !source.ready()) return false;
    const previous = this.values.get(source.name) as T | undefined;
    try {
      const r = await source.load(previous);
      if ('absent' in r) {
        this.status.absent(source.name);
        this.log.info(r.absent, { source: source.name });
        return false;
      }
      this.warned.delete(source.name);
      if ('unchanged' in r) {
        this.status.success(source.name, source.size(previous!));
        return false;
      }
      if (r.warning) this.failure(source.name, r.warning, this.counts(source.name, retry));
      else this.status.success(source.name, source.size(r.value));
      this.values.set(source.name, r.value);
      this.status.provided(source.name, source.createdAt?.(r.value));
      this.errors.delete(source.name);
      return true;
    } catch (e) {
      const err = e as Error;
      this.errors.set(source.name, err);
      if (source.offAfter?.(err)) this.status.absent(source.name);
      this.failure(source.name, source.explain ? source.explain(err, previous !== undefined) : err.message, this.counts(source.name, retry));
      return false;
    }
  }

  /** Whether a failure counts as a failed refresh: not a retry of a source that has never loaded (that state has its own series). */
  private counts(source: string, retry: boolean): boolean {
    return !retry || this.status.succeeded(source);
  }

  /** Load the named sources now, in the list's order (IMDS before the EC2 API); `swap`: rebuild the topology if one changed. */
  async refreshNow(names: readonly string[], swap = true): Promise<void> {
    await this.refreshGroup(
      this.sources.filter((s) => names.includes(s.name)),
      swap,
    );
  }

  private failure(source: string, message: string, count = true): void {
    this.status.failure(source, message, undefined, count);
    // the same failure again (a source retried every few seconds until it answers) is said once
    if (this.warned.get(source) === message) {
      this.log.debug(message, { source });
      return;
    }
    this.warned.set(source, message);
    this.log.warn(message, { source });
  }

  /** The merged topology file of what is known now: each source's part, in the list's order. */
  current(): TopologyFile {
    const has = (name: string): boolean => this.values.has(name);
    const parts = this.sources.flatMap((s) => (s.part && this.values.has(s.name) ? [s.part(this.values.get(s.name), has)] : []));
    return mergeParts(parts, this.env);
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
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
