// reconcile: the bill (a CUR or FOCUS export) beside what the exporters measured (Prometheus), per
// account, usage type and resource, over the same range. A host's lines are the EC2 lines whose resource
// is its instance or one of its ENIs (with Networking Flexible Cost Allocation, NAT gateway and data
// transfer lines come that way); the rest of a usage type's lines (a NAT gateway's own, hosts without
// an exporter) are compared in the usage type's total. Every line of the bill is in the answer: measured,
// listed as not measurable (with why), summed as not network, or as tax, credit or discount beside the
// gross price, never dropped.
import { stripRegionCodes } from '../classify/bill.js';
import { BYTES_PER_GB } from '../classify/prices.js';
import { ConfigError } from '../config/errors.js';
import { fmtDollars, table } from '../metrics/report.js';
import { readCur, type CurLine } from '../reconcile/cur.js';
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
  'VpcEndpoint-GWLBE-Bytes',
  'TransitGateway-Bytes',
  'VpcPeering-Out-Bytes',
  'VpcPeering-In-Bytes',
  'DataProcessing-Bytes',
  'DataXfer-Out',
  'DataXfer-In',
]);

/**
 * Products whose lines of those usage types are a host's bytes (EC2's, and the VPC's paths); any other
 * product's are that service sending its own (S3's egress, a load balancer's side, CloudFront's edges).
 */
const HOST_PRODUCTS = new Set(['', 'AmazonEC2', 'AWSDataTransfer', 'AmazonVPC', 'AWSTransitGateway', 'AWSDirectConnect', 'AWSELB']);

/** Products whose own sending bills under EC2-like names: why their lines are not a host's. */
const SENDERS: Record<string, string> = {
  AmazonS3: "S3's own egress (the bucket sends it, no host)",
  AmazonCloudFront: "CloudFront's edges sending: not these hosts' bytes",
  AWSELB: "the load balancer's own side (its ENIs, not a host's)",
  AmazonRDS: "the database's own transfer (its ENIs, not a host's)",
  AWSLambda: "Lambda's own transfer (its ENIs, not a host's)",
  AmazonDynamoDB: "DynamoDB's own transfer",
};

/**
 * A usage line's name as the exporter writes it: us-east-1's own lines carry no code (USE1-NatGateway-Bytes
 * is NatGateway-Bytes); a region pair keeps both (USE1-EU-AWS-Out-Bytes).
 */
function canonical(usageType: string): string {
  return usageType.startsWith('USE1-') && !/-AWS-(In|Out)-Bytes$/.test(usageType) ? usageType.slice(5) : usageType;
}

/** Why a usage line is none the exporter measures, or undefined where it is one. */
function whyNotMeasured(l: CurLine): { network: boolean; why: string } | undefined {
  const bare = stripRegionCodes(l.usageType);
  // a Classic Load Balancer's processing is the host's path; the load balancer's own transfer is not
  if (l.product === 'AWSELB' && bare !== 'DataProcessing-Bytes') {
    if (/LCUUsage|LoadBalancerUsage/.test(bare)) return { network: true, why: 'load balancer hours and capacity units, not bytes' };
    if (/Bytes$|DataTransfer/.test(bare)) return { network: true, why: SENDERS.AWSELB };
  }
  if (MEASURED.has(bare)) {
    if (HOST_PRODUCTS.has(l.product)) return undefined;
    return { network: true, why: SENDERS[l.product] ?? `${l.product}'s own transfer (its ENIs, not a host's)` };
  }
  if (/NatGateway-Hours/.test(bare)) return { network: true, why: 'NAT gateway hours: no bytes to measure' };
  if (/VpcEndpoint-Hours|EndpointUsage/.test(bare)) return { network: true, why: 'endpoint hours: no bytes to measure' };
  if (/TransitGateway-Hours|TransitGatewayVPC|TransitGateway-Attachment/.test(bare)) return { network: true, why: 'Transit Gateway attachment hours: no bytes to measure' };
  if (/VPN-Usage|VPNConnection/.test(bare)) return { network: true, why: 'VPN connection hours: no bytes to measure' };
  if (/PublicIPv4|ElasticIP/.test(bare)) return { network: true, why: 'public IPv4 address hours' };
  if (l.product === 'AWSDirectConnect') return { network: true, why: 'Direct Connect port hours or a location the exporter cannot name (price DataXfer-Out in a prices file)' };
  if (/LCUUsage|LoadBalancerUsage/.test(bare)) return { network: true, why: 'load balancer hours and capacity units, not bytes' };
  if (l.product === 'AmazonCloudFront' || /DataTransfer|Bytes$/.test(bare)) return { network: true, why: SENDERS[l.product] ?? 'bytes no exporter sees (another service sending them)' };
  return { network: false, why: 'not network usage' };
}

/** Line item types that are usage (not tax, credits, refunds, discounts, fees). */
const USAGE_ITEMS = new Set(['', 'Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage']);

/** What the exporters measured of one host's line, or of the lines of no measured host. */
export interface ResourceRow {
  /** the bill's resource id (an instance, ENI, NAT gateway…); '' for lines that name none */
  resource: string;
  /** the measured host it is (its instance id), or null where no exporter measured this resource */
  host: string | null;
  bill_gb: number;
  measured_gb: number | null;
  bill_cost: number | null;
  /** measured GB at the bill's own rate for the line (its cost ÷ its GB) */
  measured_cost: number | null;
  /** bill − measured, dollars; explained when under half a cent */
  difference: number | null;
  explained: boolean | null;
}

export interface ReconcileRow {
  account: string;
  usage_type: string;
  /** the names the bill and the exporters used, region codes included */
  billed_as: string[];
  bill_gb: number;
  measured_gb: number;
  /** measured ÷ bill, in percent; null where the bill has none */
  coverage_percent: number | null;
  /** what the bill charged (unblended / BilledCost) */
  bill_cost: number | null;
  /** the same usage at public on-demand prices (pricing_public_on_demand_cost / ListCost), before discounts */
  list_cost: number | null;
  /** the lines by resource: each measured host's, then the rest */
  resources: ResourceRow[];
}

export interface NotMeasuredRow {
  account: string;
  region: string;
  product: string;
  usage_type: string;
  amount: number;
  unit: string;
  bill_cost: number | null;
  why: string;
}

export interface AdjustmentRow {
  account: string;
  /** Tax, Credit, Refund, EdpDiscount, SavingsPlanNegation… (FOCUS: Tax, Credit, Adjustment) */
  type: string;
  cost: number;
}

export interface Reconciliation {
  range: { start: string; end: string; seconds: number };
  cur_files: string[];
  line_items: number;
  network_line_items: number;
  prometheus: string;
  rows: ReconcileRow[];
  not_measured: NotMeasuredRow[];
  /** usage that is not network (instances, storage, …), per account and product: counted, not compared */
  not_network: { account: string; product: string; line_items: number; bill_cost: number }[];
  /** tax, credits, refunds and discounts, apart from the usage they apply to */
  adjustments: AdjustmentRow[];
  /** the range's lines add up: compared usage + not measured + not network + adjustments = the bill */
  totals: { bill_cost: number; compared: number; not_measured: number; not_network: number; adjustments: number };
  /** measured hosts the bill names no line of (another account's bill, or a wrong range) */
  hosts_not_in_bill: string[];
}

function parseEnd(text: string | undefined): number {
  if (text === undefined) return Date.now();
  // RFC 3339 only (a date alone is its midnight UTC): Date.parse takes "Nov 28" for 2001-11-28
  const rfc3339 = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2}))?$/;
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : rfc3339.test(text) ? Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text) : NaN;
  if (!Number.isFinite(ms)) throw new ConfigError(`--end ${JSON.stringify(text)}: expected RFC 3339 (2026-11-01T00:00:00Z) or seconds since the epoch`);
  return ms;
}

/** A measured host: the labels of aztraffic_host_info (empty where a host has none). */
interface Host {
  account: string;
  instance: string;
  interfaces: string[];
}

/** The resource part of an ARN (arn:aws:ec2:us-east-1:1111:natgateway/nat-0b → nat-0b), or the id itself. */
function resourceId(resource: string): string {
  const slash = resource.lastIndexOf('/');
  return resource.startsWith('arn:') && slash >= 0 ? resource.slice(slash + 1) : resource;
}

const HALF_CENT = 0.005;

interface Sum {
  gb: number;
  cost: number;
  costKnown: boolean;
  list: number;
  listKnown: boolean;
}
const newSum = (): Sum => ({ gb: 0, cost: 0, costKnown: false, list: 0, listKnown: false });
function addTo(s: Sum, l: CurLine): void {
  s.gb += l.amount;
  if (Number.isFinite(l.cost)) {
    s.cost += l.cost;
    s.costKnown = true;
  }
  if (Number.isFinite(l.listCost)) {
    s.list += l.listCost;
    s.listKnown = true;
  }
}

export async function reconcile(o: ReconcileOptions): Promise<Reconciliation> {
  if (o.cur.length === 0) throw new ConfigError('reconcile needs --cur FILE (a Cost and Usage Report or FOCUS export: Parquet, or CSV/CSV.gz)');
  const endMs = parseEnd(o.end);
  const startMs = endMs - o.range;

  // compared lines by account and usage type, then by resource
  const bill = new Map<string, { account: string; usageType: string; names: Set<string>; total: Sum; byResource: Map<string, Sum> }>();
  const notMeasured = new Map<string, NotMeasuredRow & { costKnown: boolean }>();
  const notNetwork = new Map<string, { account: string; product: string; line_items: number; bill_cost: number }>();
  const adjustments = new Map<string, AdjustmentRow>();
  const totals = { bill_cost: 0, compared: 0, not_measured: 0, not_network: 0, adjustments: 0 };
  let lineItems = 0;
  let network = 0;
  let accountsKnown = false;
  for (const file of o.cur) {
    const before = lineItems;
    await readCur(file, (l) => {
      lineItems++;
      // a file without dates is taken whole
      if (Number.isFinite(l.start) && (l.start < startMs || l.start >= endMs)) return;
      const cost = Number.isFinite(l.cost) ? l.cost : 0;
      totals.bill_cost += cost;
      if (l.account !== '') accountsKnown = true;
      if (!USAGE_ITEMS.has(l.itemType)) {
        const k = `${l.account}|${l.itemType}`;
        const a = adjustments.get(k) ?? { account: l.account, type: l.itemType, cost: 0 };
        a.cost += cost;
        adjustments.set(k, a);
        totals.adjustments += cost;
        return;
      }
      const why = whyNotMeasured(l);
      if (why === undefined && Number.isFinite(l.amount)) {
        network++;
        totals.compared += cost;
        const usageType = canonical(l.usageType);
        const k = `${l.account}|${usageType}`;
        let b = bill.get(k);
        if (!b) bill.set(k, (b = { account: l.account, usageType, names: new Set(), total: newSum(), byResource: new Map() }));
        b.names.add(l.usageType);
        addTo(b.total, l);
        const r = resourceId(l.resource);
        let s = b.byResource.get(r);
        if (!s) b.byResource.set(r, (s = newSum()));
        addTo(s, l);
        return;
      }
      if (why === undefined || !why.network) {
        const k = `${l.account}|${l.product}`;
        const n = notNetwork.get(k) ?? { account: l.account, product: l.product, line_items: 0, bill_cost: 0 };
        n.line_items++;
        n.bill_cost += cost;
        notNetwork.set(k, n);
        totals.not_network += cost;
        return;
      }
      network++;
      totals.not_measured += cost;
      const k = `${l.account}|${l.region}|${l.product}|${l.usageType}`;
      const n = notMeasured.get(k) ?? { account: l.account, region: l.region, product: l.product, usage_type: l.usageType, amount: 0, unit: l.unit, bill_cost: 0, costKnown: false, why: why.why };
      if (Number.isFinite(l.amount)) n.amount += l.amount;
      if (Number.isFinite(l.cost)) {
        n.bill_cost = (n.bill_cost ?? 0) + l.cost;
        n.costKnown = true;
      }
      notMeasured.set(k, n);
    });
    // an empty or header-only export is no bill of nothing: the wrong file, or one cut short
    if (lineItems === before) throw new ConfigError(`--cur ${file}: no line items (an empty or header-only export is not a bill)`);
  }

  // measured: each host's lines by its identity (aztraffic_host_info), and hosts without one apart
  const rangeSeconds = Math.round(o.range / 1000);
  const increase = `increase(aztraffic_usage_bytes_total[${rangeSeconds}s])`;
  const samples = await instantQuery(
    o.prometheus,
    `sum by (usage_type, account_id, instance_id, interfaces) (${increase} * on (job, instance) group_left (account_id, instance_id, interfaces) max by (job, instance, account_id, instance_id, interfaces) (aztraffic_host_info))` +
      ` or sum by (usage_type) (${increase} unless on (job, instance) aztraffic_host_info)`,
    endMs / 1000,
  );
  const hosts = new Map<string, Host>();
  // by account (or '' where the bill names none) and usage type: per host (its instance id, or '' for hosts of no identity)
  const measured = new Map<string, { names: Set<string>; byHost: Map<string, number> }>();
  for (const s of samples) {
    const name = s.metric.usage_type ?? '';
    const host: Host = { account: s.metric.account_id ?? '', instance: s.metric.instance_id ?? '', interfaces: (s.metric.interfaces ?? '').split(',').filter(Boolean) };
    const hostKey = host.instance || host.interfaces[0] || '';
    if (hostKey !== '') hosts.set(hostKey, host);
    const k = `${accountsKnown ? host.account : ''}|${canonical(name)}`;
    const m = measured.get(k) ?? { names: new Set<string>(), byHost: new Map<string, number>() };
    m.names.add(name);
    m.byHost.set(hostKey, (m.byHost.get(hostKey) ?? 0) + s.value / BYTES_PER_GB);
    measured.set(k, m);
  }
  // a resource of the bill is a measured host when it is its instance or one of its ENIs
  const hostOf = new Map<string, string>();
  for (const [key, h] of hosts) {
    if (h.instance) hostOf.set(h.instance, key);
    for (const eni of h.interfaces) hostOf.set(eni, key);
  }

  const rows: ReconcileRow[] = [];
  const billedHosts = new Set<string>();
  for (const key of new Set([...bill.keys(), ...measured.keys()])) {
    const b = bill.get(key);
    const m = measured.get(key);
    const [account, usageType] = [key.slice(0, key.indexOf('|')), key.slice(key.indexOf('|') + 1)];
    const measuredGb = m ? [...m.byHost.values()].reduce((x, y) => x + y, 0) : 0;
    const resources: ResourceRow[] = [];
    // each measured host's lines (an instance and its ENIs together), at the bill's own rate
    const perHost = new Map<string, Sum>();
    const rest: [string, Sum][] = [];
    for (const [resource, s] of b?.byResource ?? []) {
      const h = hostOf.get(resource);
      if (h === undefined) {
        rest.push([resource, s]);
        continue;
      }
      const t = perHost.get(h) ?? newSum();
      t.gb += s.gb;
      t.cost += s.cost;
      t.costKnown ||= s.costKnown;
      perHost.set(h, t);
    }
    for (const [h, s] of perHost) {
      billedHosts.add(h);
      const mgb = m?.byHost.get(h) ?? 0;
      const rate = s.costKnown && s.gb > 0 ? s.cost / s.gb : null;
      const measuredCost = rate === null ? null : mgb * rate;
      const difference = measuredCost === null ? null : s.cost - measuredCost;
      resources.push({
        resource: hosts.get(h)!.instance || h,
        host: hosts.get(h)!.instance || h,
        bill_gb: s.gb,
        measured_gb: mgb,
        bill_cost: s.costKnown ? s.cost : null,
        measured_cost: measuredCost,
        difference,
        explained: difference === null ? null : Math.abs(difference) < HALF_CENT,
      });
    }
    rest.sort((x, y) => y[1].cost - x[1].cost || y[1].gb - x[1].gb);
    for (const [resource, s] of rest) {
      resources.push({ resource, host: null, bill_gb: s.gb, measured_gb: null, bill_cost: s.costKnown ? s.cost : null, measured_cost: null, difference: null, explained: null });
    }
    const billGb = b?.total.gb ?? 0;
    rows.push({
      account,
      usage_type: usageType,
      billed_as: [...new Set([...(b?.names ?? []), ...(m?.names ?? [])])].sort(),
      bill_gb: billGb,
      measured_gb: measuredGb,
      coverage_percent: billGb > 0 ? (measuredGb / billGb) * 100 : null,
      bill_cost: b?.total.costKnown ? b.total.cost : null,
      list_cost: b?.total.listKnown ? b.total.list : null,
      resources,
    });
  }
  rows.sort((a, b) => (b.bill_cost ?? 0) - (a.bill_cost ?? 0) || b.bill_gb - a.bill_gb || a.account.localeCompare(b.account) || a.usage_type.localeCompare(b.usage_type));
  const notMeasuredRows = [...notMeasured.values()]
    .map(({ costKnown, ...n }) => ({ ...n, bill_cost: costKnown ? n.bill_cost : null }))
    .sort((a, b) => (b.bill_cost ?? 0) - (a.bill_cost ?? 0) || a.account.localeCompare(b.account) || a.usage_type.localeCompare(b.usage_type));
  return {
    range: { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(), seconds: rangeSeconds },
    cur_files: o.cur,
    line_items: lineItems,
    network_line_items: network,
    prometheus: o.prometheus,
    rows,
    not_measured: notMeasuredRows,
    not_network: [...notNetwork.values()].sort((a, b) => b.bill_cost - a.bill_cost || a.product.localeCompare(b.product)),
    adjustments: [...adjustments.values()].sort((a, b) => a.account.localeCompare(b.account) || a.type.localeCompare(b.type)),
    totals,
    hosts_not_in_bill: [...hosts.keys()].filter((h) => !billedHosts.has(h) && accountsKnown).map((h) => hosts.get(h)!.instance || h).sort(),
  };
}

const gb = (n: number): string => (Number.isInteger(n) ? n.toLocaleString('en-US') : n >= 100 ? n.toFixed(1) : n.toPrecision(4));
const dollars = (n: number | null): string => (n === null ? '-' : fmtDollars(n));

export function renderReconciliation(r: Reconciliation): string {
  const out: string[] = [];
  out.push(`RECONCILIATION ${r.range.start} → ${r.range.end}`);
  out.push(`bill: ${r.cur_files.length} export file(s), ${r.line_items.toLocaleString('en-US')} line items, ${r.network_line_items.toLocaleString('en-US')} of them network usage; measured: ${r.prometheus}`);
  out.push('');
  const withAccounts = r.rows.some((x) => x.account !== '');
  out.push(
    table(
      [...(withAccounts ? ['ACCOUNT'] : []), 'USAGE TYPE', 'RESOURCE', 'BILL GB', 'MEASURED GB', 'COVERAGE', 'BILL $', 'LIST $', 'MEASURED $', 'DIFFERENCE $'],
      r.rows.flatMap((x) => [
        [...(withAccounts ? [x.account || '-'] : []), x.usage_type, 'all', gb(x.bill_gb), gb(x.measured_gb), x.coverage_percent === null ? '-' : `${x.coverage_percent.toFixed(1)}%`, dollars(x.bill_cost), dollars(x.list_cost), '', ''],
        ...x.resources.map((res) => [
          ...(withAccounts ? [''] : []),
          '',
          `${res.resource || '(no resource)'}${res.host === null ? '' : ' (measured host)'}`,
          gb(res.bill_gb),
          res.measured_gb === null ? '-' : gb(res.measured_gb),
          '',
          dollars(res.bill_cost),
          '',
          dollars(res.measured_cost),
          res.difference === null ? '' : `${res.difference >= 0 ? '' : '-'}${fmtDollars(Math.abs(res.difference))}${res.explained ? ' explained' : ''}`,
        ]),
      ]),
      new Set(withAccounts ? [3, 4, 5, 6, 7, 8, 9] : [2, 3, 4, 5, 6, 7, 8]),
    ),
  );
  const uncovered = r.rows.filter((x) => x.bill_gb > 0 && x.measured_gb === 0).map((x) => (x.account ? `${x.account} ${x.usage_type}` : x.usage_type));
  if (uncovered.length > 0) out.push(`measured nothing for: ${uncovered.join(', ')} (hosts without the exporter, or managed services billing their own side)`);
  const over = r.rows.filter((x) => x.coverage_percent !== null && x.coverage_percent > 110).map((x) => x.usage_type);
  if (over.length > 0) {
    out.push(
      `measured more than billed for: ${over.join(', ')} (the bill's files may cover fewer hours than --range and --end, ` +
        'a host may be scraped by two Prometheus jobs, or the bill is of another account or region)',
    );
  }
  if (r.hosts_not_in_bill.length > 0) out.push(`measured hosts with no line in this bill: ${r.hosts_not_in_bill.join(', ')} (another account's bill, or another range)`);
  if (r.not_measured.length > 0) {
    out.push('');
    out.push('NOT MEASURED BY THE EXPORTER (network lines of the bill no host exporter can see)');
    out.push(
      table(
        ['ACCOUNT', 'REGION', 'PRODUCT', 'USAGE TYPE', 'AMOUNT', 'UNIT', 'BILL $', 'WHY'],
        r.not_measured.map((x) => [x.account || '-', x.region || '-', x.product || '-', x.usage_type, gb(x.amount), x.unit || '-', dollars(x.bill_cost), x.why]),
        new Set([4, 6]),
      ),
    );
  }
  if (r.not_network.length > 0) {
    out.push('');
    out.push('NOT NETWORK (counted, not compared)');
    out.push(table(['ACCOUNT', 'PRODUCT', 'LINE ITEMS', 'BILL $'], r.not_network.map((x) => [x.account || '-', x.product || '-', x.line_items.toLocaleString('en-US'), dollars(x.bill_cost)]), new Set([2, 3])));
  }
  if (r.adjustments.length > 0) {
    out.push('');
    out.push('TAX, CREDITS AND DISCOUNTS (beside the usage above, not in it)');
    out.push(table(['ACCOUNT', 'TYPE', 'BILL $'], r.adjustments.map((x) => [x.account || '-', x.type, `${x.cost < 0 ? '-' : ''}${fmtDollars(Math.abs(x.cost))}`]), new Set([2])));
  }
  const t = r.totals;
  out.push('');
  out.push(
    `bill total: $${fmtDollars(t.bill_cost)} = compared usage $${fmtDollars(t.compared)} + not measured $${fmtDollars(t.not_measured)} + not network $${fmtDollars(t.not_network)} + tax, credits and discounts ${t.adjustments < 0 ? '-' : ''}$${fmtDollars(Math.abs(t.adjustments))}`,
  );
  return out.join('\n') + '\n';
}
