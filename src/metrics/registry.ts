// The prom-client registry of the exporter's metric families (src/metrics/families/, one module each).
// The pipeline and its engine count into typed arrays; flush() hands their drained totals to the
// families (on scrape, or on a timer), never one inc() per packet.
import client from 'prom-client';
import { usagePriceOf, type Prices } from '../classify/prices.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { TopologyStatus } from '../topology/status.js';
import type { Topology } from '../topology/topology.js';
import { BuildFamily } from './families/build.js';
import { CaptureFamily } from './families/capture.js';
import { DecodeFamily } from './families/decode.js';
import { FlowLogsFamily } from './families/flow-logs.js';
import type { MetricFamily } from './families/family.js';
import { PriceFamily } from './families/prices.js';
import { RemotesFamily } from './families/remotes.js';
import { SavingsFamily } from './families/savings.js';
import { TopologyFamily } from './families/topology.js';
import { TrafficFamily } from './families/traffic.js';
import { UsageFamily } from './families/usage.js';
import { WorkloadsFamily } from './families/workloads.js';
import type { Folded } from './heavy-hitters.js';
import type { Workloads } from '../attribution/workloads.js';

export interface MetricsOptions {
  topK: number;
  prices: Prices;
  /** Include prom-client's process and Node.js metrics (serve does; analyze does not). */
  processMetrics?: boolean;
  /** Where topology sources report; the topology family reads it. */
  status?: TopologyStatus;
}

export class ExporterMetrics {
  readonly registry = new client.Registry();
  /** prom-client's process and Node.js metrics, kept apart so that the exposition can be cleaned. */
  private processRegistry: client.Registry | undefined;
  readonly status: TopologyStatus;
  /** Every family, in the order of the exposition; each moment (flush, a topology, prices, a render) goes to all. */
  private readonly families: MetricFamily[];
  private readonly remotes: RemotesFamily;
  /** The cheaper paths of what was counted (savings.ts). */
  readonly savings: SavingsFamily;
  private readonly capture: CaptureFamily;
  private readonly build: BuildFamily;
  private flowLogFamily: FlowLogsFamily | undefined;
  private readonly k: number;
  private pricesNow: Prices;
  private workloadFamily: WorkloadsFamily | undefined;

  constructor(
    private readonly pipeline: Pipeline,
    opts: MetricsOptions,
  ) {
    const registers = [this.registry];
    this.k = opts.topK;
    this.pricesNow = opts.prices;
    this.status = opts.status ?? new TopologyStatus();
    this.savings = new SavingsFamily(
      registers,
      {
        prices: () => this.pricesNow,
        region: () => this.pipeline.topology.region,
        localZones: () => [...this.pipeline.engine.localZones()].map((z) => this.pipeline.topology.zones[z]),
      },
      opts.topK,
    );
    this.remotes = new RemotesFamily(registers, opts.topK, this.savings.ledger);
    this.capture = new CaptureFamily(registers);
    this.families = [
      new TrafficFamily(registers),
      new UsageFamily(registers, opts.prices, this.savings.ledger),
      this.remotes,
      this.savings,
      new PriceFamily(registers),
      new DecodeFamily(registers),
      this.capture,
      new TopologyFamily(registers, this.status),
    ];
    // last in the exposition, as ever
    this.build = new BuildFamily(registers);
    if (opts.processMetrics) {
      this.processRegistry = new client.Registry();
      client.collectDefaultMetrics({ register: this.processRegistry });
    }
    this.setPrices(this.pricesNow);
    this.describe(pipeline.topology);
    // a topology swap replaces the engine's counters: take what they hold first
    pipeline.engine.onBeforeSwap(() => this.flush(true));
  }

  /** The topology snapshot the pipeline counts with. */
  get topologyInForce(): Topology {
    return this.pipeline.topology;
  }

  /** The prices in force (they follow the topology's region: setPrices). */
  get prices(): Prices {
    return this.pricesNow;
  }

  /** Prices from now on: the families' price series, and what the engine counts each byte's dollars at. */
  setPrices(prices: Prices): void {
    this.pricesNow = prices;
    for (const f of this.families) f.setPrices?.(prices);
    this.pipeline.engine.setUsagePrices((usageType) => usagePriceOf(prices, usageType));
  }

  get captureUp(): client.Gauge<'interface'> {
    return this.capture.up;
  }

  get captureFiltered(): client.Gauge<'interface'> {
    return this.capture.filtered;
  }

  get captureErrors(): client.Counter<'interface'> {
    return this.capture.errors;
  }

  /**
   * analyze: rank remotes over the whole capture instead of per flush. A full remote table is drained
   * into a bounded heavy-hitter summary; the top K are chosen once, when the counts are rendered.
   */
  accumulateRemotes(capacity = Math.max(16 * this.k, 16_384)): void {
    this.remotes.accumulate(capacity);
    this.accumulating = capacity;
    this.workloadFamily?.accumulate(capacity);
    this.pipeline.engine.drainRemotesWhenFull(() => this.takeRemotes());
  }

  /**
   * Export aztraffic_workload_bytes_total from the engine's workload counters (attribution on), the
   * top `k` by cost. Returns what the lookups of socket owners report to.
   */
  attributeWorkloads(workloads: Workloads, k: number, held?: () => ReadonlySet<number>): WorkloadsFamily {
    this.workloadFamily = new WorkloadsFamily([this.registry], k, workloads, held);
    if (this.accumulating) this.workloadFamily.accumulate(this.accumulating);
    this.families.push(this.workloadFamily);
    return this.workloadFamily;
  }

  private accumulating = 0;

  /**
   * The flow-log families (records and objects read; with `serving`, the lag and poll errors of a running
   * exporter); aztraffic_build_info then says source="flow_logs" unless `alsoCaptures`.
   */
  flowLogs(serving: boolean, alsoCaptures = false): FlowLogsFamily {
    if (!this.flowLogFamily) {
      this.flowLogFamily = new FlowLogsFamily([this.registry], serving);
      if (!alsoCaptures) this.build.source('flow_logs');
    }
    return this.flowLogFamily;
  }

  /** Whether bytes are attributed to workloads (aztraffic_workload_bytes_total is exported). */
  get attributing(): boolean {
    return this.workloadFamily !== undefined;
  }

  /** Remote entries and bytes that went to remote="other" so far. */
  get foldedRemotes(): Folded {
    return this.remotes.folded;
  }

  /** A new topology is in force (after the pipeline took it): its zones label the next counts. */
  describe(t: Topology): void {
    for (const f of this.families) f.describe?.(t);
  }

  /** The remote table's bytes under their names as known now (the table was full, or a name changes). */
  takeRemotes(): void {
    this.remotes.take(this.pipeline);
  }

  private flushesPaused = false;

  /**
   * While paused, a flush (a scrape's, a timer's) leaves what the engine counted where it is: a running
   * exporter of flow logs shows whole objects only, the counts it keeps in its state file.
   */
  pauseFlushes(paused: boolean): void {
    this.flushesPaused = paused;
  }

  /** Move everything counted since the last flush into the prom-client counters (`force`: even while paused; a topology swap must). */
  flush(force = false): void {
    if (this.flushesPaused && !force) return;
    for (const f of this.families) f.take?.(this.pipeline);
  }

  /** Flush, then render the exposition text. */
  async render(): Promise<string> {
    this.flush();
    for (const f of this.families) f.settle?.();
    const ours = await this.registry.metrics();
    if (!this.processRegistry) return ours;
    return ours + (await this.processMetrics());
  }

  private processText = '';
  private processTextAt = -Infinity;

  /**
   * prom-client's process and Node.js metrics, rendered at most once a second: they read /proc and
   * compute event-loop-lag percentiles (about 0.5 ms a time), which is what many concurrent scrapers
   * would otherwise queue behind; a second's staleness of CPU or heap figures tells nobody anything.
   */
  private async processMetrics(): Promise<string> {
    const now = performance.now();
    if (now - this.processTextAt >= 1000) {
      this.processText = withoutGaugesNamedTotal(await this.processRegistry!.metrics());
      this.processTextAt = now;
    }
    return this.processText;
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
