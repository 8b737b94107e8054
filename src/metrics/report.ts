// A cost report read back from the registry's counters, so that table, JSON, the live page and the
// Prometheus exposition can never disagree.
import type { Counter } from 'prom-client';
import { CATEGORY_NAMES, type CategoryName, type DirectionName } from '../classify/categories.js';
import { BYTES_PER_GB as GB, costOf, HOURS_PER_MONTH, priceOf, usagePriceOf, type Prices } from '../classify/prices.js';
import type { SourceStatus } from '../topology/status.js';
import type { ExporterMetrics } from './registry.js';
import { nameLocalSide, type SavingRow } from './savings.js';


export interface CategoryRow {
  direction: DirectionName;
  category: CategoryName;
  packets: number;
  bytes: number;
  gb: number;
  price_per_gb: number | null;
  cost_dollars: number | null;
}

/** One line of the bill: a usage type as the Cost and Usage Report names it. */
export interface BillRow {
  usage_type: string;
  /** bytes by network path */
  paths: Record<string, number>;
  bytes: number;
  gb: number;
  price_per_gb: number | null;
  cost_dollars: number | null;
  /** analyze: over the capture's span */
  dollars_per_hour?: number | null;
}

export interface ZoneRow {
  direction: DirectionName;
  category: CategoryName;
  local_az: string;
  remote_az: string;
  bytes: number;
}

export interface RemoteRow {
  remote: string;
  port: string;
  category: CategoryName;
  remote_az: string;
  /** The network path (docs/billing.md): what its dollars include beyond the transfer itself. */
  path: string;
  egress_bytes: number;
  ingress_bytes: number;
  /** The sum of its bytes' bill lines (aztraffic_remote_dollars_total); null where its category is unpriced. */
  cost_dollars: number | null;
}

/** Dollars of a series family by series (its labels joined), read from its twin `_dollars_total`. */
async function dollarsBySeries(m: ExporterMetrics, name: string, key: (l: Record<string, string | number>) => string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of await metricValues(m, name)) out.set(key(v.labels), (out.get(key(v.labels)) ?? 0) + v.value);
  return out;
}

/** Whether a category has no price in either direction (unclassified): its rows say unpriced, not $0. */
const unpricedCategory = (prices: Prices, cat: CategoryName): boolean => priceOf(prices, cat, 'egress') === undefined && priceOf(prices, cat, 'ingress') === undefined;

export interface WorkloadRow {
  namespace: string;
  workload: string;
  workload_kind: string;
  /** Bytes by category, both directions. */
  categories: Record<string, number>;
  egress_bytes: number;
  ingress_bytes: number;
  cost_dollars: number | null;
}

/** What a capture file covered (analyze), and what could not be read. */
export interface CaptureSummary {
  first_packet_time: string | null;
  last_packet_time: string | null;
  /** null when the files carry no timestamps (pcapng simple packet blocks) or hold one instant. */
  duration_seconds: number | null;
  /** What the answer stands on that is assumed or missing (ip-ranges.json, the region, the local address). */
  caveats: string[];
  /** Flow logs read, where there were any: objects (files, S3 objects) and records counted. */
  flow_logs?: { objects: number; records: number };
  problems: {
    file: string;
    /** Flow-log lines (or Parquet rows) that were no record: not counted. */
    malformed_lines?: number;
    skipped_records?: number;
    skipped_bytes?: number;
    stopped_at_offset?: number;
    unread_bytes?: number;
    reason?: string;
  }[];
}


export interface Report {
  /** analyze only: the span of the capture and the cost as a rate. */
  capture?: CaptureSummary & {
    /** The bill lines' cost as a rate (data transfer and processing), or the categories' where no line was counted. */
    dollars_per_hour: number | null;
    projected_dollars_per_month: number | null;
    /** Data transfer alone, priced by category (aztraffic_bytes_total × aztraffic_price_dollars_per_byte). */
    category_dollars_per_hour: number | null;
  };
  /** Remote entries and bytes that did not get a series of their own (beyond the top K, by cost). */
  remotes_folded: { remotes: number; bytes: number };
  /** The bill's lines (usage types), by cost; a byte on two lines is in both. */
  bill: BillRow[];
  bill_cost_dollars: number;
  categories: CategoryRow[];
  zones: ZoneRow[];
  remotes: RemoteRow[];
  /** Bytes by workload (attribution on: serve, analyze --pods), by cost; absent when off. */
  workloads?: WorkloadRow[];
  /** Cheaper paths for what was counted, largest monthly saving first (savings.ts). */
  savings: SavingRow[];
  total_bytes: number;
  priced_cost_dollars: number;
  unpriced_bytes: number;
  decode_errors: Record<string, number>;
  capture_packets: Record<string, number>;
  /** capture_up by interface (live capture); absent interfaces have none */
  capture_up: Record<string, number>;
  /** capture_filtered by interface: 1 where a BPF filter chooses what is counted */
  capture_filtered: Record<string, number>;
  /** dropped packets by interface (kernel and interface together) */
  capture_dropped: Record<string, number>;
  topology_sources: ({ source: string } & SourceStatus)[];
  transit_packets: number;
  non_ip_packets: number;
}

/** Every series of a metric family: its labels and value. */
export async function metricValues(m: ExporterMetrics, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = m.registry.getSingleMetric(name) as Counter | undefined;
  if (!metric) return [];
  return (await metric.get()).values.map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

/** A metric family's values summed by one label. */
export async function sumByLabel(m: ExporterMetrics, name: string, label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of await metricValues(m, name)) {
    const k = String(v.labels[label] ?? '');
    out[k] = (out[k] ?? 0) + v.value;
  }
  return out;
}

const cost = (prices: Prices, cat: CategoryName, dir: DirectionName, bytes: number): number | null => costOf(prices, cat, dir, bytes) ?? null;

export async function buildReport(m: ExporterMetrics, capture?: CaptureSummary): Promise<Report> {
  await m.render(); // flush
  const prices = m.prices;
  const byCat = new Map<string, CategoryRow>();
  const zones: ZoneRow[] = [];
  for (const v of await metricValues(m, 'aztraffic_bytes_total')) {
    const direction = v.labels.direction as DirectionName;
    const category = v.labels.category as CategoryName;
    const key = `${direction}|${category}`;
    let row = byCat.get(key);
    if (!row) {
      row = { direction, category, packets: 0, bytes: 0, gb: 0, price_per_gb: priceOf(prices, category, direction) ?? null, cost_dollars: null };
      byCat.set(key, row);
    }
    row.bytes += v.value;
    zones.push({ direction, category, local_az: String(v.labels.local_az), remote_az: String(v.labels.remote_az), bytes: v.value });
  }
  for (const v of await metricValues(m, 'aztraffic_packets_total')) {
    const row = byCat.get(`${v.labels.direction}|${v.labels.category}`);
    if (row) row.packets += v.value;
  }
  let total = 0;
  let priced = 0;
  let unpriced = 0;
  // in one order (direction, category), whatever order the traffic came in: the float sum is the same
  const catRows = [...byCat.values()].sort((a, b) => a.direction.localeCompare(b.direction) || CATEGORY_NAMES.indexOf(a.category) - CATEGORY_NAMES.indexOf(b.category));
  for (const row of catRows) {
    row.gb = row.bytes / GB;
    row.cost_dollars = cost(prices, row.category, row.direction, row.bytes);
    total += row.bytes;
    if (row.cost_dollars === null) unpriced += row.bytes;
    else priced += row.cost_dollars;
  }
  const catOrder = (c: CategoryName): number => CATEGORY_NAMES.indexOf(c);
  // zone pairs in one order whatever order the traffic came in (threads, engines, record order)
  zones.sort((a, b) => a.local_az.localeCompare(b.local_az) || a.remote_az.localeCompare(b.remote_az) || a.direction.localeCompare(b.direction) || catOrder(a.category) - catOrder(b.category));
  const categories = [...byCat.values()].sort(
    (a, b) => (b.cost_dollars ?? -1) - (a.cost_dollars ?? -1) || b.bytes - a.bytes || catOrder(a.category) - catOrder(b.category),
  );

  // each remote's and workload's dollars are the sum of its bytes' bill lines, counted with them
  const remoteKey = (l: Record<string, string | number>): string => `${l.remote}|${l.port}|${l.category}|${l.remote_az}|${l.path}`;
  const remoteDollars = await dollarsBySeries(m, 'aztraffic_remote_dollars_total', remoteKey);
  const remotes = new Map<string, RemoteRow>();
  for (const v of await metricValues(m, 'aztraffic_remote_bytes_total')) {
    const l = v.labels;
    const key = remoteKey(l);
    let row = remotes.get(key);
    if (!row) {
      const category = l.category as CategoryName;
      row = {
        remote: String(l.remote),
        port: String(l.port),
        category,
        remote_az: String(l.remote_az),
        path: String(l.path),
        egress_bytes: 0,
        ingress_bytes: 0,
        // an unpriced category's bytes may still be on a priced line (through a VPN or NAT gateway)
        cost_dollars: unpricedCategory(prices, category) && !remoteDollars.has(key) ? null : (remoteDollars.get(key) ?? 0),
      };
      remotes.set(key, row);
    }
    if (l.direction === 'egress') row.egress_bytes += v.value;
    else row.ingress_bytes += v.value;
  }
  const remoteRows = [...remotes.values()].sort(
    (a, b) => (b.cost_dollars ?? -1) - (a.cost_dollars ?? -1) || b.egress_bytes + b.ingress_bytes - (a.egress_bytes + a.ingress_bytes),
  );

  const workloadKey = (l: Record<string, string | number>): string => `${l.namespace}|${l.workload}|${l.workload_kind}|${l.direction}|${l.category}`;
  const workloadDollars = await dollarsBySeries(m, 'aztraffic_workload_dollars_total', workloadKey);
  const workloadValues = await metricValues(m, 'aztraffic_workload_bytes_total');
  const workloads = new Map<string, WorkloadRow>();
  for (const v of workloadValues) {
    const l = v.labels;
    const key = `${l.namespace}|${l.workload}|${l.workload_kind}`;
    let row = workloads.get(key);
    if (!row) {
      row = { namespace: String(l.namespace), workload: String(l.workload), workload_kind: String(l.workload_kind), categories: {}, egress_bytes: 0, ingress_bytes: 0, cost_dollars: null };
      workloads.set(key, row);
    }
    if (l.direction === 'egress') row.egress_bytes += v.value;
    else row.ingress_bytes += v.value;
    row.categories[String(l.category)] = (row.categories[String(l.category)] ?? 0) + v.value;
    const dollars = workloadDollars.get(workloadKey(l));
    if (dollars !== undefined || !unpricedCategory(prices, l.category as CategoryName)) row.cost_dollars = (row.cost_dollars ?? 0) + (dollars ?? 0);
  }
  const workloadRows = [...workloads.values()].sort(
    (a, b) => (b.cost_dollars ?? -1) - (a.cost_dollars ?? -1) || b.egress_bytes + b.ingress_bytes - (a.egress_bytes + a.ingress_bytes),
  );

  const bill = new Map<string, BillRow>();
  for (const v of await metricValues(m, 'aztraffic_usage_bytes_total')) {
    const usageType = String(v.labels.usage_type);
    let row = bill.get(usageType);
    if (!row) {
      row = { usage_type: usageType, paths: {}, bytes: 0, gb: 0, price_per_gb: usagePriceOf(prices, usageType) ?? null, cost_dollars: null };
      bill.set(usageType, row);
    }
    row.bytes += v.value;
    const path = String(v.labels.path);
    row.paths[path] = (row.paths[path] ?? 0) + v.value;
  }
  let billCost = 0;
  for (const row of bill.values()) {
    row.gb = row.bytes / GB;
    row.cost_dollars = row.price_per_gb === null ? null : row.gb * row.price_per_gb;
    billCost += row.cost_dollars ?? 0;
    if (capture) row.dollars_per_hour = capture.duration_seconds && row.cost_dollars !== null ? (row.cost_dollars / capture.duration_seconds) * 3600 : null;
  }
  const billRows = [...bill.values()].sort((a, b) => (b.cost_dollars ?? -1) - (a.cost_dollars ?? -1) || b.bytes - a.bytes || a.usage_type.localeCompare(b.usage_type));

  const savings = m.savings.rows();
  if (m.attributing) {
    nameLocalSide(
      savings,
      workloadRows.filter((w) => (w.categories.cross_az ?? 0) > 0 && w.workload_kind !== 'other' && w.workload_kind !== 'unknown').map((w) => (w.namespace ? `${w.namespace}/${w.workload}` : w.workload)),
    );
  }
  const byLabel = (name: string, label: string): Promise<Record<string, number>> => sumByLabel(m, name, label);
  const single = async (name: string): Promise<number> => (await metricValues(m, name))[0]?.value ?? 0;
  const rate = (dollars: number): number | null => (capture?.duration_seconds ? (dollars / capture.duration_seconds) * 3600 : null);
  const perHour = rate(billRows.length > 0 ? billCost : priced);
  return {
    ...(capture
      ? { capture: { ...capture, dollars_per_hour: perHour, projected_dollars_per_month: perHour === null ? null : perHour * HOURS_PER_MONTH, category_dollars_per_hour: rate(priced) } }
      : {}),
    remotes_folded: { ...m.foldedRemotes },
    bill: billRows,
    bill_cost_dollars: billCost,
    categories,
    zones,
    remotes: remoteRows,
    ...(m.attributing ? { workloads: workloadRows } : {}),
    savings,
    total_bytes: total,
    priced_cost_dollars: priced,
    unpriced_bytes: unpriced,
    decode_errors: await byLabel('aztraffic_decode_errors_total', 'reason'),
    capture_packets: await byLabel('aztraffic_capture_packets_total', 'interface'),
    capture_up: await byLabel('aztraffic_capture_up', 'interface'),
    capture_filtered: await byLabel('aztraffic_capture_filtered', 'interface'),
    capture_dropped: await byLabel('aztraffic_capture_dropped_packets_total', 'interface'),
    topology_sources: [...m.status.sources].map(([source, st]) => ({ source, ...st })),
    transit_packets: await single('aztraffic_transit_packets_total'),
    non_ip_packets: await single('aztraffic_non_ip_packets_total'),
  };
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Under the top remotes and workloads: what their dollars are. */
const BILL_LINES = 'cost: the sum of the bill lines of their bytes (transfer, and processing on their path: NAT gateway, endpoints, Transit Gateway)';

/** Dollars with enough digits that a small amount is not shown as 0; null is 'unpriced'. */
export function fmtDollars(n: number | null): string {
  if (n === null) return 'unpriced';
  if (n === 0) return '0';
  return n >= 100 ? n.toFixed(2) : n >= 0.01 ? n.toFixed(4) : n.toFixed(6);
}

/** Columns padded to their widest cell; `rightAligned` holds the indexes of numeric columns. */
export function table(headers: string[], rows: string[][], rightAligned: Set<number>): string {
  // a loop, not Math.max(...rows): a spread of 200,000 arguments overflows the stack
  const widths = headers.map((h, i) => rows.reduce((w, r) => Math.max(w, r[i].length), h.length));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** A rate in dollars with enough significant digits that a small one is not shown as zero. */
export function fmtRate(n: number): string {
  if (n === 0) return '0';
  return n >= 100 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

function fmtDuration(s: number): string {
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** What a person reads first: the capture's span and rate, cost per category, then the remotes that cost the most. */
export function renderTable(r: Report, topRemotes = 15): string {
  const out: string[] = [];
  if (r.capture) {
    const c = r.capture;
    const flowLogsOnly = c.flow_logs !== undefined && Object.keys(r.capture_packets).length === 0;
    out.push(c.flow_logs === undefined ? 'CAPTURE' : flowLogsOnly ? 'FLOW LOGS' : 'CAPTURE AND FLOW LOGS');
    if (c.flow_logs !== undefined) out.push(`${fmtInt(c.flow_logs.records)} records of ${fmtInt(c.flow_logs.objects)} flow-log object(s), each counted from the side of the interface that logged it`);
    if (c.duration_seconds === null) {
      out.push(`duration unknown (no packet timestamps): no rate per hour; $${fmtDollars(r.priced_cost_dollars)} for the whole capture`);
    } else {
      out.push(`${fmtDuration(c.duration_seconds)}, ${c.first_packet_time} to ${c.last_packet_time}`);
      const billed = r.bill.length > 0;
      out.push(
        `cost: $${fmtDollars(billed ? r.bill_cost_dollars : r.priced_cost_dollars)} in the ${flowLogsOnly ? 'logs' : 'capture'} = $${fmtRate(c.dollars_per_hour!)}/hour = $${fmtRate(c.projected_dollars_per_month!)} per month (730 h) at this rate` +
          (billed ? ` (bill lines; data transfer by category alone: $${fmtRate(c.category_dollars_per_hour!)}/hour)` : ''),
      );
    }
    out.push('');
  }
  if (r.bill.length > 0) {
    // laid out like Cost Explorer grouped by usage type: the screen this is compared with
    out.push('BILL LINES (usage types, as Cost Explorer and the CUR name them)');
    out.push(
      table(
        ['USAGE TYPE', 'PATH', 'GB', '$/GB', 'COST $', '$/HOUR'],
        r.bill.map((b) => [
          b.usage_type,
          Object.keys(b.paths).sort().join(','),
          b.gb.toFixed(3),
          b.price_per_gb === null ? '-' : String(b.price_per_gb),
          fmtDollars(b.cost_dollars),
          b.dollars_per_hour === undefined || b.dollars_per_hour === null ? '-' : fmtRate(b.dollars_per_hour),
        ]),
        new Set([2, 3, 4, 5]),
      ),
    );
    const d = r.capture?.duration_seconds;
    out.push(
      `bill lines total: $${fmtDollars(r.bill_cost_dollars)}` +
        (d ? ` = $${fmtRate((r.bill_cost_dollars / d) * 3600)}/hour` : '') +
        ' (NAT gateway, endpoint and Transit Gateway processing included; a byte on two lines counts in both)',
    );
    out.push('');
  }
  if (r.savings.length > 0) {
    out.push(...savingsTable(r.savings, topRemotes));
    out.push('');
  }
  out.push('COST BY CATEGORY');
  out.push(
    table(
      ['CATEGORY', 'DIRECTION', 'PACKETS', 'BYTES', 'GB', '$/GB', 'COST $'],
      r.categories.map((c) => [
        c.category,
        c.direction,
        fmtInt(c.packets),
        fmtInt(c.bytes),
        c.gb.toFixed(3),
        c.price_per_gb === null ? '-' : String(c.price_per_gb),
        fmtDollars(c.cost_dollars),
      ]),
      new Set([2, 3, 4, 5, 6]),
    ),
  );
  out.push(
    `total: ${fmtInt(r.total_bytes)} bytes, $${fmtDollars(r.priced_cost_dollars)} priced` +
      (r.unpriced_bytes > 0 ? `, ${fmtInt(r.unpriced_bytes)} bytes unclassified (unpriced: find their subnets)` : ''),
  );
  out.push('');
  out.push(`TOP REMOTES BY COST (${Math.min(topRemotes, r.remotes.length)} of ${r.remotes.length})`);
  out.push(
    table(
      ['REMOTE', 'PORT', 'CATEGORY', 'PATH', 'REMOTE AZ', 'EGRESS BYTES', 'INGRESS BYTES', 'COST $'],
      r.remotes.slice(0, topRemotes).map((x) => [
        x.remote,
        x.port || '-',
        x.category,
        x.path || '-',
        x.remote_az || '-',
        fmtInt(x.egress_bytes),
        fmtInt(x.ingress_bytes),
        fmtDollars(x.cost_dollars),
      ]),
      new Set([1, 5, 6, 7]),
    ),
  );
  out.push(BILL_LINES);
  if (r.remotes_folded.bytes > 0) {
    out.push(
      `other: ${fmtInt(r.remotes_folded.bytes)} bytes of ${fmtInt(r.remotes_folded.remotes)} remote entries beyond the top remotes by cost were folded into remote="other" (raise --remote.top-k to see them)`,
    );
  }
  if (r.workloads) {
    const total = r.workloads.reduce((a, w) => a + w.egress_bytes + w.ingress_bytes, 0);
    const unknown = r.workloads.filter((w) => w.workload_kind === 'unknown').reduce((a, w) => a + w.egress_bytes + w.ingress_bytes, 0);
    out.push('');
    out.push(`TOP WORKLOADS BY COST (${Math.min(topRemotes, r.workloads.length)} of ${r.workloads.length})`);
    out.push(
      table(
        ['NAMESPACE', 'WORKLOAD', 'KIND', 'TOP CATEGORY', 'EGRESS BYTES', 'INGRESS BYTES', 'COST $'],
        r.workloads.slice(0, topRemotes).map((w) => [
          w.namespace || '-',
          w.workload || '-',
          w.workload_kind,
          Object.entries(w.categories).sort((a, b) => b[1] - a[1])[0]?.[0] ?? '-',
          fmtInt(w.egress_bytes),
          fmtInt(w.ingress_bytes),
          fmtDollars(w.cost_dollars),
        ]),
        new Set([4, 5, 6]),
      ),
    );
    out.push(BILL_LINES);
    if (unknown > 0) out.push(`unattributed (workload_kind="unknown"): ${fmtInt(unknown)} bytes, ${((100 * unknown) / total).toFixed(1)}% of the workloads' bytes`);
  }
  const errors = Object.entries(r.decode_errors).filter(([, n]) => n > 0);
  out.push('');
  if (r.capture?.flow_logs === undefined || Object.keys(r.capture_packets).length > 0) out.push(
    `frames: ${Object.entries(r.capture_packets)
      .map(([i, n]) => `${i}=${fmtInt(n)}`)
      .join(' ')}; not IP: ${fmtInt(r.non_ip_packets)}; transit (no local side): ${fmtInt(r.transit_packets)}; decode errors: ` +
      (errors.length === 0 ? '0' : errors.map(([k, n]) => `${k}=${fmtInt(n)}`).join(' ')),
  );
  for (const c of r.capture?.caveats ?? []) out.push(`CAVEAT: ${c}`);
  for (const p of r.capture?.problems ?? []) out.push(problemText(p));
  return out.join('\n') + '\n';
}

/** The cheaper paths, a row each and then what to do for each, numbered alike. */
export function savingsTable(rows: SavingRow[], top: number): string[] {
  const shown = rows.slice(0, top);
  // a month's figures to the cent (more digits where that would show a small amount as 0)
  const month = (n: number): string => (n === 0 || Math.abs(n) >= 0.01 ? n.toFixed(2) : n.toPrecision(2));
  const out = [`CHEAPER PATHS (${shown.length} of ${rows.length}; a month at this rate, net of the new path's fixed fees)`];
  out.push(
    table(
      ['#', 'SUGGESTION', 'REMOTE', 'NOW VIA', 'GB/MONTH', 'COSTS $/MONTH', 'SAVES $/MONTH', 'FIXED $/MONTH', 'NET $/MONTH', 'BREAK-EVEN GB/MONTH'],
      shown.map((x, i) => [
        String(i + 1),
        x.suggestion,
        x.remote,
        x.current_path,
        x.gb_per_month.toFixed(3),
        month(x.current_monthly_dollars),
        month(x.gross_monthly_dollars),
        x.fixed_monthly_dollars === null ? 'unknown' : month(x.fixed_monthly_dollars),
        month(x.monthly_savings_dollars) + (x.worth_it ? '' : ' (not worth it)'),
        x.break_even_gb_per_month === null ? '-' : fmtInt(x.break_even_gb_per_month),
      ]),
      new Set([0, 4, 5, 6, 7, 8, 9]),
    ),
  );
  shown.forEach((x, i) => out.push(`${i + 1}: ${x.action}${x.assumes ? ` (${x.assumes})` : ''}`));
  out.push('suggestions may overlap (S3 through a NAT gateway in another zone is in two): each is what that change saves alone');
  return out;
}

/** One problem of reading a file, in one line: INCOMPLETE (not read to its end) or skipped (parts of it). */
export function problemText(p: CaptureSummary['problems'][number]): string {
  if (p.stopped_at_offset !== undefined) return `INCOMPLETE: ${p.file}: reading stopped at byte ${fmtInt(p.stopped_at_offset)} (${p.reason}); ${fmtInt(p.unread_bytes ?? 0)} bytes not read`;
  if (p.malformed_lines !== undefined) return `skipped: ${p.file}: ${fmtInt(p.malformed_lines)} malformed line(s): ${p.reason}`;
  if (p.skipped_records === undefined) return `INCOMPLETE: ${p.file}: ${p.reason}`;
  return `skipped: ${p.file}: ${fmtInt(p.skipped_records)} corrupt records (${fmtInt(p.skipped_bytes ?? 0)} bytes)`;
}
