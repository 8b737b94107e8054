// The agentless exporter: `serve --flow-logs.url` counting flow-log objects as they arrive in a folder (AWS's
// key layout, today's folder) and in a fake S3 (ListObjectsV2 pages with StartAfter and Delimiter), each
// exactly once across a restart and a kill -9 in the middle of an object: its counters equal one analyze
// of every object.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ACCOUNT, BOOT, HEADER, host, INSTANCES, mirrorAddresses, rec, STORY_TOPOLOGY, storyCorpus } from '../scripts/lib/story-flow-logs.js';
import { FakeS3 } from './fakes/s3.js';
import { CLI, freePort, runCli, SHARED_IP_RANGES, tempDir } from './helpers.js';
import { until } from './netns.js';

const dir = tempDir();
const TOPO = join(dir, 'story.yaml');
const MIRROR = mirrorAddresses(SHARED_IP_RANGES);
const env = { ...process.env, AZTRAFFIC_IP_RANGES_URL: 'none', AWS_EC2_METADATA_DISABLED: 'true' };
const common = ['--topology.file', TOPO, '--ip-ranges.file', SHARED_IP_RANGES];
const serveArgs = ['--aws.discovery', 'false', '--flow-logs.poll-interval', '500ms', '--flow-logs.since', '30d', '--web.shutdown-grace', '0', '--log.level', 'debug'];

/** Today's folder of AWS's layout: open, so objects may still arrive in it. */
const today = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
const STREAM = `AWSLogs/${ACCOUNT}/vpcflowlogs/us-east-1/`;
const keyAt = (stamp: string, n: string): string => `${STREAM}${today}/${ACCOUNT}_vpcflowlogs_us-east-1_fl-0story_${stamp}_${n}.log.gz`;

/** The counters of an exposition (TYPE counter), as "series value" lines; `skip`: families only one side has. */
function counters(text: string, skip: RegExp = /^$/): Map<string, number> {
  const types = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1], m[2]);
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || types.get(m[1]) !== 'counter' || !m[1].startsWith('aztraffic_') || skip.test(m[1])) continue;
    out.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  return out;
}

/**
 * Equal counters: the same series, the same bytes, packets and records; dollars (sums of each byte's
 * price, added up in another order object by object) to within a billionth.
 */
function expectSameCounters(served: Map<string, number>, analyzed: Map<string, number>): void {
  expect([...served.keys()].sort()).toEqual([...analyzed.keys()].sort());
  const exact = (m: Map<string, number>): Map<string, number> => new Map([...m].filter(([k]) => !k.includes('_dollars_total')));
  expect(exact(served)).toEqual(exact(analyzed));
  for (const [k, v] of served) if (k.includes('_dollars_total')) expect(Math.abs(v - analyzed.get(k)!), k).toBeLessThanOrEqual(1e-9 * Math.abs(v));
}

/** Families a running exporter has and analyze has not (its polls, its topology sources' refreshes). */
const SERVE_ONLY = /^aztraffic_(flow_logs_poll_errors_total|topology_refresh_errors_total|interface_packets_total|capture_.*)$/;

class Exporter {
  readonly stderr: string[] = [];
  private constructor(
    readonly child: ChildProcessWithoutNullStreams,
    readonly port: number,
  ) {}

  static async start(url: string, state: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Exporter> {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'serve', '--flow-logs.url', url, '--flow-logs.state', state, '--web.listen-address', `127.0.0.1:${port}`, ...serveArgs, ...common], { env: { ...env, ...extraEnv } });
    const e = new Exporter(child, port);
    child.stderr.on('data', (d: Buffer) => e.stderr.push(d.toString()));
    return e;
  }

  get log(): string {
    return this.stderr.join('');
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
  }

  /** Once `n` objects have been counted (or given up): its exposition. */
  async objects(n: number, ms = 60_000): Promise<string> {
    return until(
      `${n} objects counted`,
      async () => {
        const text = await this.metrics().catch(() => '');
        const m = /^aztraffic_flow_logs_objects_total\{result="counted"\} (\d+)$/m.exec(text);
        return m && Number(m[1]) >= n ? text : undefined;
      },
      ms,
    );
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    const done = new Promise<number | null>((r) => this.child.on('exit', (code) => r(code)));
    this.child.kill(signal);
    return done;
  }
}

/** An interface the topology does not list, whose own address the logs teach (the default format has no flow-direction). */
const UNLISTED = 'eni-0ffff';

/**
 * Some more traffic, different in every object: instance i pulls `mb` MB from a mirror address over
 * port 443 (20 remote series in all); an unlisted interface's host pulls from a mirror in the first
 * such objects only, and talks to worker-1 in every one (a record whose side only what an earlier
 * object taught can tell, across a restart too).
 */
function extraObject(n: number, mb: number): Buffer {
  const lines = Array.from({ length: INSTANCES }, (_x, i) => rec(i, MIRROR[n % 4], host(i), 443, 41000 + (n % 20), 6, 100, mb * 1_000_000 + i, BOOT + 1200 + 60 * n));
  const t = BOOT + 1200 + 60 * n;
  if (n <= 1) lines.push(`2 ${ACCOUNT} ${UNLISTED} ${MIRROR[0]} 10.1.0.99 443 42000 6 10 500000 ${t} ${t + 60} ACCEPT OK`);
  lines.push(`2 ${ACCOUNT} ${UNLISTED} 10.1.0.99 ${host(0)} 43000 8080 6 10 ${20_000 + n} ${t} ${t + 60} ACCEPT OK`);
  return gzipSync(`${HEADER}\n${lines.join('\n')}\n`);
}

/** Half a million records in one object: counting it takes long enough to be killed in the middle. */
function bigObject(): Buffer {
  const lines: string[] = [HEADER];
  for (let k = 0; k < 500_000; k++) lines.push(rec(k % INSTANCES, MIRROR[k % 4], host(k % INSTANCES), 80, 30000 + (k % 20000), 6, 2, 1500 + (k % 7), BOOT + 1800 + (k % 600)));
  return gzipSync(lines.join('\n') + '\n', { level: 1 });
}

/** An object appears at once, as AWS's and rename's do. */
function put(root: string, key: string, body: Buffer): void {
  const f = join(root, key);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(`${f}.tmp`, body);
  renameSync(`${f}.tmp`, f);
}

async function analyzeCounters(input: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Map<string, number>> {
  const out = await runCli(['analyze', input, ...common, '--format', 'prometheus', '--flow-logs.since', '30d'], { ...env, ...extraEnv });
  expect(out.status, out.stderr).toBe(0);
  return counters(out.stdout, SERVE_ONLY);
}

beforeAll(() => {
  writeFileSync(TOPO, YAML.stringify(STORY_TOPOLOGY));
});

describe('serve --flow-logs.url file:///DIR', () => {
  const root = join(dir, 'bucket');
  const state = join(dir, 'state.json');
  const running: Exporter[] = [];
  afterAll(async () => {
    for (const e of running) await e.stop('SIGKILL');
  });

  it('counts objects as they arrive, once each across a restart and a kill -9 mid-object: equal to one analyze of them all', async () => {
    storyCorpus(MIRROR).forEach((o, w) => put(root, keyAt(`20261201T08${String(5 * (w + 1)).padStart(2, '0')}Z`, `s${w}`), o.body));
    const url = `file://${root}`;

    // the story's three objects, then two more while it runs
    const a = await Exporter.start(url, state);
    running.push(a);
    await a.objects(3);
    put(root, keyAt('20261201T0820Z', 'x1'), extraObject(1, 7));
    put(root, keyAt('20261201T0825Z', 'x2'), extraObject(2, 9));
    const five = counters(await a.objects(5), SERVE_ONLY);
    expect(five.get('aztraffic_flow_logs_objects_total{result="counted"}')).toBe(5);
    expect(await a.stop()).toBe(0);

    // a restart counts nothing again: its counters go on from the state file
    const b = await Exporter.start(url, state);
    running.push(b);
    await until('polled', async () => (/0 object\(s\) to count/.test(b.log) ? true : undefined));
    expect(counters(await b.metrics(), SERVE_ONLY)).toEqual(five);
    // then a big object, and a kill -9 while it is being counted
    const big = keyAt('20261201T0830Z', 'big');
    put(root, big, bigObject());
    await until('reading the big object', async () => (b.log.includes(`${big}: reading`) ? true : undefined), 30_000);
    await b.stop('SIGKILL');
    const kept = JSON.parse(readFileSync(state, 'utf8')) as { follow: { streams: Record<string, string>; counted: string[] }; objects: number };
    // it was killed before the object was written down (else this test would not be about a kill mid-object)
    expect(kept.objects).toBe(5);
    expect(kept.follow.counted).not.toContain(big);

    put(root, keyAt('20261201T0835Z', 'x3'), extraObject(3, 11));
    const c = await Exporter.start(url, state);
    running.push(c);
    const served = counters(await c.objects(7), SERVE_ONLY);
    expect(c.log).toMatch(/resuming from .* 5 object\(s\)/);
    expectSameCounters(served, await analyzeCounters(root));
    expect(served.get('aztraffic_flow_logs_records_total{result="counted"}')).toBe(660 + 3 * (INSTANCES + 1) + 1 + 500_000);
    // the unlisted interface's talk with worker-1 counted in every object, from its side
    expect(served.get('aztraffic_workload_bytes_total{direction="egress",category="same_az",namespace="",workload="eni-0ffff",workload_kind="NetworkInterface"}')).toBe(3 * 20_000 + 1 + 2 + 3);
    // the page says how late the newest record is
    const summary = (await (await fetch(`http://127.0.0.1:${c.port}/api/v1/summary`)).json()) as { health: { flow_logs: { objects: number; lag_seconds: number; url: string } } };
    expect(summary.health.flow_logs.objects).toBe(7);
    expect(summary.health.flow_logs.url).toBe(url);
    expect(summary.health.flow_logs.lag_seconds).toBeGreaterThan(0);
    expect(await c.metrics()).toMatch(/^aztraffic_flow_logs_lag_seconds \d/m);
    expect(await c.metrics()).toMatch(/^aztraffic_build_info\{.*source="flow_logs"\} 1$/m);
    expect(await c.stop()).toBe(0);
  }, 180_000);

  it('a state file of another location, or not one at all, is one line and exit 2', async () => {
    const other = await runCli(['serve', '--flow-logs.url', `file://${dir}/elsewhere`, '--flow-logs.state', state, ...common], env);
    expect(other.status).toBe(2);
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
    expect(other.stderr).toMatch(/the state of file:\/\/.*bucket, not of file:\/\/.*elsewhere/);
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '{"hello": 1}');
    const bad = await runCli(['serve', '--flow-logs.url', `file://${root}`, '--flow-logs.state', junk, ...common], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/not a state file of this exporter/);
    const capture = await runCli(['serve', '--flow-logs.url', `file://${root}`, '--interface', 'lo', ...common], env);
    expect(capture.status).toBe(2);
    expect(capture.stderr).toMatch(/--interface is a live capture's/);
  });
});

describe('serve --flow-logs.url s3://', () => {
  let s3: FakeS3;
  beforeAll(async () => {
    s3 = await new FakeS3().start();
    s3.pageSize = 200;
    // a thousand small objects in today's folder, and older ones the first start's window leaves out
    for (let n = 0; n < 1000; n++) s3.put('central-logs', `org/${keyAt(`20261201T${String(8 + Math.floor(n / 60)).padStart(2, '0')}${String(n % 60).padStart(2, '0')}Z`, `n${String(n).padStart(4, '0')}`)}`, extraObject(n, 1 + (n % 5)));
  });
  afterAll(async () => {
    await s3.stop();
  });

  it('1,000 objects over 5 pages, each counted once, equal to analyze of the bucket; the next polls list after the cursor', async () => {
    const s3env = { AWS_ENDPOINT_URL_S3: s3.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDFAKE', AWS_SECRET_ACCESS_KEY: 'fake' };
    const state = join(dir, 's3-state.json');
    const e = await Exporter.start('s3://central-logs/org/', state, s3env);
    try {
      const served = counters(await e.objects(1000, 120_000), SERVE_ONLY);
      expect(s3.count('GetObject')).toBe(1000);
      expectSameCounters(served, await analyzeCounters('s3://central-logs/org/', s3env));
      // its folders were found with a delimiter, and the objects listed from the first day of its window
      const lists = s3.calls.filter((c) => c.action === 'ListObjectsV2');
      const since = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '/');
      expect(lists.filter((c) => c.startAfter === `org/${STREAM}${since}`).length).toBeGreaterThan(0);
      const before = s3.count('GetObject');
      await until('another poll', async () => (s3.calls.filter((c) => c.action === 'ListObjectsV2').length > lists.length + 5 ? true : undefined));
      expect(s3.count('GetObject')).toBe(before);
    } finally {
      await e.stop();
    }
  }, 180_000);
});
