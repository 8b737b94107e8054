// What analyze and the counters promise, each with a test that fails when the promise breaks: the
// heaviest remotes are exact whatever comes first; a free remote never hides a priced one; every byte is
// conserved into remote="other"; cost is bytes × price / 2^30.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPrices } from '../src/classify/prices-file.js';
import { ExporterMetrics } from '../src/metrics/registry.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { loadTopology } from '../src/topology/load.js';
import { ethernet, ipv4, PcapWriter } from '../scripts/lib/frames.js';
import { CLI, DEMO, tempDir } from './helpers.js';
import { parseMetrics } from './netns.js';

const dir = tempDir();
const DEMO_ARGS = ['--topology.file', join(DEMO, 'topology.yaml'), '--ip-ranges.file', join(DEMO, 'ip-ranges.json')];
const LOCAL = '172.31.51.15';

function analyzeJson(file: string, extra: string[] = []) {
  const r = spawnSync(process.execPath, [CLI, 'analyze', file, ...DEMO_ARGS, '--format', 'json', ...extra], { encoding: 'utf8', maxBuffer: 64 << 20 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as {
    remotes: { remote: string; port: string; category: string; egress_bytes: number; ingress_bytes: number; cost_dollars: number | null }[];
    categories: { direction: string; category: string; bytes: number; price_per_gb: number | null; cost_dollars: number | null }[];
    remotes_folded: { remotes: number; bytes: number };
    total_bytes: number;
    capture: { duration_seconds: number; dollars_per_hour: number; projected_dollars_per_month: number; category_dollars_per_hour: number };
    priced_cost_dollars: number;
    bill: { usage_type: string; bytes: number; price_per_gb: number | null; cost_dollars: number | null }[];
    bill_cost_dollars: number;
  };
}

/** A packet of `ipLen` IP bytes between this host and `remote`, cut to 64 captured bytes. */
function packet(remote: string, ipLen: number, ingress: boolean, sport = 40000, dport = 443): Buffer {
  const l4 = { proto: 17, sport: ingress ? dport : sport, dport: ingress ? sport : dport, payloadLen: ipLen - 28 };
  return ethernet(ipv4(ingress ? { src: remote, dst: LOCAL, l4 } : { src: LOCAL, dst: remote, l4 }));
}

describe('analyze ranks remotes over the whole capture', () => {
  it('a 150 MB remote arriving after 70,000 light ones is in TOP REMOTES with its exact bytes', () => {
    const file = join(dir, 'late-heavy.pcap');
    const w = new PcapWriter(file, 1, 64);
    let t = 1_700_000_000;
    for (let i = 0; i < 70_000; i++) {
      // 198.18.0.0/15 is in no AWS range: internet, $0.09/GB egress
      w.write({ ts: (t += 0.0001), frame: packet(`198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, 100, false) });
    }
    // the in-region mirror (regional_public): a download from its port 80, through the NAT gateway
    const heavy = packet('54.144.10.20', 1500, true, 50000, 80);
    for (let i = 0; i < 100_000; i++) w.write({ ts: (t += 0.0001), frame: heavy });
    w.close();
    const report = analyzeJson(file);
    const mirror = report.remotes.find((r) => r.remote === '54.144.10.20');
    expect(mirror).toBeDefined();
    expect(mirror!.ingress_bytes).toBe(150_000_000);
    expect(report.remotes[0].remote).toBe('54.144.10.20');
    // nothing lost: the rows, "other" included, sum to the total; the fold is said
    const sum = report.remotes.reduce((s, r) => s + r.egress_bytes + r.ingress_bytes, 0);
    expect(sum).toBe(report.total_bytes);
    expect(report.total_bytes).toBe(150_000_000 + 70_000 * 100);
    expect(report.remotes_folded.bytes).toBe(report.remotes.filter((r) => r.remote === 'other').reduce((s, r) => s + r.egress_bytes + r.ingress_bytes, 0));
    expect(report.remotes_folded.bytes).toBeGreaterThan(0);
    const table = spawnSync(process.execPath, [CLI, 'analyze', file, ...DEMO_ARGS], { encoding: 'utf8' }).stdout;
    expect(table).toMatch(/other: [\d,]+ bytes of [\d,]+ remote entries beyond the top remotes by cost were folded/);
  }, 60_000);

  it('a free same-zone remote, however large, never pushes out a priced one', () => {
    const file = join(dir, 'free-vs-priced.pcap');
    const w = new PcapWriter(file, 1, 64);
    let t = 1_700_000_000;
    for (let i = 0; i < 5000; i++) w.write({ ts: (t += 0.001), frame: packet('172.31.50.7', 1500, false, 40000, 9092) }); // same_az, free
    for (let i = 0; i < 10; i++) w.write({ ts: (t += 0.001), frame: packet('172.31.20.10', 100, false, 40001, 5432) }); // cross_az, priced
    w.close();
    for (const extra of [['--remote.top-k', '1'], ['--remote.top-k', '1', '--remote.table-size', '16']]) {
      const report = analyzeJson(file, extra);
      const named = report.remotes.filter((r) => r.remote !== 'other');
      expect(named.map((r) => r.remote)).toEqual(['172.31.20.10']);
      expect(named[0].egress_bytes).toBe(1000);
    }
  });

  it('cost is bytes × price / 2^30 (GiB), per category and per bill line, per hour and per month of 730 h', () => {
    const report = analyzeJson(join(DEMO, 'demo.pcapng'));
    let priced = 0;
    for (const c of report.categories) {
      if (c.price_per_gb === null) {
        expect(c.cost_dollars).toBeNull();
        continue;
      }
      const expected = (c.bytes / 2 ** 30) * c.price_per_gb;
      expect(Math.abs(c.cost_dollars! - expected)).toBeLessThanOrEqual(expected * 1e-12);
      priced += expected;
    }
    expect(report.priced_cost_dollars).toBeCloseTo(priced, 15);
    expect(report.capture.duration_seconds).toBeCloseTo(30, 2);
    expect(report.capture.category_dollars_per_hour).toBeCloseTo((priced / report.capture.duration_seconds) * 3600, 12);
    // the headline rate is the bill's: every line's bytes × its price (NAT gateway processing included)
    let billed = 0;
    for (const b of report.bill) billed += (b.bytes / 2 ** 30) * (b.price_per_gb ?? 0);
    expect(report.bill.map((b) => b.usage_type)).toContain('NatGateway-Bytes');
    expect(report.bill_cost_dollars).toBeCloseTo(billed, 15);
    expect(report.capture.dollars_per_hour).toBeCloseTo((billed / report.capture.duration_seconds) * 3600, 12);
    expect(report.capture.projected_dollars_per_month).toBeCloseTo(report.capture.dollars_per_hour * 730, 10);
  });
});

describe('live counting conserves every byte into remote="other"', () => {
  it('with a remote table of 16 and a top-K of 3, remote series sum to aztraffic_bytes_total per (direction, category, zone)', async () => {
    const loaded = loadTopology({ topologyFile: join(DEMO, 'topology.yaml'), ipRangesFile: join(DEMO, 'ip-ranges.json') });
    const pipeline = new Pipeline(loaded.topology, { remoteTableSize: 16 });
    pipeline.setLocalIps([LOCAL]);
    const metrics = new ExporterMetrics(pipeline, { topK: 3, prices: loadPrices(undefined) });
    const iface = pipeline.addInterface('eth0');
    const remotes = ['172.31.20.10', '172.31.50.7', '54.144.10.20', '140.82.112.6', '52.216.8.40'];
    // a demoted series may be removed later (its counts are then gone from a sum at one instant, not
    // from rates): conservation is of what each flush adds, series by series
    const key = (k: string): string => `${/direction="(\w+)"/.exec(k)![1]}/${/category="(\w+)"/.exec(k)![1]}/${/remote_az="([^"]*)"/.exec(k)![1]}`;
    const added = new Map<string, number>();
    let before = new Map<string, number>();
    let m = new Map<string, number>();
    let n = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 200; i++) {
        // 200 distinct addresses a round in a 16-slot table: most bytes spill
        const remote = i < remotes.length ? remotes[i] : `198.18.${round}.${i}`;
        const f = packet(remote, 60 + i, i % 2 === 0);
        pipeline.frame(1, f, 0, f.length, f.length, 1_700_000_000 + n++, iface);
      }
      m = parseMetrics(await metrics.render());
      for (const [k, v] of m) {
        if (!k.startsWith('aztraffic_remote_bytes_total{')) continue;
        added.set(key(k), (added.get(key(k)) ?? 0) + v - (before.get(k) ?? 0));
      }
      before = m;
    }
    const total = new Map<string, number>();
    for (const [k, v] of m) if (k.startsWith('aztraffic_bytes_total{')) total.set(key(k), (total.get(key(k)) ?? 0) + v);
    expect(total.size).toBeGreaterThan(3);
    expect(Object.fromEntries(added)).toEqual(Object.fromEntries(total));
    expect([...m.keys()].filter((k) => k.startsWith('aztraffic_remote_bytes_total{') && !k.includes('remote="other"')).length).toBeLessThanOrEqual(6);
  });
});

describe('analyze without --ip-ranges.file', () => {
  it('downloads ip-ranges.json as serve does, keeps a cache, reads the cache when the download fails, and with neither takes the package\'s own copy and says so', async () => {
    const body = readFileSync(join(DEMO, 'ip-ranges.json'));
    const server = createServer((_req, res) => res.end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ip-ranges.json`;
    const cache = join(dir, 'ip-ranges-cache.json');
    const run = (args: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [CLI, 'analyze', join(DEMO, 'demo.pcapng'), '--topology.file', join(DEMO, 'topology.yaml'), '--format', 'json', ...args]);
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const categories = (out: string): string[] => (JSON.parse(out) as { categories: { category: string }[] }).categories.map((c) => c.category);
    try {
      const downloaded = await run(['--ip-ranges.url', url, '--ip-ranges.cache', cache]);
      expect(downloaded.status, downloaded.stderr).toBe(0);
      expect(categories(downloaded.stdout)).toContain('aws_service');
      expect(readFileSync(cache)).toEqual(body);
    } finally {
      server.close();
    }
    const cached = await run(['--ip-ranges.url', url, '--ip-ranges.cache', cache]);
    expect(cached.status, cached.stderr).toBe(0);
    expect(categories(cached.stdout)).toContain('aws_service');
    expect(cached.stderr).toMatch(/from the cache/);
    // with neither: the package's own copy, said on stderr and in the report
    const neither = await run(['--ip-ranges.url', 'none']);
    expect(neither.status).toBe(0);
    expect(neither.stderr).toMatch(/level=warn msg="WARNING: ip-ranges.json is the package's own copy of 2026-08-22-21-17-05 .*counted as internet/);
    expect((JSON.parse(neither.stdout) as { capture: { caveats: string[] } }).capture.caveats[0]).toMatch(/^ip-ranges\.json is the package's own copy/);
  });
});
