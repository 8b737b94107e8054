// What the page at / and /api/v1/summary show: dollars per hour now (the last minute), the month at that
// rate, the bill lines, categories and remotes that make it, an hour's chart, and the health of capture
// and topology. Rates come from snapshots of the registry's counters, taken every step and kept for an
// hour (bounded); the same Summary is made from an analyze Report for `analyze --format html`.
import { BYTES_PER_GB, HOURS_PER_MONTH } from '../classify/prices.js';
import type { ExporterMetrics } from '../metrics/registry.js';
import { buildReport, problemText, sumByLabel, type CaptureSummary, type Report } from '../metrics/report.js';
import type { SavingRow } from '../metrics/savings.js';
import type { Topology } from '../topology/topology.js';
import { VERSION } from '../config/version.js';

export interface Summary {
  version: string;
  /** 'live': rates over the last minute; 'capture': over a capture file (analyze) */
  mode: 'live' | 'capture';
  title: string;
  generated_at: string;
  region: string;
  /** seconds the rates below are measured over; null where a capture has no timestamps */
  window_seconds: number | null;
  /** the bill lines' dollars per hour (data transfer and processing); the categories' where no line was counted */
  dollars_per_hour: number | null;
  /** data transfer alone, priced by category */
  category_dollars_per_hour: number | null;
  projected_dollars_per_month: number | null;
  /** dollars of the whole capture (capture mode) or since start (live) */
  total_dollars: number;
  bill_lines: { usage_type: string; paths: string[]; dollars_per_hour: number | null; bytes_per_second: number | null; gb: number; price_per_gb: number | null }[];
  categories: { category: string; direction: string; dollars_per_hour: number | null; bytes_per_second: number | null; gb: number }[];
  /** dollars: the sum of the bill lines of each remote's bytes; `path` says what they include */
  remotes: { remote: string; port: string; category: string; path: string; remote_az: string; dollars_per_hour: number | null; bytes_per_second: number | null; gb: number }[];
  /** per workload (pods, processes): empty until attribution exists */
  workloads: { workload: string; namespace: string; kind: string; dollars_per_hour: number | null; bytes_per_second: number | null; gb: number }[];
  /** cheaper paths for what was counted (live: over the last hour), largest monthly saving first */
  savings: SavingRow[];
  chart: { title: string; unit: 'dollars_per_hour' | 'bytes_per_second'; step_seconds: number; series: string[]; points: { t: number; values: number[] }[] };
  health: {
    /** coverage: captured ÷ the kernel's count of the interface; null where it says nothing (a filter chooses what is captured, a file, a replay) */
    capture: { interface: string; state: 'up' | 'down' | 'replay' | 'file'; captured_packets: number; kernel_packets: number | null; coverage: number | null; filtered: boolean; dropped_packets: number }[];
    topology: { source: string; entries: number | null; last_success: string | null; errors: number; last_error: string | null }[];
    zones: { zone: string; zone_id: string }[];
    remotes_folded: { remotes: number; bytes: number };
    decode_errors: Record<string, number>;
    problems: string[];
    /** Flow logs read (analyze of flow logs, or serve --flow-logs.url): objects and records; a running exporter says how late the newest record is. */
    flow_logs?: { objects: number; records: number; url?: string; newest_record?: string | null; lag_seconds?: number | null };
  };
}

const TOP_REMOTES = 10;

/** Cumulative counts at one instant. */
interface Snapshot {
  t: number; // ms
  catCost: Map<string, number>;
  billCost: number;
  catCostTotal: number;
  /** only the recent snapshots keep the detail that "now" needs: memory stays bounded */
  detail?: {
    report: Report;
    /** the kernel's packet counters per interface (the report has the captured and dropped ones) */
    kernel: Record<string, number>;
  };
}

const key = (...parts: (string | number)[]): string => parts.join('|');


async function snapshot(m: ExporterMetrics): Promise<Snapshot> {
  const report = await buildReport(m);
  const catCost = new Map<string, number>();
  let catCostTotal = 0;
  for (const c of report.categories) {
    if (c.cost_dollars === null) continue;
    catCost.set(c.category, (catCost.get(c.category) ?? 0) + c.cost_dollars);
    catCostTotal += c.cost_dollars;
  }
  return {
    t: Date.now(),
    catCost,
    catCostTotal,
    billCost: report.bill.length > 0 ? report.bill_cost_dollars : report.priced_cost_dollars,
    detail: { report, kernel: await sumByLabel(m, 'aztraffic_interface_packets_total', 'interface') },
  };
}

/** The chart's extra series: what the bill lines cost beyond the categories (NAT, endpoint, TGW processing). */
const PROCESSING = 'processing and path';

export interface LiveOptions {
  title: string;
  /** 'replay' for the demo: no kernel counters to compare with */
  captureKind: 'live' | 'replay';
  topology: () => Topology;
  stepMs?: number;
  windowMs?: number;
  /** What "now" is measured over (default a minute; flow logs, which arrive every 5–10 minutes, longer). */
  nowMs?: number;
  /** A running exporter of flow logs: what it read, and the end of its newest record (seconds). */
  flowLogs?: () => { objects: number; records: number; newest_record_end: number; url: string };
}

/** Snapshots every step for an hour; summaries of the last minute on demand. */
export class CostHistory {
  private readonly snaps: Snapshot[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly stepMs: number;
  private readonly nowMs: number;
  private readonly max: number;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly m: ExporterMetrics,
    private readonly o: LiveOptions,
  ) {
    this.stepMs = o.stepMs ?? 10_000;
    this.nowMs = o.nowMs ?? 60_000;
    this.max = Math.ceil((o.windowMs ?? 3_600_000) / this.stepMs) + 1;
  }

  /** The first snapshot now, then one every step. */
  async start(): Promise<void> {
    await this.sample();
    // a failed snapshot (it reads the registry) is skipped: the next step tries again
    this.timer = setInterval(() => this.sample().catch(() => undefined), this.stepMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async sample(): Promise<void> {
    // one at a time: a slow scrape must not stack samples
    if (this.pending) return this.pending;
    this.pending = (async () => {
      const s = await snapshot(this.m);
      this.snaps.push(s);
      if (this.snaps.length > this.max) this.snaps.shift();
      // the detail is needed only within the last minute (and a step): drop it from older snapshots
      for (const old of this.snaps) if (old.detail && s.t - old.t > this.nowMs + 2 * this.stepMs) old.detail = undefined;
    })().finally(() => (this.pending = undefined));
    return this.pending;
  }

  async summary(): Promise<Summary> {
    const now = await snapshot(this.m);
    if (this.snaps.length === 0) this.snaps.push(now);
    // the newest snapshot at least a minute (nowMs) old, else the oldest: "now" is the last minute
    let base = this.snaps[0];
    for (const s of this.snaps) if (now.t - s.t >= this.nowMs && s.detail) base = s;
    if (!base.detail) base = this.snaps.find((s) => s.detail) ?? now;
    const dt = (now.t - base.t) / 1000;
    const t = this.o.topology();
    return liveSummary(now, base, dt, this.chart(now), this.o, t);
  }

  /** $/hour per step from the stored snapshots (whole steps only: "now" is the headline's). */
  private chart(now: Snapshot): Summary['chart'] {
    const snaps = this.snaps.length > 1 ? this.snaps : [...this.snaps, now];
    const cats = new Set<string>();
    for (const s of snaps) for (const [c, v] of s.catCost) if (v > 0) cats.add(c);
    const series = [...cats].sort();
    series.push(PROCESSING);
    const points: Summary['chart']['points'] = [];
    for (let i = 1; i < snaps.length; i++) {
      const a = snaps[i - 1];
      const b = snaps[i];
      const h = (b.t - a.t) / 3_600_000;
      if (h <= 0) continue;
      const per = (x: number, y: number): number => Math.max(0, y - x) / h;
      const values = series.slice(0, -1).map((c) => per(a.catCost.get(c) ?? 0, b.catCost.get(c) ?? 0));
      values.push(Math.max(0, per(a.billCost, b.billCost) - per(a.catCostTotal, b.catCostTotal)));
      points.push({ t: b.t / 1000, values });
    }
    return { title: 'Dollars per hour over the last hour, by category', unit: 'dollars_per_hour', step_seconds: this.stepMs / 1000, series, points };
  }
}

/**
 * Bill lines, categories and top remotes as rates over `seconds`: of what `r` counted beyond `before`
 * (live: the snapshot a minute ago), or of all of it (a capture file: no `before`). Sorted by cost,
 * then bytes. Rates are null where there is no span to divide by.
 */
function rows(r: Report, before: Report | undefined, seconds: number | null): Pick<Summary, 'bill_lines' | 'categories' | 'remotes' | 'workloads'> {
  const span = seconds !== null && seconds > 0 ? seconds : null;
  const rate = (x: number | null, was: number | null | undefined): number | null => (span === null || x === null ? null : (Math.max(0, x - (was ?? 0)) / span) * 3600);
  const perSecond = (x: number, was: number | undefined): number | null => (span === null ? null : Math.max(0, x - (was ?? 0)) / span);

  const billBefore = new Map(before?.bill.map((x) => [x.usage_type, x]));
  const bill_lines = r.bill.map((x) => {
    const was = billBefore.get(x.usage_type);
    return {
      usage_type: x.usage_type,
      paths: Object.keys(x.paths).sort(),
      dollars_per_hour: rate(x.cost_dollars, was?.cost_dollars),
      bytes_per_second: perSecond(x.bytes, was?.bytes),
      gb: x.gb,
      price_per_gb: x.price_per_gb,
    };
  });
  const catBefore = new Map(before?.categories.map((x) => [key(x.category, x.direction), x]));
  const categories = r.categories.map((x) => {
    const was = catBefore.get(key(x.category, x.direction));
    return { category: x.category, direction: x.direction, dollars_per_hour: rate(x.cost_dollars, was?.cost_dollars), bytes_per_second: perSecond(x.bytes, was?.bytes), gb: x.gb };
  });
  const remBefore = new Map(before?.remotes.map((x) => [key(x.remote, x.port, x.category, x.remote_az, x.path), x]));
  // remotes and workloads: both directions' bytes and their cost, as rates
  type Counted = { egress_bytes: number; ingress_bytes: number; cost_dollars: number | null };
  const rates = (x: Counted, was: Counted | undefined): { dollars_per_hour: number | null; bytes_per_second: number | null; gb: number } => {
    const bytes = x.egress_bytes + x.ingress_bytes;
    return { dollars_per_hour: rate(x.cost_dollars, was?.cost_dollars), bytes_per_second: perSecond(bytes, was && was.egress_bytes + was.ingress_bytes), gb: bytes / BYTES_PER_GB };
  };
  const remotes = r.remotes.map((x) => ({
    remote: x.remote,
    port: x.port,
    category: x.category,
    path: x.path,
    remote_az: x.remote_az,
    ...rates(x, remBefore.get(key(x.remote, x.port, x.category, x.remote_az, x.path))),
  }));
  const wlBefore = new Map(before?.workloads?.map((x) => [key(x.namespace, x.workload, x.workload_kind), x]));
  const workloads = (r.workloads ?? []).map((x) => ({
    workload: x.workload,
    namespace: x.namespace,
    kind: x.workload_kind,
    ...rates(x, wlBefore.get(key(x.namespace, x.workload, x.workload_kind))),
  }));
  return {
    bill_lines: bill_lines.sort(byCostThenBytes),
    categories: categories.sort(byCostThenBytes),
    remotes: remotes.sort(byCostThenBytes).slice(0, TOP_REMOTES),
    workloads: workloads.sort(byCostThenBytes).slice(0, TOP_REMOTES),
  };
}

function liveSummary(now: Snapshot, base: Snapshot, dt: number, chart: Summary['chart'], o: LiveOptions, t: Topology): Summary {
  const r = now.detail!.report;
  const hours = dt / 3600;
  const rate = (x: number): number | null => (dt > 0 ? Math.max(0, x) / hours : null);

  const d = now.detail!;
  const bd = base.detail!;
  const capture: Summary['health']['capture'] = Object.entries(r.capture_packets).map(([iface, captured]) => {
    const kernel: number | undefined = d.kernel[iface];
    const capturedDelta = captured - (bd.report.capture_packets[iface] ?? 0);
    const kernelDelta = kernel === undefined ? undefined : kernel - (bd.kernel[iface] ?? 0);
    const up = r.capture_up[iface];
    const filtered = r.capture_filtered[iface] === 1;
    return {
      interface: iface,
      state: o.captureKind === 'replay' ? ('replay' as const) : up === 0 ? ('down' as const) : ('up' as const),
      captured_packets: captured,
      kernel_packets: kernel ?? null,
      coverage: !filtered && kernelDelta !== undefined && kernelDelta > 0 ? Math.min(1, capturedDelta / kernelDelta) : null,
      filtered,
      dropped_packets: r.capture_dropped[iface] ?? 0,
    };
  });
  // an interface whose capture never started has no packets but has capture_up 0
  for (const [iface, up] of Object.entries(r.capture_up)) {
    if (!(iface in r.capture_packets)) capture.push({ interface: iface, state: up === 0 ? 'down' : 'up', captured_packets: 0, kernel_packets: null, coverage: null, filtered: r.capture_filtered[iface] === 1, dropped_packets: 0 });
  }
  const dollars = rate(now.billCost - base.billCost);
  return {
    version: VERSION,
    mode: 'live',
    title: o.title,
    generated_at: new Date(now.t).toISOString(),
    region: t.region,
    window_seconds: dt > 0 ? dt : null,
    dollars_per_hour: dollars,
    category_dollars_per_hour: rate(now.catCostTotal - base.catCostTotal),
    projected_dollars_per_month: dollars === null ? null : dollars * HOURS_PER_MONTH,
    total_dollars: now.billCost,
    ...rows(r, base.detail!.report, dt),
    savings: r.savings,
    chart,
    health: { capture, topology: topologyHealth(r), zones: zonesOf(t), remotes_folded: r.remotes_folded, decode_errors: r.decode_errors, problems: [], ...flowLogHealth(o, now.t) },
  };
}

function flowLogHealth(o: LiveOptions, t: number): Pick<Summary['health'], 'flow_logs'> {
  const f = o.flowLogs?.();
  if (f === undefined) return {};
  const newest = f.newest_record_end > 0 ? f.newest_record_end : null;
  return { flow_logs: { objects: f.objects, records: f.records, url: f.url, newest_record: newest === null ? null : new Date(newest * 1000).toISOString(), lag_seconds: newest === null ? null : Math.max(0, t / 1000 - newest) } };
}

function byCostThenBytes(a: { dollars_per_hour: number | null; bytes_per_second: number | null }, b: { dollars_per_hour: number | null; bytes_per_second: number | null }): number {
  return (b.dollars_per_hour ?? -1) - (a.dollars_per_hour ?? -1) || (b.bytes_per_second ?? 0) - (a.bytes_per_second ?? 0);
}

function zonesOf(t: Topology): Summary['health']['zones'] {
  return t.vpcZones().map((zone) => ({ zone, zone_id: t.zoneIds.get(zone) ?? '' }));
}

function topologyHealth(r: Report): Summary['health']['topology'] {
  return r.topology_sources.map((s) => ({
    source: s.source,
    entries: s.entries ?? null,
    last_success: s.lastSuccess === undefined ? null : new Date(s.lastSuccess * 1000).toISOString(),
    errors: s.errors,
    last_error: s.lastError ?? null,
  }));
}

/** The same sections for a capture file: rates over its span, a chart of bytes over its time. */
export function captureSummary(r: Report & { capture: NonNullable<Report['capture']> }, t: Topology, chart: Summary['chart'], files: string[]): Summary {
  const c: CaptureSummary & { dollars_per_hour: number | null; category_dollars_per_hour: number | null; projected_dollars_per_month: number | null } = r.capture;
  const problems = c.caveats.concat(c.problems.map(problemText));
  return {
    version: VERSION,
    mode: 'capture',
    title: files.join(', '),
    generated_at: new Date().toISOString(),
    region: t.region,
    window_seconds: c.duration_seconds,
    dollars_per_hour: c.dollars_per_hour,
    category_dollars_per_hour: c.category_dollars_per_hour,
    projected_dollars_per_month: c.projected_dollars_per_month,
    total_dollars: r.bill.length > 0 ? r.bill_cost_dollars : r.priced_cost_dollars,
    ...rows(r, undefined, c.duration_seconds),
    savings: r.savings,
    chart,
    health: {
      capture: Object.entries(r.capture_packets).map(([iface, n]) => ({ interface: iface, state: 'file' as const, captured_packets: n, kernel_packets: null, coverage: null, filtered: false, dropped_packets: r.capture_dropped[iface] ?? 0 })),
      topology: topologyHealth(r),
      zones: zonesOf(t),
      remotes_folded: r.remotes_folded,
      decode_errors: r.decode_errors,
      ...(c.flow_logs ? { flow_logs: c.flow_logs } : {}),
      problems,
    },
  };
}
