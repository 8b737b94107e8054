// Generates grafana/dashboards/*.json. Typed with Grafana's own dashboard schema (@grafana/schema),
// so a panel or variable that the schema does not allow fails `tsc`; test/dashboards.test.ts checks
// that the committed files equal this output and runs every panel's query against a real Prometheus.
//   npx tsx scripts/make-dashboards.ts
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FieldColorModeId, MappingType, ThresholdsMode, type DataQuery, type Dashboard, type Panel, type RowPanel, type VariableModel } from '@grafana/schema';

export interface PromQuery extends DataQuery {
  [key: string]: unknown;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  range?: boolean;
  format?: 'time_series' | 'table';
}

const DS = { type: 'prometheus', uid: '${datasource}' };

/** Selector of the dashboard's variables. A series without a `cluster` label matches "All" (.*). */
const SEL = 'cluster=~"$cluster",job=~"$job",instance=~"$instance"';
const SEL_ZONE = `${SEL},local_az=~"$zone"`;
/** The hosts of the selected zones: metrics without local_az (remotes, capture) are filtered through it. */
const IN_ZONE = `and on (job, instance) group by (job, instance) (aztraffic_bytes_total{${SEL_ZONE}})`;
/** Coverage compares like with like: an interface whose capture a BPF filter narrows is left out. */
const UNFILTERED = 'unless on (job, instance, interface) (aztraffic_capture_filtered == 1)';
const OVERVIEW_UID = 'az-traffic-overview';
const HOST_UID = 'az-traffic-host';
/** Cost panels show enough decimals that one host's cost is a number, not $0.00. */
const COST_DECIMALS = 4;
const PRICE_JOIN = '* on (job, instance, direction, category) group_left aztraffic_price_dollars_per_byte';
const USAGE_PRICE_JOIN = '* on (job, instance, usage_type) group_left aztraffic_usage_price_dollars_per_byte';

function row(title: string, y: number): RowPanel {
  return { type: 'row', id: nextId++, title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] };
}

/** The bill lines (usage types) of the selected hosts: a row of two panels at `y`. */
function billLines(sel: string, inZone: string, y: number): (Panel | RowPanel)[] {
  const usage = `aztraffic_usage_bytes_total{${sel}}`;
  return [
    row('Bill lines', y),
    timeseries(
      'Dollars per hour by bill line',
      "Usage types as Cost Explorer and the Cost and Usage Report name them. NAT gateway, interface endpoint and Transit Gateway processing, and the cross-zone leg to a NAT gateway in another zone, are here and in no category. A byte on two lines (NAT processing and the transfer) is on both, as on the bill.",
      [q(`3600 * sum by (usage_type) ((rate(${usage}[$__rate_interval]) ${USAGE_PRICE_JOIN}) ${inZone})`, '{{usage_type}}')],
      'currencyUSD',
      0,
      y + 1,
    ),
    table(
      'Bill lines by network path',
      'Dollars per hour by usage type and the path the bytes took (direct, nat_gateway, gateway_endpoint, interface_endpoint, load_balancer, transit_gateway, vpc_peering).',
      `3600 * sum by (usage_type, path) ((rate(${usage}[$__rate_interval]) ${USAGE_PRICE_JOIN}) ${inZone})`,
      'currencyUSD',
      12,
      y + 1,
      12,
      [{ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: 'dollars per hour', usage_type: 'usage type' } } }],
    ),
  ];
}

/**
 * Which component: the workloads (pod owners, systemd units, processes) of the selected hosts, by cost,
 * and dollars per hour by namespace: a row of two panels at `y`.
 */
function workloads(sel: string, inZone: string, y: number): (Panel | RowPanel)[] {
  // each workload's dollars are the sum of its bytes' bill lines, counted by the exporter with them
  const w = `aztraffic_workload_dollars_total{${sel}}`;
  // the host's own processes and units have no namespace: name them so that the legend says so
  const ns = (expr: string): string => `label_replace(${expr}, "namespace", "(host)", "namespace", "")`;
  return [
    row('Workloads: which component', y),
    table(
      'Top workloads by cost',
      'Dollars per hour by the local owner of the bytes: a pod\'s Deployment, StatefulSet, DaemonSet, Job or CronJob; a systemd unit; else a process by name. workload_kind="unknown": sockets that closed before they could be looked up; workload="other": beyond the exporter\'s top K.',
      `topk(25, 3600 * sum by (namespace, workload, workload_kind, category) (rate(${w}[$__rate_interval]) ${inZone}))`,
      'currencyUSD',
      0,
      y + 1,
      14,
      [{ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: 'dollars per hour', workload_kind: 'kind' } } }],
    ),
    timeseries(
      'Dollars per hour by namespace',
      'Pods by namespace; "(host)": the processes and systemd units of the hosts themselves.',
      [q(ns(`3600 * sum by (namespace) (rate(${w}[$__rate_interval]) ${inZone})`), '{{namespace}}')],
      'currencyUSD',
      14,
      y + 1,
      10,
    ),
  ];
}

/** What to do about it: each host's cheaper paths, a month's saving net of their fixed fees. */
function cheaperPaths(sel: string, inZone: string, y: number): (Panel | RowPanel)[] {
  return [
    row('Cheaper paths', y),
    table(
      'Cheaper paths, dollars a month',
      "What each change would save a month at the last hour's rate, net of the new path's fixed fees (endpoint hours × zones, a NAT gateway's hours); only changes worth their fees at this rate are here (the page at / lists the others, with their break-even). gateway_endpoint: S3/DynamoDB through a NAT gateway; interface_endpoint: another AWS service through a NAT gateway; nat_same_zone: a NAT gateway in the hosts' zone; private_address: a public or Elastic IP of this VPC or a peer; zone_cache: an in-region public service pulled (a mirror); zone_local: cross-zone traffic that could stay in a zone. The page at / says what to do for each.",
      `sort_desc(730 * sum by (instance, suggestion, remote) (aztraffic_savings_dollars_per_hour{${sel}} ${inZone}))`,
      'currencyUSD',
      0,
      y + 1,
      24,
      [{ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: 'dollars a month' } } }],
      true,
    ),
  ];
}

function q(expr: string, legendFormat = '', extra: Partial<PromQuery> = {}): PromQuery {
  return { refId: 'A', datasource: DS, expr, legendFormat, range: true, ...extra };
}

function instant(expr: string): PromQuery {
  return { refId: 'A', datasource: DS, expr, instant: true, range: false, format: 'table', legendFormat: '' };
}

let nextId = 1;
function panel(p: Omit<Panel, 'id' | 'datasource'> & { targets: PromQuery[] }): Panel {
  return { id: nextId++, datasource: DS, ...p };
}

type Defaults = NonNullable<Panel['fieldConfig']>['defaults'];

function decimalsOf(unit: string): number | undefined {
  if (unit.startsWith('currency')) return COST_DECIMALS;
  if (unit === 'percentunit') return 1;
  return undefined;
}

function stat(title: string, description: string, expr: string, unit: string, x: number, y: number, w = 6, more: Partial<Defaults> = {}): Panel {
  return panel({
    type: 'stat',
    title,
    description,
    gridPos: { x, y, w, h: 4 },
    targets: [q(expr)],
    fieldConfig: { defaults: { unit, decimals: decimalsOf(unit) ?? 0, ...more }, overrides: [] },
    options: { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area' },
  });
}

/** Capture running: 1 up (green), 0 down (red); never a bare 1.00. */
const UP_DOWN: Partial<Defaults> = {
  mappings: [{ type: MappingType.ValueToText, options: { '0': { text: 'down', color: 'red', index: 0 }, '1': { text: 'up', color: 'green', index: 1 } } }],
  // Grafana's base step has no value (null in its JSON): it covers everything below the next
  thresholds: { mode: ThresholdsMode.Absolute, steps: [{ value: null as unknown as number, color: 'red' }, { value: 1, color: 'green' }] },
  color: { mode: FieldColorModeId.Thresholds },
};

/** Coverage: below 90% red, below 99% orange. */
const COVERAGE: Partial<Defaults> = {
  thresholds: { mode: ThresholdsMode.Absolute, steps: [{ value: null as unknown as number, color: 'red' }, { value: 0.9, color: 'orange' }, { value: 0.99, color: 'green' }] },
  color: { mode: FieldColorModeId.Thresholds },
  min: 0,
  max: 1,
};

function timeseries(title: string, description: string, targets: PromQuery[], unit: string, x: number, y: number, w = 12, stack = true): Panel {
  return panel({
    type: 'timeseries',
    title,
    description,
    gridPos: { x, y, w, h: 8 },
    targets,
    fieldConfig: {
      defaults: { unit, decimals: decimalsOf(unit), custom: { drawStyle: 'line', fillOpacity: stack ? 30 : 0, stacking: { mode: stack ? 'normal' : 'none', group: 'A' } } },
      overrides: [],
    },
    options: { legend: { displayMode: 'table', placement: 'right', calcs: ['mean', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } },
  });
}

/** The instance column of a table links to that host's drill-down. */
const INSTANCE_LINK = {
  matcher: { id: 'byName', options: 'instance' },
  properties: [{ id: 'links', value: [{ title: 'Host drill-down', url: `/d/${HOST_UID}?var-instance=\${__value.raw}&\${__url_time_range}` }] }],
};

function table(title: string, description: string, expr: string, unit: string, x: number, y: number, w: number, transformations: Panel['transformations'] = [], linkInstance = false): Panel {
  return panel({
    type: 'table',
    title,
    description,
    gridPos: { x, y, w, h: 9 },
    targets: [instant(expr)],
    fieldConfig: { defaults: { unit, decimals: decimalsOf(unit) ?? 2 }, overrides: linkInstance ? [INSTANCE_LINK] : [] },
    options: { showHeader: true, sortBy: [{ displayName: 'Value', desc: true }] },
    transformations,
  });
}

function datasourceVar(): VariableModel {
  return { type: 'datasource', name: 'datasource', label: 'Data source', query: 'prometheus', hide: 0 };
}

function queryVar(name: string, label: string, query: string, multi: boolean): VariableModel {
  return {
    type: 'query',
    name,
    label,
    datasource: DS,
    query: { query, refId: `${name}-var` },
    refresh: 2,
    multi,
    includeAll: multi,
    allValue: multi ? '.*' : undefined,
    hide: 0,
    sort: 1,
  };
}

function dashboard(uid: string, title: string, description: string, variables: VariableModel[], panels: (Panel | RowPanel)[], link: { title: string; uid: string }): Dashboard {
  return {
    uid,
    title,
    description,
    tags: ['aws', 'data-transfer', 'cost', 'az-traffic-exporter'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '1m',
    templating: { list: variables },
    annotations: { list: [] },
    // one link, to the other dashboard: a tag link would list this one too
    links: [{ title: link.title, type: 'link', url: `/d/${link.uid}`, tags: [], asDropdown: false, icon: 'dashboard', includeVars: true, keepTime: true, targetBlank: false, tooltip: '' }],
    panels,
  };
}

const clusterVar = (): VariableModel => queryVar('cluster', 'Cluster', 'label_values(aztraffic_build_info, cluster)', true);
const jobVar = (): VariableModel => queryVar('job', 'Job', 'label_values(aztraffic_build_info{cluster=~"$cluster"}, job)', true);

const ZONE_HELP =
  'Zones compare by zone ID: zone names differ between accounts, so a peered VPC\'s "us-east-1d" may be another zone than ours. Such a zone is labelled with its ID too, e.g. "us-east-1d (use1-az5)"; aztraffic_zone_info maps every label to its zone ID.';

export function overview(): Dashboard {
  nextId = 1;
  const bytes = `aztraffic_bytes_total{${SEL_ZONE}}`;
  return dashboard(
    OVERVIEW_UID,
    'AZ traffic: data transfer cost overview',
    'What data transfer costs, by billing category, bill line, zone pair and remote, across all hosts (and clusters) running az-traffic-exporter.',
    [datasourceVar(), clusterVar(), jobVar(), queryVar('instance', 'Instance', 'label_values(aztraffic_build_info{cluster=~"$cluster",job=~"$job"}, instance)', true), queryVar('zone', 'Zone', 'label_values(aztraffic_bytes_total{cluster=~"$cluster",job=~"$job"}, local_az)', true)],
    [
      stat('Dollars per hour', 'Priced data transfer of the selected hosts, now (5-minute rate), by category. NAT gateway and endpoint processing are in the "Bill lines" row.', `sum(instance:aztraffic_dollars_per_hour:rate5m{${SEL_ZONE}})`, 'currencyUSD', 0, 0),
      stat('Projected per month', 'Dollars per hour × 730 hours. Per host, before the account-wide free tier and volume discounts.', `730 * sum(instance:aztraffic_dollars_per_hour:rate5m{${SEL_ZONE}})`, 'currencyUSD', 6, 0),
      stat('Unclassified traffic', 'Bytes per second to private addresses in no known subnet: unpriced, not free. Find their subnets.', `sum(rate(aztraffic_bytes_total{${SEL_ZONE},category="unclassified"}[$__rate_interval])) or vector(0)`, 'Bps', 12, 0),
      stat(
        'Capture coverage',
        'Packets captured ÷ packets the kernel counted on the captured interfaces, of the hosts in the selected zones. Below 90% (red) the counts are low.',
        `sum(rate(aztraffic_capture_packets_total{${SEL}}[$__rate_interval]) ${IN_ZONE} ${UNFILTERED}) / sum(rate(aztraffic_interface_packets_total{${SEL}}[$__rate_interval]) ${IN_ZONE} ${UNFILTERED})`,
        'percentunit',
        18,
        0,
        6,
        COVERAGE,
      ),
      timeseries('Dollars per hour by category', 'Priced bytes per second × price × 3600, by billing category.', [q(`3600 * sum by (category) (rate(${bytes}[$__rate_interval]) ${PRICE_JOIN})`, '{{category}}')], 'currencyUSD', 0, 4),
      timeseries('Projected dollars per month by category', 'Dollars per hour × 730, by category.', [q(`730 * 3600 * sum by (category) (rate(${bytes}[$__rate_interval]) ${PRICE_JOIN})`, '{{category}}')], 'currencyUSD', 12, 4),
      timeseries('Bytes per second by category and direction', 'IP-layer bytes, as AWS bills them.', [q(`sum by (category, direction) (rate(${bytes}[$__rate_interval]))`, '{{category}} {{direction}}')], 'Bps', 0, 12),
      timeseries(
        'Capture coverage by host',
        'Captured ÷ seen by the kernel, per host and interface; below 100% the counts are low.',
        [q(`sum by (instance, interface) (rate(aztraffic_capture_packets_total{${SEL}}[$__rate_interval]) ${IN_ZONE} ${UNFILTERED}) / sum by (instance, interface) (rate(aztraffic_interface_packets_total{${SEL}}[$__rate_interval]) ${IN_ZONE} ${UNFILTERED})`, '{{instance}} {{interface}}')],
        'percentunit',
        12,
        12,
        12,
        false,
      ),
      table(
        'Top remotes by cost',
        'Remotes (the DNS name the host resolved, else the IP) by dollars per hour, per host; the instance links to its drill-down.',
        `topk(25, 3600 * sum by (instance, remote, port, category, path, remote_az) (rate(aztraffic_remote_dollars_total{${SEL}}[$__rate_interval]) ${IN_ZONE}))`,
        'currencyUSD',
        0,
        20,
        14,
        [{ id: 'organize', options: { excludeByName: { Time: true }, renameByName: { Value: 'dollars per hour', remote_az: 'remote zone' } } }],
        true,
      ),
      table('Cross-AZ bytes per second, zone to zone', `Rows: the zone of the host; columns: the zone of the remote. ${ZONE_HELP}`, `sum by (local_az, remote_az) (rate(aztraffic_bytes_total{${SEL_ZONE},category="cross_az"}[$__rate_interval]))`, 'Bps', 14, 20, 10, [
        { id: 'groupingToMatrix', options: { columnField: 'remote_az', rowField: 'local_az', valueField: 'Value' } },
      ]),
      timeseries('Decode errors by reason', 'Frames that could not be decoded; not counted as traffic.', [q(`sum by (reason) (rate(aztraffic_decode_errors_total{${SEL}}[$__rate_interval]) ${IN_ZONE})`, '{{reason}}')], 'pps', 0, 29, 24, false),
      ...billLines(SEL, IN_ZONE, 37),
      ...workloads(SEL, IN_ZONE, 46),
      ...cheaperPaths(SEL, IN_ZONE, 55),
    ],
    { title: 'Host drill-down', uid: HOST_UID },
  );
}

export function host(): Dashboard {
  nextId = 1;
  const HSEL = 'cluster=~"$cluster",job=~"$job",instance="$instance"';
  return dashboard(
    HOST_UID,
    'AZ traffic: host drill-down',
    'One host: what it pays for, to whom, through which zones, and whether its capture sees everything.',
    [datasourceVar(), clusterVar(), jobVar(), queryVar('instance', 'Instance', 'label_values(aztraffic_build_info{cluster=~"$cluster",job=~"$job"}, instance)', false)],
    [
      stat('Dollars per hour', 'This host, now (5-minute rate), by category; processing is in the "Bill lines" row.', `sum(instance:aztraffic_dollars_per_hour:rate5m{${HSEL}})`, 'currencyUSD', 0, 0),
      stat('Projected per month', 'Dollars per hour × 730 hours.', `sum(instance:aztraffic_dollars_per_month:projected{${HSEL}})`, 'currencyUSD', 6, 0),
      stat('Capture running', 'up while capture runs; down while it fails and is retried (aztraffic_capture_up).', `min(aztraffic_capture_up{${HSEL}})`, 'none', 12, 0, 6, UP_DOWN),
      stat('Topology age', 'Seconds since each topology source last loaded; the oldest is shown.', `max(time() - aztraffic_topology_last_success_timestamp_seconds{${HSEL}})`, 's', 18, 0),
      timeseries('Dollars per hour by category and direction', 'Each host bills its own side.', [q(`3600 * sum by (category, direction) (rate(aztraffic_bytes_total{${HSEL}}[$__rate_interval]) ${PRICE_JOIN})`, '{{category}} {{direction}}')], 'currencyUSD', 0, 4),
      timeseries('Bytes per second by category and direction', 'IP-layer bytes.', [q(`sum by (category, direction) (rate(aztraffic_bytes_total{${HSEL}}[$__rate_interval]))`, '{{category}} {{direction}}')], 'Bps', 12, 4),
      table('Top remotes by cost', 'Dollars per hour by remote, service port and network path: the sum of the bill lines of its bytes (a NAT gateway\'s processing included).', `topk(25, 3600 * sum by (remote, port, category, path, remote_az, direction) (rate(aztraffic_remote_dollars_total{${HSEL}}[$__rate_interval])))`, 'currencyUSD', 0, 12, 12),
      table('Top remotes by bytes', 'All categories, priced or not (internal and unclassified included).', `topk(25, sum by (remote, port, category, remote_az, direction) (rate(aztraffic_remote_bytes_total{${HSEL}}[$__rate_interval])))`, 'Bps', 12, 12, 12),
      table('Bytes per second by zone pair', `Local zone, remote zone, category. ${ZONE_HELP}`, `sum by (local_az, remote_az, category) (rate(aztraffic_bytes_total{${HSEL}}[$__rate_interval]))`, 'Bps', 0, 21, 12),
      timeseries('Captured vs seen by the kernel', 'Packets per second captured, and counted by the kernel on the interface.', [
        q(`sum by (interface) (rate(aztraffic_capture_packets_total{${HSEL}}[$__rate_interval]))`, 'captured {{interface}}'),
        { ...q(`sum by (interface) (rate(aztraffic_interface_packets_total{${HSEL}}[$__rate_interval]))`, 'kernel {{interface}}'), refId: 'B' },
      ], 'pps', 12, 21, 12, false),
      timeseries('Decode errors and other frames', 'Decode errors by reason, non-IP frames, and packets with no local side.', [
        q(`sum by (reason) (rate(aztraffic_decode_errors_total{${HSEL}}[$__rate_interval]))`, '{{reason}}'),
        { ...q(`sum(rate(aztraffic_non_ip_packets_total{${HSEL}}[$__rate_interval]))`, 'not IP'), refId: 'B' },
      ], 'pps', 0, 30, 24, false),
      ...billLines(HSEL, '', 38),
      ...workloads(HSEL, '', 47),
    ],
    { title: 'Overview of all hosts', uid: OVERVIEW_UID },
  );
}

/**
 * The fleet: what the long-term store receives from every cluster's Prometheus (prometheus/fleet-rules.yml
 * through prometheus/remote-write.yml), a few hundred series per cluster whatever its number of nodes.
 */
export function fleet(): Dashboard {
  nextId = 1;
  const C = 'cluster=~"$cluster"';
  return dashboard(
    'az-traffic-fleet',
    'AZ traffic: fleet',
    'Every cluster, from the per-cluster aggregates of fleet-rules.yml (what remote-write.yml sends to Thanos, Mimir or Amazon Managed Service for Prometheus).',
    [datasourceVar(), queryVar('cluster', 'Cluster', 'label_values(cluster:aztraffic_hosts:count, cluster)', true)],
    [
      stat('Data transfer, dollars per hour', 'All selected clusters, priced by category (5-minute rate).', `sum(cluster_zone:aztraffic_dollars_per_hour:rate5m{${C}})`, 'currencyUSD', 0, 0),
      stat('Bill lines, dollars per hour', 'All usage types, NAT gateway, endpoint and Transit Gateway processing included.', `sum(cluster:aztraffic_usage_dollars_per_hour:rate5m{${C}})`, 'currencyUSD', 6, 0),
      stat('Hosts', 'Exporters reporting, over the selected clusters.', `sum(cluster:aztraffic_hosts:count{${C}})`, 'none', 12, 0),
      stat('Capture coverage, worst cluster', 'Captured ÷ seen by the kernel; below 90% (red) a cluster\'s counts are low.', `min(cluster:aztraffic_capture_coverage:ratio5m{${C}})`, 'percentunit', 18, 0, 6, COVERAGE),
      timeseries('Dollars per hour by cluster and category', 'Data transfer priced by category.', [q(`sum by (cluster, category) (cluster_zone:aztraffic_dollars_per_hour:rate5m{${C}})`, '{{cluster}} {{category}}')], 'currencyUSD', 0, 4),
      timeseries('Bill lines by cluster', 'Dollars per hour by usage type, as the bill names them.', [q(`sum by (cluster, usage_type) (cluster:aztraffic_usage_dollars_per_hour:rate5m{${C}})`, '{{cluster}} {{usage_type}}')], 'currencyUSD', 12, 4),
      table('Top remotes by cost, per cluster', 'The 25 costliest remotes of each cluster over all its hosts.', `cluster:aztraffic_remote_dollars_per_hour:top25{${C}}`, 'currencyUSD', 0, 12, 14, [
        { id: 'organize', options: { excludeByName: { Time: true, __name__: true }, renameByName: { Value: 'dollars per hour', remote_az: 'remote zone' } } },
      ]),
      table('Zone pairs, dollars per hour', `By cluster, local and remote zone. ${ZONE_HELP}`, `sum by (cluster, local_az, remote_az) (cluster_zone:aztraffic_dollars_per_hour:rate5m{${C}})`, 'currencyUSD', 14, 12, 10),
    ],
    { title: 'Overview of the hosts (needs the raw series)', uid: OVERVIEW_UID },
  );
}

export const DASHBOARDS: Record<string, () => Dashboard> = { 'overview.json': overview, 'host.json': host, 'fleet.json': fleet };

export function render(d: Dashboard): string {
  return JSON.stringify(d, null, 2) + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'grafana', 'dashboards');
  for (const [file, make] of Object.entries(DASHBOARDS)) writeFileSync(join(dir, file), render(make()));
  console.log(`wrote ${Object.keys(DASHBOARDS).join(', ')} to ${dir}`);
}
