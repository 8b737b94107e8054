// At fleet scale (docs/metrics.md, "At fleet scale"): how many series one node exports at the caps, and the
// example remote_write configuration end to end: a Prometheus per cluster scrapes an exporter, computes
// the fleet aggregates and remote-writes only those to a long-term store (here a second, real
// Prometheus with its remote-write receiver on).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ethernet, ipv4, PcapWriter } from '../scripts/lib/frames.js';
import { CLI, freePort, tempDir } from './helpers.js';
import { until, waitForOutput } from './netns.js';

const ROOT = join(import.meta.dirname, '..');
const dir = tempDir();
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});


const HOST = '10.0.1.10';
const ZONES = ['a', 'b', 'c', 'd', 'e', 'f'];

/** A node at the caps: every category × zone pair of a 6-zone region, both ways, and 600 remotes. */
function capsCapture(): { pcap: string; topology: string; ranges: string } {
  const topology = join(dir, 'caps.yaml');
  writeFileSync(
    topology,
    YAML.stringify({
      region: 'us-east-1',
      subnets: ZONES.map((z, i) => ({ cidr: `10.0.${i + 1}.0/24`, zone: `us-east-1${z}`, zone_id: `use1-az${i + 1}` })),
      public_ips: ZONES.map((z, i) => ({ ip: `3.80.${i + 1}.1`, zone: `us-east-1${z}`, zone_id: `use1-az${i + 1}` })),
      local_ips: [HOST],
    }),
  );
  const ranges = join(dir, 'caps-ranges.json');
  const p = (ip_prefix: string, region: string, service: string) => ({ ip_prefix, region, service, network_border_group: region });
  writeFileSync(ranges, JSON.stringify({ prefixes: [p('54.144.0.0/14', 'us-east-1', 'EC2'), p('52.216.0.0/15', 'us-east-1', 'S3'), p('52.48.0.0/14', 'eu-west-1', 'EC2')], ipv6_prefixes: [] }));
  const remotes = [
    ...ZONES.map((_z, i) => `10.0.${i + 1}.50`), // same_az, cross_az ×5
    ...ZONES.map((_z, i) => `10.0.${i + 1}.2`), // the VPC resolver of each subnet: internal, with its zone
    ...ZONES.map((_z, i) => `3.80.${i + 1}.1`), // regional_public with a zone
    '54.144.10.20', // regional_public, no zone
    '52.216.8.40', // aws_service
    '52.48.1.9', // inter_region
    '169.254.169.254', // internal
    '192.168.7.7', // unclassified
    ...Array.from({ length: 600 }, (_v, i) => `198.18.${i >> 8}.${i & 255}`), // internet: remotes beyond the cap
  ];
  const pcap = join(dir, 'caps.pcap');
  const w = new PcapWriter(pcap, 1, 96);
  let t = 1_780_000_000;
  for (const [k, r] of remotes.entries()) {
    w.write({ ts: (t += 0.001), frame: ethernet(ipv4({ src: HOST, dst: r, l4: { proto: 6, sport: 40000 + (k % 20000), dport: 443, payloadLen: 100 + k } })) });
    w.write({ ts: (t += 0.001), frame: ethernet(ipv4({ src: r, dst: HOST, l4: { proto: 6, sport: 443, dport: 40000 + (k % 20000), payloadLen: 900 + k } })) });
  }
  w.close();
  return { pcap, topology, ranges };
}

/** Series per metric family in an exposition (aztraffic_ only: process metrics are prom-client's). */
function seriesByFamily(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(aztraffic_[a-z_]+?)(?:_bucket|_sum|_count)?[{ ]/.exec(line);
    if (m) out.set(m[1], (out.get(m[1]) ?? 0) + 1);
  }
  return out;
}

describe('at fleet scale', () => {
  it('series per node at the caps: the documented figures are what the exporter exports', () => {
    const { pcap, topology, ranges } = capsCapture();
    const r = spawnSync(process.execPath, [CLI, 'analyze', pcap, '--topology.file', topology, '--ip-ranges.file', ranges, '--format', 'prometheus'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const by = seriesByFamily(r.stdout);
    const total = [...by.values()].reduce((a, b) => a + b, 0);
    const readme = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');
    const row = (family: string): number => Number(new RegExp(`^\\| \`${family}\` \\| ([\\d,]+) \\|`, 'm').exec(readme)?.[1].replace(/,/g, '') ?? NaN);
    for (const family of ['aztraffic_bytes_total', 'aztraffic_packets_total', 'aztraffic_remote_bytes_total', 'aztraffic_remote_dollars_total', 'aztraffic_usage_bytes_total', 'aztraffic_savings_dollars_per_hour']) {
      expect(by.get(family), `docs/metrics.md "At fleet scale" row of ${family}`).toBe(row(family));
    }
    expect(total, 'README "At fleet scale": all aztraffic_ series').toBe(Number(/^\| all aztraffic_ series \| ([\d,]+) \|/m.exec(readme)?.[1].replace(/,/g, '')));
    // the remote series stay at the cap: 100 named, the rest in "other" per direction, category, zone
    const named = new Set([...r.stdout.matchAll(/^aztraffic_remote_bytes_total\{[^}]*remote="([^"]+)"/gm)].map((m) => m[1]).filter((x) => x !== 'other'));
    expect(named.size).toBe(100);
  });

  it('the example remote_write config: only the cluster aggregates reach the long-term store, labelled with the cluster', async () => {
    const [demoPort, edgePort, storePort] = await Promise.all([freePort(), freePort(), freePort()]);
    const demo = spawn(process.execPath, [CLI, 'demo', '--web.listen-address', `127.0.0.1:${demoPort}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AZTRAFFIC_IP_RANGES_URL: 'none' } });
    children.push(demo);
    await waitForOutput(demo, /serving metrics/);

    mkdirSync(join(dir, 'store'));
    const store = spawn('prometheus', [`--config.file=${join(dir, 'store.yml')}`, `--storage.tsdb.path=${join(dir, 'store')}`, `--web.listen-address=127.0.0.1:${storePort}`, '--web.enable-remote-write-receiver'], { stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(join(dir, 'store.yml'), YAML.stringify({ global: { scrape_interval: '1m' } }));
    children.push(store);

    // the shipped example, with only what it says to replace replaced (and faster intervals)
    const example = YAML.parse(readFileSync(join(ROOT, 'prometheus', 'remote-write.yml'), 'utf8')) as {
      global: Record<string, unknown>;
      rule_files: string[];
      scrape_configs: { static_configs: { targets: string[] }[] }[];
      remote_write: { url: string; queue_config?: unknown }[];
    };
    example.global.scrape_interval = '1s';
    example.global.evaluation_interval = '1s';
    example.rule_files = example.rule_files.map((f) => join(ROOT, 'prometheus', f));
    example.scrape_configs[0].static_configs[0].targets = [`127.0.0.1:${demoPort}`];
    example.remote_write[0].url = `http://127.0.0.1:${storePort}/api/v1/write`;
    example.remote_write[0].queue_config = { batch_send_deadline: '1s' };
    const edgeCfg = join(dir, 'edge.yml');
    writeFileSync(edgeCfg, YAML.stringify(example));
    mkdirSync(join(dir, 'edge'));
    const edge = spawn('prometheus', [`--config.file=${edgeCfg}`, `--storage.tsdb.path=${join(dir, 'edge')}`, `--web.listen-address=127.0.0.1:${edgePort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(edge);
    await Promise.all([waitForOutput(store, /Server is ready/, 30_000), waitForOutput(edge, /Server is ready/, 30_000)]);

    const query = async (expr: string): Promise<{ metric: Record<string, string> }[]> => {
      const r = (await (await fetch(`http://127.0.0.1:${storePort}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { data: { result: { metric: Record<string, string> }[] } };
      return r.data.result;
    };
    const got = await until('the store receives the cluster aggregates', async () => {
      const r = await query('cluster_zone:aztraffic_dollars_per_hour:rate5m');
      return r.length > 0 ? r : undefined;
    }, 60_000, 1000);
    expect(got.every((s) => s.metric.cluster === 'prod-use1')).toBe(true);
    await until('usage and remotes aggregates', async () => ((await query('cluster:aztraffic_usage_dollars_per_hour:rate5m')).length > 0 && (await query('cluster:aztraffic_remote_dollars_per_hour:top25')).length > 0 ? true : undefined), 30_000, 1000);
    // nothing raw: the per-host series stay at the edge
    const names = (await query('count by (__name__) ({__name__=~".+"})')).map((s) => s.metric.__name__);
    expect(names.filter((n) => !/^cluster(_zone)?:aztraffic_|^aztraffic_build_info$/.test(n))).toEqual([]);
    expect(names).toContain('aztraffic_build_info');
  }, 120_000);
});
