// prom-client registry of DESIGN.md's metrics. The pipeline counts into typed arrays; flush() moves
// the deltas into prom-client counters (on scrape, or on a timer), never one inc() per packet.
import client from 'prom-client';
import { CATEGORY_COUNT, CATEGORY_NAMES, DIRECTION_NAMES } from '../classify/categories.js';
import { BYTES_PER_GB, type Prices } from '../classify/prices.js';
import { DECODE_ERROR_REASONS } from '../decode/packet.js';
import type { Pipeline } from '../pipeline.js';
import type { Topology } from '../topology/topology.js';
import { ipv4ToString, ipv6WordsToString } from '../topology/ip.js';
import { HeavyHitters, type Folded } from './heavy-hitters.js';
import { ZonePairs } from './zone-pairs.js';
import { seriesKey, TopKRemotes, type RemoteLabels } from './top-k.js';
import { VERSION } from '../version.js';


export interface MetricsOptions {
  topK: number;
  prices: Prices;
  /** Include prom-client's process and Node.js metrics (serve does; analyze does not). */
  processMetrics?: boolean;
}

type AzLabels = { direction: string; category: string; local_az: string; remote_az: string };

export class ExporterMetrics {
  readonly registry = new client.Registry();
  /** prom-client's process and Node.js metrics, kept apart so that the exposition can be cleaned. */
  private processRegistry: client.Registry | undefined;
  private readonly bytes: client.Counter<keyof AzLabels>;
  private readonly packets: client.Counter<keyof AzLabels>;
  private readonly remoteBytes: client.Counter<keyof RemoteLabels>;
  private readonly decodeErrors: client.Counter<'reason'>;
  private readonly capturePackets: client.Counter<'interface'>;
  readonly captureDropped: client.Counter<'interface' | 'where'>;
  private readonly transitPackets: client.Counter;
  private readonly nonIpPackets: client.Counter;
  private readonly duplicatePackets: client.Counter;
  readonly captureUp: client.Gauge<'interface'>;
  readonly captureErrors: client.Counter<'interface'>;
  readonly topologySubnets: client.Gauge<'source'>;
  readonly topologyLastSuccess: client.Gauge<'source'>;
  readonly topologyRefreshErrors: client.Counter<'source'>;
  private readonly zoneInfo: client.Gauge<'zone' | 'zone_id'>;
  private readonly topK: TopKRemotes;
  /** analyze: remotes ranked over the whole capture (see accumulateRemotes). */
  private heavy: HeavyHitters | undefined;
  private readonly k: number;
  /** Dollars for bytes of a remote series: what top-K ranks by first (unpriced counts as 0). */
  readonly remoteCost: (labels: RemoteLabels, bytes: number) => number;

  // what was already moved into prom-client, per pipeline array slot
  private flushedCapture = new Float64Array(0);
  private readonly flushedDrops = new Map<string, number>();
  private readonly flushedErrors = new Float64Array(DECODE_ERROR_REASONS.length + 3);
  private flushedTransit = 0;
  private flushedNonIp = 0;
  private flushedDuplicates = 0;
  private azLabels: AzLabels[] = [];

  constructor(
    private readonly pipeline: Pipeline,
    opts: MetricsOptions,
  ) {
    const registers = [this.registry];
    this.k = opts.topK;
    this.remoteCost = (labels, bytes) => {
      const perGb = opts.prices.perGb[labels.category as keyof Prices['perGb']]?.[labels.direction as 'egress' | 'ingress'];
      return perGb === undefined ? 0 : (bytes / BYTES_PER_GB) * perGb;
    };
    this.topK = new TopKRemotes(opts.topK, this.remoteCost);
    this.bytes = new client.Counter({
      name: 'aztraffic_bytes_total',
      help: 'IP-layer bytes (IP length fields, as AWS bills) by direction, billing category and zones.',
      labelNames: ['direction', 'category', 'local_az', 'remote_az'],
      registers,
    });
    this.packets = new client.Counter({
      name: 'aztraffic_packets_total',
      help: 'IP packets by direction, billing category and zones.',
      labelNames: ['direction', 'category', 'local_az', 'remote_az'],
      registers,
    });
    this.remoteBytes = new client.Counter({
      name: 'aztraffic_remote_bytes_total',
      help: `IP-layer bytes by remote (DNS name seen on the wire, else IP) and service port; top ${opts.topK} remotes, the rest as remote="other".`,
      labelNames: ['direction', 'category', 'remote_az', 'remote', 'port'],
      registers,
    });
    const price = new client.Gauge({
      name: 'aztraffic_price_dollars_per_byte',
      help: 'Price in USD per byte (price per GB / 2^30) by direction and billing category; unpriced categories have no series.',
      labelNames: ['direction', 'category'],
      registers,
    });
    for (const category of CATEGORY_NAMES) {
      for (const direction of DIRECTION_NAMES) {
        const perGb = opts.prices.perGb[category]?.[direction];
        if (perGb !== undefined) price.set({ direction, category }, perGb / BYTES_PER_GB);
      }
    }
    this.decodeErrors = new client.Counter({
      name: 'aztraffic_decode_errors_total',
      help: 'Frames that could not be decoded, by reason; they are not counted as traffic.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of [...DECODE_ERROR_REASONS.filter((r) => r !== ''), 'malformed_dns', 'truncated_dns', 'unsolicited_dns']) {
      this.decodeErrors.inc({ reason }, 0);
    }
    this.capturePackets = new client.Counter({
      name: 'aztraffic_capture_packets_total',
      help: 'Frames captured, by interface, before decoding.',
      labelNames: ['interface'],
      registers,
    });
    this.captureDropped = new client.Counter({
      name: 'aztraffic_capture_dropped_packets_total',
      help: 'Frames the capture reports lost, by interface and where they were dropped (kernel, interface).',
      labelNames: ['interface', 'where'],
      registers,
    });
    this.transitPackets = new client.Counter({
      name: 'aztraffic_transit_packets_total',
      help: 'IP packets where neither address is local to this host; not billed to it.',
      registers,
    });
    this.nonIpPackets = new client.Counter({
      name: 'aztraffic_non_ip_packets_total',
      help: 'Frames that carry no IP packet (ARP, LLDP, ...); not traffic AWS bills.',
      registers,
    });
    this.duplicatePackets = new client.Counter({
      name: 'aztraffic_duplicate_packets_total',
      help: 'Second captures of one packet on the "any" interface (a bridge and its port); counted once.',
      registers,
    });
    this.captureUp = new client.Gauge({
      name: 'aztraffic_capture_up',
      help: 'Whether capture on the interface is running (1) or failed and being retried (0).',
      labelNames: ['interface'],
      registers,
    });
    this.captureErrors = new client.Counter({
      name: 'aztraffic_capture_errors_total',
      help: 'Capture failures (interface gone, permission denied, ...); each is retried with backoff.',
      labelNames: ['interface'],
      registers,
    });
    this.topologySubnets = new client.Gauge({
      name: 'aztraffic_topology_subnets',
      help: 'Subnets known to the topology, by source.',
      labelNames: ['source'],
      registers,
    });
    this.topologyLastSuccess = new client.Gauge({
      name: 'aztraffic_topology_last_success_timestamp_seconds',
      help: 'Unix time of the last successful topology load, by source.',
      labelNames: ['source'],
      registers,
    });
    this.topologyRefreshErrors = new client.Counter({
      name: 'aztraffic_topology_refresh_errors_total',
      help: 'Failed topology refreshes, by source; the last good topology stays in use.',
      labelNames: ['source'],
      registers,
    });
    this.zoneInfo = new client.Gauge({
      name: 'aztraffic_zone_info',
      help: 'Maps zone names (local_az, remote_az) to zone IDs; always 1.',
      labelNames: ['zone', 'zone_id'],
      registers,
    });
    new client.Gauge({
      name: 'aztraffic_build_info',
      help: 'Version of the exporter and of Node.js; always 1.',
      labelNames: ['version', 'node_version'],
      registers,
    }).set({ version: VERSION, node_version: process.version }, 1);
    if (opts.processMetrics) {
      this.processRegistry = new client.Registry();
      client.collectDefaultMetrics({ register: this.processRegistry });
    }

    this.describeTopology();
  }

  /**
   * analyze: rank remotes over the whole capture instead of per flush. A full remote table is drained
   * into a bounded heavy-hitter summary; the top K are chosen once, when the counts are rendered.
   */
  accumulateRemotes(capacity = Math.max(16 * this.k, 16_384)): void {
    this.heavy = new HeavyHitters(capacity, this.remoteCost);
    this.pipeline.drainRemotesWhenFull(() => this.flushRemotes());
  }

  /** Remote entries and bytes that went to remote="other" so far. */
  get foldedRemotes(): Folded {
    return this.heavy ? this.heavy.folded : this.topK.folded;
  }

  /** Replace the topology without losing what was counted under the old one. */
  swapTopology(t: Topology): void {
    this.flush();
    this.pipeline.setTopology(t);
    this.describeTopology();
  }

  private describeTopology(): void {
    this.zoneInfo.reset();
    for (const [zone, zoneId] of this.pipeline.topology.zoneIds) this.zoneInfo.set({ zone, zone_id: zoneId }, 1);
    this.azLabels = [];
  }

  private labelsAt(idx: number): AzLabels {
    let l = this.azLabels[idx];
    if (l === undefined) {
      const zones = this.pipeline.topology.zones;
      const pairs = this.pipeline.pairs;
      const { pair, dir, cat } = ZonePairs.decode(idx);
      l = {
        direction: DIRECTION_NAMES[dir],
        category: CATEGORY_NAMES[cat],
        local_az: zones[pairs.localZone[pair]],
        remote_az: zones[pairs.remoteZone[pair]],
      };
      this.azLabels[idx] = l;
    }
    return l;
  }

  /** Move everything counted since the last flush into the prom-client counters. */
  flush(): void {
    const p = this.pipeline;
    for (let i = 0; i < p.bytes.length; i++) {
      if (p.packets[i] === 0) continue;
      const labels = this.labelsAt(i);
      this.bytes.inc(labels, p.bytes[i]);
      this.packets.inc(labels, p.packets[i]);
    }
    p.bytes.fill(0);
    p.packets.fill(0);
    this.flushRemotes();

    if (this.flushedCapture.length < p.capturePackets.length) {
      const grown = new Float64Array(p.capturePackets.length);
      grown.set(this.flushedCapture);
      this.flushedCapture = grown;
    }
    p.interfaces.forEach((name, i) => {
      this.capturePackets.inc({ interface: name }, p.capturePackets[i] - this.flushedCapture[i]);
      this.flushedCapture[i] = p.capturePackets[i];
      this.flushDrops(name, 'kernel', p.dropsKernel[i]);
      this.flushDrops(name, 'interface', p.dropsInterface[i]);
    });
    DECODE_ERROR_REASONS.forEach((reason, i) => {
      if (reason === '') return;
      this.decodeErrors.inc({ reason }, p.decodeErrors[i] - this.flushedErrors[i]);
      this.flushedErrors[i] = p.decodeErrors[i];
    });
    const dnsIdx = DECODE_ERROR_REASONS.length;
    this.decodeErrors.inc({ reason: 'malformed_dns' }, p.dnsErrors - this.flushedErrors[dnsIdx]);
    this.flushedErrors[dnsIdx] = p.dnsErrors;
    this.decodeErrors.inc({ reason: 'truncated_dns' }, p.dnsCut - this.flushedErrors[dnsIdx + 1]);
    this.flushedErrors[dnsIdx + 1] = p.dnsCut;
    this.decodeErrors.inc({ reason: 'unsolicited_dns' }, p.dnsUnsolicited - this.flushedErrors[dnsIdx + 2]);
    this.flushedErrors[dnsIdx + 2] = p.dnsUnsolicited;
    this.transitPackets.inc(p.transitPackets - this.flushedTransit);
    this.flushedTransit = p.transitPackets;
    this.nonIpPackets.inc(p.nonIpPackets - this.flushedNonIp);
    this.flushedNonIp = p.nonIpPackets;
    this.duplicatePackets.inc(p.duplicatePackets - this.flushedDuplicates);
    this.flushedDuplicates = p.duplicatePackets;
  }

  /** Sources report drop totals; the counter follows them and never goes back. */
  private flushDrops(iface: string, where: string, total: number): void {
    if (total < 0) return;
    const key = `${iface}\u0000${where}`;
    const before = this.flushedDrops.get(key) ?? 0;
    if (total >= before) {
      this.captureDropped.inc({ interface: iface, where }, total - before);
      this.flushedDrops.set(key, total);
    }
  }

  private flushRemotes(): void {
    const p = this.pipeline;
    const zones = p.topology.zones;
    const now = p.now;
    const deltas = new Map<string, { labels: RemoteLabels; bytes: number }>();
    p.remotes.forEach((family, addr4, addr6, port, dir, cat, zone, bytes) => {
      const ip = family === 4 ? ipv4ToString(addr4) : ipv6WordsToString(addr6!);
      const labels: RemoteLabels = {
        direction: DIRECTION_NAMES[dir],
        category: CATEGORY_NAMES[cat],
        remote_az: zones[zone],
        remote: p.names.get(ip, now) ?? ip,
        port: port < 0 ? '' : String(port),
      };
      const key = seriesKey(labels);
      const d = deltas.get(key);
      if (d) d.bytes += bytes;
      else deltas.set(key, { labels, bytes });
    });
    const spilled: { labels: RemoteLabels; bytes: number }[] = [];
    const o = p.remotes.overflow;
    for (let i = 0; i < o.length; i++) {
      if (o[i] === 0) continue;
      const z = zones.length;
      const dc = Math.floor(i / z);
      spilled.push({
        labels: {
          direction: DIRECTION_NAMES[Math.floor(dc / CATEGORY_COUNT)],
          category: CATEGORY_NAMES[dc % CATEGORY_COUNT],
          remote_az: zones[i % z],
          remote: 'other',
          port: '',
        },
        bytes: o[i],
      });
    }
    p.remotes.clear();
    if (this.heavy) {
      for (const d of deltas.values()) this.heavy.add(d.labels, d.bytes);
      for (const sp of spilled) this.heavy.add(sp.labels, sp.bytes);
      return;
    }
    this.topK.flush(deltas, spilled, {
      inc: (labels, v) => this.remoteBytes.inc(labels, v),
      remove: (labels) => this.remoteBytes.remove(labels),
    });
  }

  /** Flush, then render the exposition text. */
  async render(): Promise<string> {
    this.flush();
    if (this.heavy) {
      const { top, other } = this.heavy.take(this.k);
      for (const t of [...top, ...other]) this.remoteBytes.inc(t.labels, t.bytes);
    }
    const ours = await this.registry.metrics();
    if (!this.processRegistry) return ours;
    return ours + withoutGaugesNamedTotal(await this.processRegistry.metrics());
  }
}

/**
 * prom-client exports gauges named nodejs_active_{handles,requests,resources}_total, which
 * `promtool check metrics` rejects; the same values are there without the suffix, so drop these.
 */
function withoutGaugesNamedTotal(text: string): string {
  const bad = /^(?:# (?:HELP|TYPE) )?nodejs_active_(?:handles|requests|resources)_total[ {]/;
  return text
    .split('\n')
    .filter((line) => !bad.test(line))
    .join('\n');
}
