// End to end: the exporter's demo (and a live exporter on loopback) → a real Prometheus with the rules
// → a real Alertmanager → a webhook here, which must receive the regional_public alert naming the apt
// mirror. The same Prometheus then answers every dashboard panel's query.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Panel, RowPanel } from '@grafana/schema';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { renderReconciliation } from '../src/commands/reconcile.js';
import { readCur } from '../src/reconcile/cur.js';
import { DASHBOARDS, fleet, host, overview, render, type PromQuery } from '../scripts/make-dashboards.js';
import { CLI, freePort, runCli, tempDir } from './helpers.js';
import { until, waitForOutput } from './netns.js';

const ROOT = join(import.meta.dirname, '..');
const dir = tempDir();
const children: ChildProcess[] = [];
let webhook: Server;
const received: { alerts: { labels: Record<string, string>; annotations: Record<string, string>; status: string }[] }[] = [];
let promUrl = '';
let demoTarget = '';
let liveTarget = '';


function start(cmd: string, args: string[]): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  return c;
}

/** The shipped rules with every `for:` shortened, so that the test is bounded in time. */
function shortRules(file: string): string {
  const doc = YAML.parse(readFileSync(join(ROOT, 'prometheus', file), 'utf8')) as { groups: { rules: { for?: string }[] }[] };
  for (const g of doc.groups) for (const r of g.rules) if (r.for) r.for = '0s';
  const out = join(dir, file);
  writeFileSync(out, YAML.stringify(doc));
  return out;
}

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as {
    status: string;
    error?: string;
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (r.status !== 'success') throw new Error(`${expr}: ${r.error}`);
  return r.data.result;
}

beforeAll(async () => {
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', () => r()));
  const hookPort = (webhook.address() as AddressInfo).port;

  const [demoPort, livePort, promPort, amPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  demoTarget = `127.0.0.1:${demoPort}`;
  liveTarget = `127.0.0.1:${livePort}`;
  const demo = start(process.execPath, [CLI, 'demo', '--web.listen-address', demoTarget]);
  // a live exporter on loopback gives the capture and interface metrics the demo has not
  const live = start(process.execPath, [CLI, '--interface', 'lo', '--web.listen-address', liveTarget, '--web.shutdown-grace', '0']);
  await Promise.all([waitForOutput(demo, /serving metrics/), waitForOutput(live, /serving metrics/)]);

  const amCfg = join(dir, 'alertmanager.yml');
  writeFileSync(
    amCfg,
    YAML.stringify({
      route: { receiver: 'hook', group_by: ['alertname', 'instance'], group_wait: '1s', group_interval: '1s', repeat_interval: '1h' },
      receivers: [{ name: 'hook', webhook_configs: [{ url: `http://127.0.0.1:${hookPort}/`, send_resolved: false }] }],
    }),
  );
  mkdirSync(join(dir, 'am'));
  const am = start('prometheus-alertmanager', [`--config.file=${amCfg}`, `--storage.path=${join(dir, 'am')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address=']);
  await waitForOutput(am, /Listening/i, 30_000);

  const promCfg = join(dir, 'prometheus.yml');
  writeFileSync(
    promCfg,
    YAML.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: [shortRules('rules.yml'), shortRules('alerts.yml'), join(ROOT, 'prometheus', 'fleet-rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      // two clusters, as a fleet's central store sees them: the dashboards' cluster variable must work
      scrape_configs: [
        {
          job_name: 'az-traffic-exporter',
          static_configs: [
            { targets: [demoTarget], labels: { cluster: 'demo' } },
            { targets: [liveTarget], labels: { cluster: 'loopback' } },
          ],
        },
      ],
    }),
  );
  mkdirSync(join(dir, 'prom'));
  const prom = start('prometheus', [`--config.file=${promCfg}`, `--storage.tsdb.path=${join(dir, 'prom')}`, `--web.listen-address=127.0.0.1:${promPort}`]);
  await waitForOutput(prom, /Server is ready to receive web requests/, 30_000);
  promUrl = `http://127.0.0.1:${promPort}`;
}, 90_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await new Promise((r) => webhook?.close(r));
});

describe('alerting end to end', () => {
  it('Alertmanager delivers the regional_public alert, naming the apt mirror as the top remote', async () => {
    const alert = await until(
      'the webhook receives AzTrafficRegionalPublicTraffic',
      async () => received.flatMap((n) => n.alerts).find((a) => a.labels.alertname === 'AzTrafficRegionalPublicTraffic'),
      60_000,
      500,
    );
    expect(alert.status).toBe('firing');
    expect(alert.labels.instance).toBe(demoTarget);
    expect(alert.annotations.description).toMatch(/Top remote: us-east-1\.ec2\.archive\.ubuntu\.com port 80 \(/);
    expect(alert.annotations.runbook_url).toMatch(/docs\/alerting\.md#aztrafficregionalpublictraffic$/);
    // the runbook section exists
    expect(readFileSync(join(ROOT, 'docs', 'alerting.md'), 'utf8')).toMatch(/^### AzTrafficRegionalPublicTraffic$/m);
  }, 70_000);
});

describe('dollars per remote and workload are the sum of their bill lines', () => {
  it("the demo host behind its NAT gateway: the rules' remote and workload dollars add up to its bill lines' dollars", async () => {
    const one = async (expr: string): Promise<number | undefined> => {
      const r = await query(expr);
      return r.length === 1 ? Number(r[0].value[1]) : undefined;
    };
    const at = `instance="${demoTarget}"`;
    // the counters, at one scrape: the dollars the exporter counted per remote and per workload are the
    // bill lines' bytes at their prices, to the last digits (retried where an evaluation fell between two)
    const counted = await until(
      'the demo has counted dollars',
      async () => {
        const [bill, remotes, workloads] = await Promise.all([
          one(`sum(aztraffic_usage_bytes_total{${at}} * on (job, instance, usage_type) group_left aztraffic_usage_price_dollars_per_byte{${at}})`),
          one(`sum(aztraffic_remote_dollars_total{${at}})`),
          one(`sum(aztraffic_workload_dollars_total{${at}})`),
        ]);
        if (!bill || !remotes || !workloads) return undefined;
        return Math.abs(remotes - bill) <= 1e-9 * bill && Math.abs(workloads - bill) <= 1e-9 * bill ? { bill, remotes, workloads } : undefined;
      },
      60_000,
      500,
    );
    expect(counted.remotes).toBeCloseTo(counted.bill, 12);
    // the rules over them: rates of the same counters, equal but for how rate() extrapolates a series
    // born inside its window (the demo's remotes appear over its first half minute): within 0.1%
    const rules = await until(
      'the rules have rates',
      async () => {
        const [bill, remotes, workloads, nat] = await Promise.all([
          one(`sum(instance:aztraffic_usage_dollars_per_hour:rate5m{${at}})`),
          one(`sum(remote:aztraffic_dollars_per_hour:rate5m{${at}})`),
          one(`sum(workload:aztraffic_dollars_per_hour:rate5m{${at}})`),
          one(`sum(instance:aztraffic_usage_dollars_per_hour:rate5m{${at},usage_type="NatGateway-Bytes"})`),
        ]);
        return bill && remotes && workloads && nat ? { bill, remotes, workloads, nat } : undefined;
      },
      60_000,
      500,
    );
    expect(Math.abs(rules.remotes / rules.bill - 1)).toBeLessThan(1e-3);
    expect(Math.abs(rules.workloads / rules.bill - 1)).toBeLessThan(1e-3);
    // NAT processing is a large part of the demo's bill: a category price alone would leave it out
    expect(rules.nat / rules.bill).toBeGreaterThan(0.3);
    // the page: its remote and workload rows (all of the demo's priced ones are in its top ten) add up to
    // its headline, the bill lines' dollars per hour
    const page = (await (await fetch(`http://${demoTarget}/api/v1/summary`)).json()) as { dollars_per_hour: number; remotes: { dollars_per_hour: number | null }[]; workloads: { dollars_per_hour: number | null }[] };
    const rows = (list: { dollars_per_hour: number | null }[]): number => list.reduce((x, r) => x + (r.dollars_per_hour ?? 0), 0);
    expect(page.dollars_per_hour).toBeGreaterThan(0);
    expect(Math.abs(rows(page.remotes) / page.dollars_per_hour - 1)).toBeLessThan(1e-9);
    expect(Math.abs(rows(page.workloads) / page.dollars_per_hour - 1)).toBeLessThan(1e-9);
  }, 130_000);
});

const isPanel = (p: Panel | RowPanel): p is Panel => p.type !== 'row';

describe('dashboards', () => {
  it('the committed dashboards are what scripts/make-dashboards.ts generates (typed by @grafana/schema)', () => {
    for (const [file, make] of Object.entries(DASHBOARDS)) {
      expect(readFileSync(join(ROOT, 'grafana', 'dashboards', file), 'utf8'), `${file}: run npx tsx scripts/make-dashboards.ts`).toBe(render(make()));
    }
  });

  it('follow Grafana conventions: datasource variable, units, $__rate_interval', () => {
    for (const make of Object.values(DASHBOARDS)) {
      const d = make();
      expect(d.templating?.list?.[0]).toMatchObject({ type: 'datasource', name: 'datasource', query: 'prometheus' });
      for (const p of (d.panels ?? []).filter(isPanel)) {
        expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
        expect(p.fieldConfig?.defaults?.unit, p.title).toBeTruthy();
        for (const t of (p.targets ?? []) as PromQuery[]) {
          for (const m of t.expr.matchAll(/\b(?:rate|increase)\([^[]*\[([^\]]+)\]/g)) expect(m[1], `${p.title}: ${t.expr}`).toBe('$__rate_interval');
        }
      }
    }
  });

  it('every variable filters every panel; cost panels show enough decimals for one host; health reads up/down and red below 90%', () => {
    for (const [file, make] of Object.entries(DASHBOARDS)) {
      const d = make();
      const vars = (d.templating?.list ?? []).map((v) => v.name).filter((n) => n !== 'datasource');
      for (const p of (d.panels ?? []).filter(isPanel)) {
        for (const t of (p.targets ?? []) as PromQuery[]) for (const v of vars) expect(t.expr, `${file} / ${p.title} is filtered by $${v}`).toContain(`$${v}`);
        const unit = p.fieldConfig?.defaults?.unit ?? '';
        if (unit.startsWith('currency')) expect(p.fieldConfig?.defaults?.decimals, `${file} / ${p.title}`).toBeGreaterThanOrEqual(3);
        if (/cost|dollars/i.test(p.title ?? '')) expect(unit, `${file} / ${p.title} has a currency unit`).toMatch(/^currency/);
      }
    }
    const running = host().panels!.filter(isPanel).find((p) => p.title === 'Capture running')!;
    expect(running.fieldConfig!.defaults!.mappings).toEqual([expect.objectContaining({ options: { '0': expect.objectContaining({ text: 'down', color: 'red' }), '1': expect.objectContaining({ text: 'up', color: 'green' }) } })]);
    const coverage = overview().panels!.filter(isPanel).find((p) => p.title === 'Capture coverage')!;
    expect(coverage.fieldConfig!.defaults!.thresholds!.steps).toEqual([expect.objectContaining({ color: 'red' }), { value: 0.9, color: 'orange' }, { value: 0.99, color: 'green' }]);
  });

  it('links go where they say: overview ↔ host, and each top-remotes instance to its host', () => {
    expect(overview().links).toEqual([expect.objectContaining({ type: 'link', url: `/d/${host().uid}`, includeVars: true })]);
    expect(host().links).toEqual([expect.objectContaining({ type: 'link', url: `/d/${overview().uid}` })]);
    expect(fleet().links).toEqual([expect.objectContaining({ type: 'link', url: `/d/${overview().uid}` })]);
    const top = overview().panels!.filter(isPanel).find((p) => p.title === 'Top remotes by cost')!;
    expect((top.targets![0] as PromQuery).expr).toMatch(/sum by \(instance, remote,/);
    expect(JSON.stringify(top.fieldConfig!.overrides)).toContain(`/d/${host().uid}?var-instance=\${__value.raw}`);
  });

  it('every panel query returns data from Prometheus fed by the exporters', async () => {
    // the recording rules and the rates need a few scrapes first
    await until('recording rules have data', async () => ((await query('instance:aztraffic_dollars_per_hour:rate5m')).length > 0 ? true : undefined), 60_000, 500);
    await until('live exporter has interface counters', async () => ((await query('rate(aztraffic_interface_packets_total[1m])')).length > 0 ? true : undefined), 60_000, 500);
    const failures: string[] = [];
    for (const [file, make] of Object.entries(DASHBOARDS)) {
      for (const p of (make().panels ?? []).filter(isPanel)) {
        for (const t of (p.targets ?? []) as PromQuery[]) {
          // multi-value variables stand for all hosts; the single-host dashboard is tried on each host
          const instances = t.expr.includes('instance="$instance"') ? [demoTarget, liveTarget] : ['.*'];
          let ok = false;
          for (const inst of instances) {
            const expr = t.expr
              .replaceAll('$__rate_interval', '1m')
              .replaceAll('$cluster', '.*')
              .replaceAll('$job', 'az-traffic-exporter')
              .replaceAll('$instance', inst)
              .replaceAll('$zone', '.*');
            if ((await query(expr)).length > 0) ok = true;
          }
          if (!ok) failures.push(`${file} / ${p.title}: ${t.expr}`);
        }
      }
      for (const v of make().templating?.list ?? []) {
        const qv = v.query as { query?: string } | string | undefined;
        const text = typeof qv === 'object' ? qv.query : undefined;
        const m = text ? /^label_values\((.*),\s*(\w+)\)$/.exec(text.replaceAll('$job', 'az-traffic-exporter').replaceAll('$cluster', '.*')) : null;
        if (m && (await query(`count by (${m[2]}) (${m[1]})`)).length === 0) failures.push(`${file} / variable ${v.name}: ${text}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

interface Reconciliation {
  line_items: number;
  network_line_items: number;
  rows: { usage_type: string; billed_as: string[]; bill_gb: number; measured_gb: number; coverage_percent: number | null; bill_cost: number | null }[];
  not_measured: { usage_type: string; amount: number; unit: string; why: string }[];
}


describe('reconcile: a CUR export beside what Prometheus measured', () => {
  it('CUR 2.0 Parquet, legacy CSV.gz and CSV: bill GB, measured GB and coverage per usage type; unmeasurable lines apart', async () => {
    await until('the demo has a few scrapes of usage bytes', async () => ((await query('count_over_time(aztraffic_usage_bytes_total{usage_type="NatGateway-Bytes"}[1h]) >= 12')).length > 0 ? true : undefined), 60_000, 500);
    // a fixed end a little in the past: every scrape up to it is stored, so both sides see the same data
    const end = Math.floor(Date.now() / 1000) - 5;
    const range = 3600;
    const res = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(`sum by (usage_type) (increase(aztraffic_usage_bytes_total[${range}s]))`)}&time=${end}`)).json()) as {
      data: { result: { metric: { usage_type: string }; value: [number, string] }[] };
    };
    const measuredGb = new Map(res.data.result.map((r) => [r.metric.usage_type, Number(r.value[1]) / 2 ** 30]));
    const nat = measuredGb.get('NatGateway-Bytes')!;
    const regional = measuredGb.get('DataTransfer-Regional-Bytes')!;
    expect(nat, JSON.stringify(res)).toBeGreaterThan(0);

    const inRange = new Date((end - 600) * 1000);
    const before = new Date((end - 2 * range) * 1000);
    // CUR 2.0 (Data Exports) Parquet: the NAT gateway's bytes billed twice what this one exporter saw
    // (a second host without the exporter), in two line items; one hour of the NAT gateway; an EC2
    // instance hour and a tax line (not network usage); a line before the range
    const cur2 = join(dir, 'cur2.parquet');
    const rows: [string, number, Date, number, string, string, string][] = [
      ['NatGateway-Bytes', nat, inRange, nat * 0.045, 'Usage', 'GB', 'AmazonEC2'],
      ['NatGateway-Bytes', nat, inRange, nat * 0.045, 'Usage', 'GB', 'AmazonEC2'],
      ['NatGateway-Hours', 1, inRange, 0.045, 'Usage', 'Hrs', 'AmazonEC2'],
      ['BoxUsage:m7g.large', 1, inRange, 0.0816, 'Usage', 'Hrs', 'AmazonEC2'],
      ['NatGateway-Bytes', 0.5, inRange, 0.01, 'Tax', 'GB', 'AmazonEC2'],
      ['NatGateway-Bytes', 1000, before, 45, 'Usage', 'GB', 'AmazonEC2'],
      // and lines from --end on (the hour that begins at --end, and half a day later): not in the range
      ['NatGateway-Bytes', 700, new Date(end * 1000), 31.5, 'Usage', 'GB', 'AmazonEC2'],
      ['NatGateway-Bytes', 500, new Date((end + 12 * 3600) * 1000), 22.5, 'Usage', 'GB', 'AmazonEC2'],
      // CloudFront's edges bill under EC2-like names: never mixed with the hosts' internet egress
      ['EU-DataTransfer-Out-Bytes', 3, inRange, 0.255, 'Usage', 'GB', 'AmazonCloudFront'],
    ];
    writeFileSync(
      cur2,
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: 'line_item_usage_type', data: rows.map((r) => r[0]), type: 'STRING' },
            { name: 'line_item_usage_amount', data: rows.map((r) => r[1]), type: 'DOUBLE' },
            { name: 'line_item_usage_start_date', data: rows.map((r) => r[2]), type: 'TIMESTAMP' },
            { name: 'line_item_unblended_cost', data: rows.map((r) => r[3]), type: 'DOUBLE' },
            { name: 'line_item_line_item_type', data: rows.map((r) => r[4]), type: 'STRING' },
            { name: 'pricing_unit', data: rows.map((r) => r[5]), type: 'STRING' },
            { name: 'line_item_product_code', data: rows.map((r) => r[6]), type: 'STRING' },
          ],
        }),
      ),
    );
    // legacy CUR, gzip'd CSV: us-east-1's regional line written without its region code, as the CUR does
    const csvHeader = 'identity/LineItemId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageType,lineItem/UsageAmount,lineItem/UnblendedCost,pricing/unit\n';
    const legacyGz = join(dir, 'cur-legacy.csv.gz');
    writeFileSync(legacyGz, gzipSync(csvHeader + `a1,Usage,${inRange.toISOString()},DataTransfer-Regional-Bytes,${regional * 4},${regional * 4 * 0.01},GB\n`));
    // and plain CSV: Transit Gateway bytes that no exporter measured
    const legacy = join(dir, 'cur-legacy.csv');
    writeFileSync(legacy, csvHeader + `b1,Usage,${inRange.toISOString()},TransitGateway-Bytes,12.5,0.25,GB\n`);

    const r = await runCli(['reconcile', '--cur', cur2, '--cur', `${legacyGz},${legacy}`, '--prometheus', promUrl, '--range', '1h', '--end', String(end), '--format', 'json']);
    expect(r.status, r.stderr).toBe(0);
    const rec = JSON.parse(r.stdout) as Reconciliation;
    expect(rec.line_items).toBe(11);
    expect(rec.network_line_items).toBe(6);
    const row = (u: string) => rec.rows.find((x) => x.usage_type === u)!;
    expect(row('NatGateway-Bytes').bill_gb).toBeCloseTo(2 * nat, 12);
    expect(row('NatGateway-Bytes').measured_gb).toBeCloseTo(nat, 12);
    expect(row('NatGateway-Bytes').coverage_percent).toBeCloseTo(50, 9);
    expect(row('NatGateway-Bytes').bill_cost).toBeCloseTo(2 * nat * 0.045, 12);
    expect(row('DataTransfer-Regional-Bytes').coverage_percent).toBeCloseTo(25, 9);
    expect(row('DataTransfer-Regional-Bytes').billed_as).toEqual(['DataTransfer-Regional-Bytes']);
    expect(row('TransitGateway-Bytes')).toMatchObject({ bill_gb: 12.5, measured_gb: 0, coverage_percent: 0 });
    // measured, not (yet) in this bill: coverage cannot be said
    expect(row('DataTransfer-Out-Bytes')).toMatchObject({ bill_gb: 0, coverage_percent: null });
    expect(rec.not_measured).toEqual([
      { account: '', region: '', product: 'AmazonCloudFront', usage_type: 'EU-DataTransfer-Out-Bytes', amount: 3, unit: 'GB', bill_cost: 0.255, why: "CloudFront's edges sending: not these hosts' bytes" },
      { account: '', region: '', product: 'AmazonEC2', usage_type: 'NatGateway-Hours', amount: 1, unit: 'Hrs', bill_cost: 0.045, why: 'NAT gateway hours: no bytes to measure' },
    ]);

    const t = await runCli(['reconcile', '--cur', cur2, '--cur', legacyGz, '--cur', legacy, '--prometheus', promUrl, '--range', '1h', '--end', String(end)]);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^NatGateway-Bytes +all +[\d.]+ +[\d.]+ +50\.0% /m);
    expect(t.stdout).toMatch(/measured nothing for: TransitGateway-Bytes/);
    expect(t.stdout).toMatch(/NOT MEASURED BY THE EXPORTER.*\nACCOUNT +REGION +PRODUCT +USAGE TYPE +AMOUNT +UNIT +BILL \$ +WHY\n- +- +AmazonCloudFront +EU-DataTransfer-Out-Bytes +3 +GB +0\.2550 +CloudFront's edges sending.*\n- +- +AmazonEC2 +NatGateway-Hours +1 +Hrs +0\.0450 +NAT gateway hours/);
    // nothing dropped: the instance hour is counted as not network, the tax line beside the usage
    expect(t.stdout).toMatch(/^NOT NETWORK/m);
    expect(t.stdout).toMatch(/^- +Tax +0\.0100$/m);
  }, 90_000);

  it("a real bill's shape (two accounts, two regions, many services, resource IDs, tax, a credit, a discount), as CUR 2.0 and as FOCUS: each of the host's lines explained to the cent, every other line listed, the total whole", async () => {
    await until('the demo has a few scrapes of usage bytes', async () => ((await query('count_over_time(aztraffic_usage_bytes_total{usage_type="NatGateway-Bytes"}[1h]) >= 12')).length > 0 ? true : undefined), 60_000, 500);
    const end = Math.floor(Date.now() / 1000) - 5;
    // what the demo host measured over the hour, per usage type (its identity from aztraffic_host_info)
    const res = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(`sum by (usage_type) (increase(aztraffic_usage_bytes_total{instance="${demoTarget}"}[3600s]))`)}&time=${end}`)).json()) as {
      data: { result: { metric: { usage_type: string }; value: [number, string] }[] };
    };
    const gbOf = new Map(res.data.result.map((r) => [r.metric.usage_type, Number(r.value[1]) / 2 ** 30]));
    const HOST = 'i-0demo0000000001';
    const ENI = 'eni-0demo0000000001';
    const A = '111122223333';
    const B = '444455556666';
    const at = new Date((end - 600) * 1000);
    type Line = { account: string; region: string; product: string; type: string; usage: string; amount: number; unit: string; cost: number; list: number; resource: string };
    const use = (account: string, region: string, product: string, usage: string, amount: number, rate: number, resource: string, unit = 'GB'): Line => ({ account, region, product, type: 'Usage', usage, amount, unit, cost: amount * rate, list: amount * rate, resource });
    const lines: Line[] = [
      // the demo host's own lines, per resource as Networking Flexible Cost Allocation gives them: its
      // NAT gateway processing on the instance, its regional transfer half on the instance and half on its
      // ENI, billed with an EDP discount on the list price
      use(A, 'us-east-1', 'AmazonEC2', 'NatGateway-Bytes', gbOf.get('NatGateway-Bytes')!, 0.045, HOST),
      use(A, 'us-east-1', 'AWSDataTransfer', 'DataTransfer-Regional-Bytes', gbOf.get('DataTransfer-Regional-Bytes')! / 2, 0.01, HOST),
      use(A, 'us-east-1', 'AWSDataTransfer', 'DataTransfer-Regional-Bytes', gbOf.get('DataTransfer-Regional-Bytes')! / 2, 0.01, ENI),
      // its internet egress, 1 GB more than it sent: a cent of difference, not explained
      use(A, 'us-east-1', 'AWSDataTransfer', 'DataTransfer-Out-Bytes', gbOf.get('DataTransfer-Out-Bytes')! + 1, 0.09, HOST),
      use(A, 'us-east-1', 'AWSDataTransfer', 'USE1-EU-AWS-Out-Bytes', gbOf.get('USE1-EU-AWS-Out-Bytes')!, 0.02, HOST),
      // the NAT gateway's lines for hosts without an exporter, under its own ARN
      use(A, 'us-east-1', 'AmazonEC2', 'NatGateway-Bytes', 2, 0.045, `arn:aws:ec2:us-east-1:${A}:natgateway/nat-0demo`),
      use(A, 'us-east-1', 'AmazonEC2', 'NatGateway-Hours', 720, 0.045, `arn:aws:ec2:us-east-1:${A}:natgateway/nat-0demo`, 'Hrs'),
      // other services' own transfer under the same usage type names: never a host's
      use(A, 'us-east-1', 'AmazonS3', 'DataTransfer-Out-Bytes', 1000, 0.09, 'my-bucket'),
      use(A, 'us-east-1', 'AWSELB', 'DataTransfer-Out-Bytes', 2000, 0.09, `arn:aws:elasticloadbalancing:us-east-1:${A}:loadbalancer/app/web/50dc`),
      use(A, 'us-east-1', 'AWSELB', 'LCUUsage', 300, 0.008, `arn:aws:elasticloadbalancing:us-east-1:${A}:loadbalancer/app/web/50dc`, 'LCU-Hrs'),
      // a Classic Load Balancer's processing: a path line no measured host's
      use(A, 'us-east-1', 'AWSELB', 'DataProcessing-Bytes', 40, 0.008, `arn:aws:elasticloadbalancing:us-east-1:${A}:loadbalancer/classic-web`),
      use(A, 'us-east-1', 'AmazonVPC', 'VPN-Usage-Hours:ipsec.1', 720, 0.05, 'vpn-0a1b', 'Hrs'),
      use(A, 'us-east-1', 'AmazonVPC', 'PublicIPv4:InUseAddress', 720, 0.005, 'eipalloc-0a1b', 'Hrs'),
      use(A, 'us-east-1', 'AWSDirectConnect', 'USE1-EqDC2-DataXfer-Out', 500, 0.02, 'dxcon-0a1b'),
      use(A, 'us-east-1', 'AmazonCloudFront', 'US-DataTransfer-Out-Bytes', 50, 0.085, 'E1CDN'),
      use(A, 'us-east-1', 'AmazonEC2', 'BoxUsage:m7g.large', 720, 0.0816, HOST, 'Hrs'),
      use(A, 'us-east-1', 'AmazonEC2', 'EBS:VolumeUsage.gp3', 100, 0.08, 'vol-0a1b', 'GB-Mo'),
      // the second account, in Oregon: a host without an exporter, and its inter-region transfer
      use(B, 'us-west-2', 'AWSDataTransfer', 'USW2-DataTransfer-Regional-Bytes', 50, 0.01, 'i-0other'),
      use(B, 'us-west-2', 'AWSDataTransfer', 'USW2-USE1-AWS-Out-Bytes', 10, 0.02, 'i-0other'),
      use(B, 'us-west-2', 'AmazonEC2', 'USW2-BoxUsage:c7g.xlarge', 720, 0.145, 'i-0other', 'Hrs'),
      // tax, a credit and an EDP discount: beside the usage, not in it
      { account: A, region: 'us-east-1', product: 'AmazonEC2', type: 'Tax', usage: 'NatGateway-Bytes', amount: 0, unit: '', cost: 1.23, list: 0, resource: '' },
      { account: A, region: '', product: 'AmazonEC2', type: 'Credit', usage: '', amount: 0, unit: '', cost: -5, list: 0, resource: '' },
      { account: B, region: '', product: 'AmazonEC2', type: 'EdpDiscount', usage: '', amount: 0, unit: '', cost: -2.5, list: 0, resource: '' },
    ];
    const total = lines.reduce((x, l) => x + l.cost, 0);
    const cur2 = join(dir, 'cur2-real.parquet');
    const col = (name: string, f: (l: Line) => unknown, type: 'STRING' | 'DOUBLE' | 'TIMESTAMP') => ({ name, data: lines.map(f), type });
    writeFileSync(
      cur2,
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            col('line_item_usage_account_id', (l) => l.account, 'STRING'),
            col('product_region_code', (l) => l.region, 'STRING'),
            col('line_item_product_code', (l) => l.product, 'STRING'),
            col('line_item_line_item_type', (l) => l.type, 'STRING'),
            col('line_item_usage_type', (l) => l.usage, 'STRING'),
            col('line_item_usage_amount', (l) => l.amount, 'DOUBLE'),
            col('pricing_unit', (l) => l.unit, 'STRING'),
            col('line_item_unblended_cost', (l) => l.cost, 'DOUBLE'),
            col('pricing_public_on_demand_cost', (l) => l.list, 'DOUBLE'),
            col('line_item_resource_id', (l) => l.resource, 'STRING'),
            col('line_item_usage_start_date', () => at, 'TIMESTAMP'),
          ],
        }),
      ),
    );
    // the same bill as a FOCUS 1.0 export (CSV): ChargeCategory for the line types
    const focus = join(dir, 'focus.csv');
    const category = (t: string): string => (t === 'Usage' ? 'Usage' : t === 'Tax' ? 'Tax' : 'Credit');
    writeFileSync(
      focus,
      'BillingAccountId,SubAccountId,RegionId,x_ServiceCode,ChargeCategory,x_UsageType,ConsumedQuantity,ConsumedUnit,BilledCost,ListCost,ResourceId,ChargePeriodStart\n' +
        lines.map((l) => [A, l.account, l.region, l.product, category(l.type), l.usage, l.amount, l.unit, l.cost, l.list, l.resource, at.toISOString()].join(',')).join('\n') +
        '\n',
    );
    for (const file of [cur2, focus]) {
      const j = await runCli(['reconcile', '--cur', file, '--prometheus', promUrl, '--range', '1h', '--end', String(end), '--format', 'json']);
      expect(j.status, j.stderr).toBe(0);
      const r = JSON.parse(j.stdout) as import('../src/commands/reconcile.js').Reconciliation;
      const row = (account: string, usage: string) => r.rows.find((x) => x.account === account && x.usage_type === usage)!;
      // the host's lines: measured at the bill's own rate, to the cent (its instance and its ENI are one host)
      for (const usage of ['NatGateway-Bytes', 'DataTransfer-Regional-Bytes', 'USE1-EU-AWS-Out-Bytes']) {
        const host = row(A, usage).resources.find((x) => x.host === HOST)!;
        expect(host, `${file} ${usage}`).toBeDefined();
        expect(host.explained, `${file} ${usage}: ${JSON.stringify(host)}`).toBe(true);
        expect(Math.abs(host.difference!)).toBeLessThan(0.005);
      }
      // a cent more on the bill than the host sent: not explained, and the difference said
      const out = row(A, 'DataTransfer-Out-Bytes').resources.find((x) => x.host === HOST)!;
      expect(out.explained).toBe(false);
      expect(out.difference).toBeCloseTo(0.09, 6);
      // the NAT gateway's own lines (hosts without an exporter) by its id; the second account's lines its own
      expect(row(A, 'NatGateway-Bytes').resources.find((x) => x.resource === 'nat-0demo')).toMatchObject({ host: null, bill_gb: 2 });
      expect(row(B, 'USW2-DataTransfer-Regional-Bytes')).toMatchObject({ bill_gb: 50, measured_gb: 0 });
      expect(row(B, 'USW2-USE1-AWS-Out-Bytes')).toMatchObject({ bill_gb: 10, measured_gb: 0 });
      expect(row(A, 'DataProcessing-Bytes')).toMatchObject({ bill_gb: 40 });
      // S3's and the load balancer's own transfer, and every hour-priced line: listed apart, never a host's
      const nm = (product: string, usage: string) => r.not_measured.find((x) => x.product === product && x.usage_type === usage);
      expect(nm('AmazonS3', 'DataTransfer-Out-Bytes')).toMatchObject({ account: A, amount: 1000, why: expect.stringMatching(/S3's own egress/) });
      expect(nm('AWSELB', 'DataTransfer-Out-Bytes')).toMatchObject({ amount: 2000, why: expect.stringMatching(/load balancer's own side/) });
      for (const [product, usage] of [
        ['AWSELB', 'LCUUsage'],
        ['AmazonVPC', 'VPN-Usage-Hours:ipsec.1'],
        ['AmazonVPC', 'PublicIPv4:InUseAddress'],
        ['AWSDirectConnect', 'USE1-EqDC2-DataXfer-Out'],
        ['AmazonCloudFront', 'US-DataTransfer-Out-Bytes'],
        ['AmazonEC2', 'NatGateway-Hours'],
      ]) {
        expect(nm(product, usage), `${file}: ${product} ${usage}`).toBeDefined();
      }
      expect(r.not_network.map((x) => `${x.account} ${x.product} ${x.line_items}`).sort()).toEqual([`${A} AmazonEC2 2`, `${B} AmazonEC2 1`]);
      // tax, credit and discount beside the usage; every dollar of the bill accounted for
      expect(r.adjustments.map((x) => [x.account, x.cost])).toEqual([
        [A, -5],
        [A, 1.23],
        [B, -2.5],
      ]);
      const t = r.totals;
      expect(t.compared + t.not_measured + t.not_network + t.adjustments).toBeCloseTo(t.bill_cost, 9);
      expect(t.bill_cost).toBeCloseTo(total, 9);
      // the list price beside the billed one
      expect(row(A, 'NatGateway-Bytes').list_cost).toBeCloseTo(row(A, 'NatGateway-Bytes').bill_cost!, 9);
    }
    const text = await runCli(['reconcile', '--cur', cur2, '--prometheus', promUrl, '--range', '1h', '--end', String(end)]);
    expect(text.stdout).toMatch(new RegExp(`^ +${HOST} \\(measured host\\) .* explained$`, 'm'));
    expect(text.stdout).toMatch(/^TAX, CREDITS AND DISCOUNTS/m);
    expect(text.stdout).toMatch(/^bill total: \$[\d.]+ = compared usage \$[\d.]+ \+ not measured \$[\d.]+ \+ not network \$[\d.]+ \+ tax, credits and discounts -\$/m);
  }, 90_000);

  it('an unreachable Prometheus or a file that is no CUR: one line naming the fault', async () => {
    const csv = join(dir, 'not-a-cur.csv');
    writeFileSync(csv, 'a,b\n1,2\n');
    const bad = await runCli(['reconcile', '--cur', csv, '--prometheus', promUrl]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe(`az-traffic-exporter: --cur ${csv}: no line_item_usage_type / line_item_usage_amount (or FOCUS x_UsageType / ConsumedQuantity) columns: not a Cost and Usage Report or FOCUS export`);
    const good = join(dir, 'cur-ok.csv');
    writeFileSync(good, 'lineItem/UsageType,lineItem/UsageAmount\nNatGateway-Bytes,1\n');
    const down = await runCli(['reconcile', '--cur', good, '--prometheus', 'http://127.0.0.1:9']);
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/^az-traffic-exporter: cannot query Prometheus at http:\/\/127\.0\.0\.1:9: /);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    // a directory, a FIFO (which would hold the open for ever), an end that is no RFC 3339 time
    // usage types written as numbers: every line would have been dropped unseen (exit 0, "0 network")
    const numbers = join(dir, 'usage-types-as-ints.parquet');
    writeFileSync(
      numbers,
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: 'line_item_usage_type', data: [1, 2], type: 'INT32' },
            { name: 'line_item_usage_amount', data: [1, 2], type: 'DOUBLE' },
          ],
        }),
      ),
    );
    const hugeField = join(dir, 'huge-field.csv.gz');
    writeFileSync(hugeField, gzipSync(Buffer.from(`lineItem/UsageType,lineItem/UsageAmount\nNatGateway-Bytes,1\n"${'x'.repeat(2 << 20)}",2\n`)));
    const headerOnly = join(dir, 'header-only.csv');
    writeFileSync(headerOnly, 'lineItem/UsageType,lineItem/UsageAmount\n');
    const fifo = join(dir, 'bill.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const [args, want] of [
      [['--cur', dir], `--cur ${dir}: a directory, not a CUR export`],
      [['--cur', fifo], `--cur ${fifo}: not a regular file, not a CUR export`],
      [['--cur', good, '--end', 'Nov 28'], '--end "Nov 28": expected RFC 3339 (2026-11-01T00:00:00Z) or seconds since the epoch'],
      [['--cur', headerOnly], `--cur ${headerOnly}: no line items (an empty or header-only export is not a bill)`],
      [['--cur', hugeField], `--cur ${hugeField}: not a readable CUR CSV.gz (Max Record Size: record exceed the maximum number of tolerated bytes of 1048576 at line 3)`],
      [['--cur', numbers], `--cur ${numbers}: line_item_usage_type holds numbers, not usage type names: not a Cost and Usage Report export`],
    ] as const) {
      const r = await runCli(['reconcile', ...args, '--prometheus', promUrl]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toBe(`az-traffic-exporter: ${want}\n`);
    }
    // a capture given as a bill: refused in words, none of its bytes echoed
    const pcap = await runCli(['reconcile', '--cur', join(ROOT, 'demo', 'demo.pcapng'), '--prometheus', promUrl]);
    expect(pcap.status).toBe(2);
    expect(pcap.stderr).toBe(`az-traffic-exporter: --cur ${join(ROOT, 'demo', 'demo.pcapng')}: binary data, not a CUR export (CUR 2.0 Parquet, or legacy CSV or CSV.gz)\n`);
  });

  it('a Prometheus that answers NaN, ±Inf, a negative value, a matrix, a scalar or null: one line saying so', async () => {
    const bodies = [
      { status: 'success', data: { resultType: 'vector', result: [{ metric: { usage_type: 'NatGateway-Bytes' }, value: [1, 'NaN'] }] } },
      { status: 'success', data: { resultType: 'vector', result: [{ metric: { usage_type: 'NatGateway-Bytes' }, value: [1, '+Inf'] }] } },
      { status: 'success', data: { resultType: 'vector', result: [{ metric: { usage_type: 'NatGateway-Bytes' }, value: [1, '-1000'] }] } },
      { status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1, '1']] }] } },
      { status: 'success', data: { resultType: 'scalar', result: [1, '1'] } },
      null,
    ];
    let next = 0;
    const fake = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(bodies[next]));
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const good = join(dir, 'cur-for-hostile-prometheus.csv');
    writeFileSync(good, 'lineItem/UsageType,lineItem/UsageAmount\nNatGateway-Bytes,1\n');
    try {
      for (next = 0; next < bodies.length; next++) {
        const r = await runCli(['reconcile', '--cur', good, '--prometheus', url]);
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
        expect(r.stderr).toMatch(/^az-traffic-exporter: Prometheus at http:\/\/127\.0\.0\.1:\d+ (gave .* not a byte count|answered a (matrix|scalar), not the instant vector|answered HTTP 200 with no API response)/);
        expect(r.stdout).not.toMatch(/NaN%|-\d+\.\d%/);
      }
    } finally {
      fake.close();
    }
  });

  it('dates stored as bare integers are read by their size: seconds, milliseconds, microseconds', async () => {
    const f = join(dir, 'int-dates.parquet');
    const at = Date.UTC(2026, 10, 1, 12);
    writeFileSync(
      f,
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: 'line_item_usage_type', data: ['DataTransfer-Regional-Bytes', 'DataTransfer-Regional-Bytes', 'DataTransfer-Regional-Bytes'], type: 'STRING' },
            { name: 'line_item_usage_amount', data: [1, 2, 3], type: 'DOUBLE' },
            { name: 'line_item_usage_start_date', data: [BigInt(at / 1000), BigInt(at), BigInt(at) * 1000n], type: 'INT64' },
          ],
        }),
      ),
    );
    const starts: number[] = [];
    await readCur(f, (l) => starts.push(l.start));
    expect(starts).toEqual([at, at, at]);
  });

  it('Parquet: a page of more values than a bill has is refused in one line; 3 M rows in one row group are read within 340 MB', () => {
    const at = BigInt(Date.UTC(2026, 10, 1, 12)) * 1000n;
    const write = (f: string, n: number, onePage: boolean): void =>
      writeFileSync(
        f,
        Buffer.from(
          parquetWriteBuffer({
            columnData: [
              { name: 'line_item_usage_type', data: new Array<string>(n).fill('DataTransfer-Regional-Bytes'), type: 'STRING' },
              { name: 'line_item_usage_amount', data: new Float64Array(n).fill(0.5), type: 'DOUBLE' },
              { name: 'line_item_usage_start_date', data: new BigInt64Array(n).fill(at), type: 'INT64' },
            ],
            rowGroupSize: n,
            ...(onePage ? { pageSize: 1e15 } : {}),
          }),
        ),
      );
    // read in a process of its own: its peak memory is the reading's
    const reader = join(ROOT, 'dist', 'reconcile', 'cur.js');
    const script = join(dir, 'read-cur.mjs');
    writeFileSync(
      script,
      `const { readCur } = await import(${JSON.stringify(reader)});
let n = 0, gb = 0;
try { await readCur(process.argv[2], (l) => { n++; gb += l.amount; }); process.stdout.write(JSON.stringify({ n, gb, peakMiB: process.resourceUsage().maxRSS / 1024 })); }
catch (e) { process.stdout.write(JSON.stringify({ error: e.message })); }`,
    );
    const read = (f: string): { n?: number; gb?: number; peakMiB?: number; error?: string } => JSON.parse(execFileSync(process.execPath, [script, f], { encoding: 'utf8' }));
    const bomb = join(dir, 'one-page.parquet');
    write(bomb, 2_100_000, true);
    expect(statSync(bomb).size).toBeLessThan(4096);
    expect(read(bomb).error).toBe(`--cur ${bomb}: row group 0, column line_item_usage_type: a page of 2,100,000 values (at most 2,000,000 are read): not a Cost and Usage Report export`);
    const big = join(dir, 'one-group.parquet');
    write(big, 3_000_000, false);
    const r = read(big);
    expect(r.n).toBe(3_000_000);
    expect(r.gb).toBe(1_500_000);
    // every row as an object took 581 MB; sliced, 286–300 MB here, its peak at the garbage collector's
    // mercy: the bound keeps a margin above that and far below the old way's
    expect(r.peakMiB, `peak ${r.peakMiB} MiB`).toBeLessThan(340);
  }, 120_000);

  it('coverage far above 100% is explained, not printed bare', () => {
    const text = renderReconciliation({
      range: { start: '2026-11-01T00:00:00.000Z', end: '2026-11-02T00:00:00.000Z', seconds: 86_400 },
      cur_files: ['cur.csv'],
      line_items: 1,
      network_line_items: 1,
      prometheus: 'http://prometheus:9090',
      rows: [{ account: '', usage_type: 'DataTransfer-Regional-Bytes', billed_as: ['DataTransfer-Regional-Bytes'], bill_gb: 1, measured_gb: 56.438, coverage_percent: 5643.8, bill_cost: 0.01, list_cost: null, resources: [] }],
      ...EMPTY_REST,
    });
    expect(text).toMatch(/5643\.8%/);
    expect(text).toMatch(/measured more than billed for: DataTransfer-Regional-Bytes \(the bill's files may cover fewer hours than --range and --end/);
  });
});

/** A reconciliation's lists beyond its rows, empty. */
const EMPTY_REST = { not_measured: [], not_network: [], adjustments: [], totals: { bill_cost: 0, compared: 0, not_measured: 0, not_network: 0, adjustments: 0 }, hosts_not_in_bill: [] };

describe('reconcile at scale', () => {
  it('200,000 usage types render as a table (a spread of them overflowed the stack)', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ account: '', usage_type: `USE1-Custom${i}-Bytes`, billed_as: [], bill_gb: i, measured_gb: i, coverage_percent: 100, bill_cost: 0.01, list_cost: null, resources: [] }));
    const text = renderReconciliation({ range: { start: 'a', end: 'b', seconds: 1 }, cur_files: ['x'], line_items: 1, network_line_items: 1, prometheus: 'p', rows, ...EMPTY_REST });
    expect(text.split('\n').length).toBeGreaterThan(200_000);
  });
});
