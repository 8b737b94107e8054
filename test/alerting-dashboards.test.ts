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
    const sum = async (rule: string, more = ''): Promise<number | undefined> => {
      const r = await query(`sum(${rule}{instance="${demoTarget}"${more}})`);
      return r.length === 1 ? Number(r[0].value[1]) : undefined;
    };
    // the three rules over the same scrapes (one evaluation can run between two of them: retried)
    const lines = await until(
      'the bill lines, remotes and workloads of the demo have rates, at one evaluation',
      async () => {
        const [bill, remotes, workloads, nat] = await Promise.all([
          sum('instance:aztraffic_usage_dollars_per_hour:rate5m'),
          sum('remote:aztraffic_dollars_per_hour:rate5m'),
          sum('workload:aztraffic_dollars_per_hour:rate5m'),
          sum('instance:aztraffic_usage_dollars_per_hour:rate5m', ',usage_type="NatGateway-Bytes"'),
        ]);
        if (!bill || !remotes || !workloads || !nat) return undefined;
        return Math.abs(remotes - bill) <= 1e-9 * bill && Math.abs(workloads - bill) <= 1e-9 * bill ? { bill, remotes, workloads, nat } : undefined;
      },
      60_000,
      500,
    );
    // NAT processing is a large part of the demo's bill: a category price alone would leave it out
    expect(lines.nat / lines.bill).toBeGreaterThan(0.3);
    expect(lines.remotes).toBeCloseTo(lines.bill, 12);
    expect(lines.workloads).toBeCloseTo(lines.bill, 12);
  }, 70_000);
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
      { usage_type: 'CloudFront EU-DataTransfer-Out-Bytes', amount: 3, unit: 'GB', bill_cost: 0.255, why: "CloudFront edges sending: not these hosts' bytes" },
      { usage_type: 'NatGateway-Hours', amount: 1, unit: 'Hrs', bill_cost: 0.045, why: 'hourly charge: no bytes to measure' },
    ]);

    const t = await runCli(['reconcile', '--cur', cur2, '--cur', legacyGz, '--cur', legacy, '--prometheus', promUrl, '--range', '1h', '--end', String(end)]);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^NatGateway-Bytes +[\d.]+ +[\d.]+ +50\.0% /m);
    expect(t.stdout).toMatch(/measured nothing for: TransitGateway-Bytes/);
    expect(t.stdout).toMatch(/NOT MEASURED BY THE EXPORTER\nUSAGE TYPE +AMOUNT +UNIT +BILL \$ +WHY\nCloudFront EU-DataTransfer-Out-Bytes +3 +GB +0\.2550 +CloudFront edges sending.*\nNatGateway-Hours +1 +Hrs +0\.0450 +hourly charge/);
  }, 90_000);

  it('an unreachable Prometheus or a file that is no CUR: one line naming the fault', async () => {
    const csv = join(dir, 'not-a-cur.csv');
    writeFileSync(csv, 'a,b\n1,2\n');
    const bad = await runCli(['reconcile', '--cur', csv, '--prometheus', promUrl]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe(`az-traffic-exporter: --cur ${csv}: no line_item_usage_type / line_item_usage_amount columns: not a Cost and Usage Report export`);
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
      rows: [{ usage_type: 'DataTransfer-Regional-Bytes', billed_as: ['DataTransfer-Regional-Bytes'], bill_gb: 1, measured_gb: 56.438, coverage_percent: 5643.8, bill_cost: 0.01 }],
      not_measured: [],
    });
    expect(text).toMatch(/5643\.8%/);
    expect(text).toMatch(/measured more than billed for: DataTransfer-Regional-Bytes \(the bill's files may cover fewer hours than --range and --end/);
  });
});

describe('reconcile at scale', () => {
  it('200,000 usage types render as a table (a spread of them overflowed the stack)', () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => ({ usage_type: `USE1-Custom${i}-Bytes`, billed_as: [], bill_gb: i, measured_gb: i, coverage_percent: 100, bill_cost: 0.01 }));
    const text = renderReconciliation({ range: { start: 'a', end: 'b', seconds: 1 }, cur_files: ['x'], line_items: 1, network_line_items: 1, prometheus: 'p', rows, not_measured: [] });
    expect(text.split('\n').length).toBeGreaterThan(200_000);
  });
});
