// reconcile: the bill (a Cost and Usage Report export) beside what the exporters measured (Prometheus),
// usage type by usage type, over the same range. Usage types are matched without their leading region
// codes: the CUR writes some us-east-1 types without one.
import { stripRegionCodes } from '../classify/bill.js';
import { BYTES_PER_GB } from '../classify/prices.js';
import { ConfigError } from '../config/errors.js';
import { fmtDollars, table } from '../metrics/report.js';
import { readCur } from '../reconcile/cur.js';
import { instantQuery } from '../reconcile/prometheus.js';

export interface ReconcileOptions {
  cur: string[];
  prometheus: string;
  /** milliseconds */
  range: number;
  end?: string;
  format: 'table' | 'json';
}

/** Usage types the exporter counts (without region codes; inter-region pairs become AWS-Out/AWS-In-Bytes). */
const MEASURED = new Set([
  'DataTransfer-Regional-Bytes',
  'DataTransfer-Out-Bytes',
  'DataTransfer-In-Bytes',
  'AWS-Out-Bytes',
  'AWS-In-Bytes',
  'NatGateway-Bytes',
  'VpcEndpoint-Bytes',
  'TransitGateway-Bytes',
  'VpcPeering-Out-Bytes',
  'VpcPeering-In-Bytes',
]);

/** Network lines of the bill that are not bytes the exporter can count, and why. */
function whyNotMeasured(usageType: string): string | undefined {
  if (/Hours$|-Hrs$/.test(usageType)) return 'hourly charge: no bytes to measure';
  if (/LCUUsage|LoadBalancerUsage/.test(usageType)) return 'load balancer capacity, not bytes';
  if (/PublicIPv4|ElasticIP/.test(usageType)) return 'public IPv4 address hours';
  if (usageType.startsWith('CloudFront ')) return 'CloudFront edges sending: not these hosts\' bytes';
  if (/CloudFront|DataTransfer|NatGateway|VpcEndpoint|TransitGateway|VpcPeering|AWS-(In|Out)-Bytes/.test(usageType)) {
    return 'bytes no exporter sees (another service or edge sending them)';
  }
  return undefined;
}

/** Line item types that are usage (not tax, credits, refunds, fees). */
const USAGE_ITEMS = new Set(['', 'Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage']);

export interface ReconcileRow {
  usage_type: string;
  /** the names the bill and the exporters used, region codes included */
  billed_as: string[];
  bill_gb: number;
  measured_gb: number;
  /** measured ÷ bill, in percent; null where the bill has none */
  coverage_percent: number | null;
  bill_cost: number | null;
}

export interface NotMeasuredRow {
  usage_type: string;
  amount: number;
  unit: string;
  bill_cost: number | null;
  why: string;
}

export interface Reconciliation {
  range: { start: string; end: string; seconds: number };
  cur_files: string[];
  line_items: number;
  network_line_items: number;
  prometheus: string;
  rows: ReconcileRow[];
  not_measured: NotMeasuredRow[];
}

function parseEnd(text: string | undefined): number {
  if (text === undefined) return Date.now();
  // RFC 3339 only (a date alone is its midnight UTC): Date.parse takes "Nov 28" for 2001-11-28
  const rfc3339 = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2}))?$/;
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : rfc3339.test(text) ? Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text) : NaN;
  if (!Number.isFinite(ms)) throw new ConfigError(`--end ${JSON.stringify(text)}: expected RFC 3339 (2026-11-01T00:00:00Z) or seconds since the epoch`);
  return ms;
}

export async function reconcile(o: ReconcileOptions): Promise<Reconciliation> {
  if (o.cur.length === 0) throw new ConfigError('reconcile needs --cur FILE (a Cost and Usage Report export: CUR 2.0 Parquet, or legacy CSV/CSV.gz)');
  const endMs = parseEnd(o.end);
  const startMs = endMs - o.range;

  interface Acc {
    names: Set<string>;
    gb: number;
    cost: number;
    costKnown: boolean;
    unit: string;
  }
  const bill = new Map<string, Acc>();
  let lineItems = 0;
  let network = 0;
  for (const file of o.cur) {
    const before = lineItems;
    await readCur(file, (l) => {
      lineItems++;
      if (!USAGE_ITEMS.has(l.itemType) || !Number.isFinite(l.amount)) return;
      // a file without dates is taken whole
      if (Number.isFinite(l.start) && (l.start < startMs || l.start >= endMs)) return;
      // CloudFront bills its edges' transfer under names like EC2's (EU-DataTransfer-Out-Bytes): apart
      const key = l.product === 'AmazonCloudFront' ? `CloudFront ${l.usageType}` : stripRegionCodes(l.usageType);
      if (!MEASURED.has(key) && whyNotMeasured(key) === undefined) return;
      network++;
      let a = bill.get(key);
      if (!a) {
        a = { names: new Set(), gb: 0, cost: 0, costKnown: false, unit: l.unit };
        bill.set(key, a);
      }
      a.names.add(l.usageType);
      a.gb += l.amount;
      if (Number.isFinite(l.cost)) {
        a.cost += l.cost;
        a.costKnown = true;
      }
    });
    // an empty or header-only export is no bill of nothing: the wrong file, or one cut short
    if (lineItems === before) throw new ConfigError(`--cur ${file}: no line items (an empty or header-only export is not a bill)`);
  }

  const rangeSeconds = Math.round(o.range / 1000);
  const samples = await instantQuery(o.prometheus, `sum by (usage_type) (increase(aztraffic_usage_bytes_total[${rangeSeconds}s]))`, endMs / 1000);
  const measured = new Map<string, { gb: number; names: Set<string> }>();
  for (const s of samples) {
    const name = s.metric.usage_type ?? '';
    const key = stripRegionCodes(name);
    const m = measured.get(key) ?? { gb: 0, names: new Set<string>() };
    m.gb += s.value / BYTES_PER_GB;
    m.names.add(name);
    measured.set(key, m);
  }

  const rows: ReconcileRow[] = [];
  const notMeasured: NotMeasuredRow[] = [];
  for (const key of new Set([...bill.keys(), ...measured.keys()])) {
    const b = bill.get(key);
    const m = measured.get(key);
    if (!MEASURED.has(key) && m === undefined) {
      notMeasured.push({ usage_type: key, amount: b!.gb, unit: b!.unit, bill_cost: b!.costKnown ? b!.cost : null, why: whyNotMeasured(key)! });
      continue;
    }
    const billGb = b?.gb ?? 0;
    const measuredGb = m?.gb ?? 0;
    rows.push({
      usage_type: key,
      billed_as: [...new Set([...(b?.names ?? []), ...(m?.names ?? [])])].sort(),
      bill_gb: billGb,
      measured_gb: measuredGb,
      coverage_percent: billGb > 0 ? (measuredGb / billGb) * 100 : null,
      bill_cost: b?.costKnown ? b.cost : null,
    });
  }
  rows.sort((a, b) => (b.bill_cost ?? 0) - (a.bill_cost ?? 0) || b.bill_gb - a.bill_gb || a.usage_type.localeCompare(b.usage_type));
  notMeasured.sort((a, b) => (b.bill_cost ?? 0) - (a.bill_cost ?? 0) || a.usage_type.localeCompare(b.usage_type));
  return {
    range: { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(), seconds: rangeSeconds },
    cur_files: o.cur,
    line_items: lineItems,
    network_line_items: network,
    prometheus: o.prometheus,
    rows,
    not_measured: notMeasured,
  };
}

const gb = (n: number): string => (Number.isInteger(n) ? n.toLocaleString('en-US') : n >= 100 ? n.toFixed(1) : n.toPrecision(4));
const dollars = (n: number | null): string => (n === null ? '-' : fmtDollars(n));

export function renderReconciliation(r: Reconciliation): string {
  const out: string[] = [];
  out.push(`RECONCILIATION ${r.range.start} → ${r.range.end}`);
  out.push(`bill: ${r.cur_files.length} CUR file(s), ${r.line_items.toLocaleString('en-US')} line items, ${r.network_line_items.toLocaleString('en-US')} of them network usage; measured: ${r.prometheus}`);
  out.push('');
  out.push(
    table(
      ['USAGE TYPE', 'BILL GB', 'MEASURED GB', 'COVERAGE', 'BILL $'],
      r.rows.map((x) => [x.usage_type, gb(x.bill_gb), gb(x.measured_gb), x.coverage_percent === null ? '-' : `${x.coverage_percent.toFixed(1)}%`, dollars(x.bill_cost)]),
      new Set([1, 2, 3, 4]),
    ),
  );
  const uncovered = r.rows.filter((x) => x.bill_gb > 0 && x.measured_gb === 0).map((x) => x.usage_type);
  if (uncovered.length > 0) out.push(`measured nothing for: ${uncovered.join(', ')} (hosts without the exporter, or managed services billing their own side)`);
  const over = r.rows.filter((x) => x.coverage_percent !== null && x.coverage_percent > 110).map((x) => x.usage_type);
  if (over.length > 0) {
    out.push(
      `measured more than billed for: ${over.join(', ')} (the bill's files may cover fewer hours than --range and --end, ` +
        'a host may be scraped by two Prometheus jobs, or the bill is of another account or region)',
    );
  }
  if (r.not_measured.length > 0) {
    out.push('');
    out.push('NOT MEASURED BY THE EXPORTER');
    out.push(
      table(
        ['USAGE TYPE', 'AMOUNT', 'UNIT', 'BILL $', 'WHY'],
        r.not_measured.map((x) => [x.usage_type, gb(x.amount), x.unit || '-', dollars(x.bill_cost), x.why]),
        new Set([1, 3]),
      ),
    );
  }
  return out.join('\n') + '\n';
}
