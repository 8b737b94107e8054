// VPC Flow Logs as the story's team read them: a corpus shaped like the story (15 instances in one zone
// pulling 100 MB each from the in-region mirror's four addresses at boot), from a folder in AWS's key
// layout and from S3 (a fake with the real REST API: ListObjectsV2 pages, GetObject, a 403, throttling);
// and bad input: malformed lines named, a gzip cut short, a file that is no flow log.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ACCOUNT, BOOT, HEADER, host, INSTANCES, MB, mirrorAddresses, rec, STORY_TOPOLOGY, storyCorpus } from '../scripts/lib/story-flow-logs.js';
import { FakeS3 } from './fakes/s3.js';
import { FakeAthena } from './fakes/athena.js';
import { aggregateSql } from '../src/sources/flow-logs/aggregate-sql.js';
import { expandInputs } from '../src/sources/flow-logs/inputs.js';
import { runCli, SHARED_IP_RANGES, tempDir } from './helpers.js';

const dir = tempDir();
const MIRROR = mirrorAddresses(SHARED_IP_RANGES);

interface Report {
  capture: { duration_seconds: number; caveats: string[]; problems: { file: string; reason?: string; skipped_records?: number }[] };
  bill: { usage_type: string; bytes: number; paths: Record<string, number> }[];
  categories: { direction: string; category: string; bytes: number }[];
  remotes: { remote: string; category: string; ingress_bytes: number; egress_bytes: number; cost_dollars: number }[];
  workloads: { workload: string; workload_kind: string; ingress_bytes: number; categories: Record<string, number> }[];
}

const TOPO = join(dir, 'story.yaml');
const LOGS = join(dir, 'logs');
const env = { ...process.env, AZTRAFFIC_IP_RANGES_URL: 'none' };
const common = ['--topology.file', TOPO, '--ip-ranges.file', SHARED_IP_RANGES];
let corpus: { key: string; body: Buffer }[] = [];
let s3: FakeS3;

async function analyzeJson(args: string[], extraEnv: NodeJS.ProcessEnv = {}, status = 0): Promise<{ r: Report; stderr: string }> {
  const out = await runCli(['analyze', ...args, ...common, '--format', 'json'], { ...env, ...extraEnv });
  expect(out.status, out.stderr).toBe(status);
  return { r: JSON.parse(out.stdout) as Report, stderr: out.stderr };
}

beforeAll(async () => {
  writeFileSync(TOPO, YAML.stringify(STORY_TOPOLOGY));
  corpus = storyCorpus(MIRROR);
  for (const o of corpus) {
    const f = join(LOGS, o.key);
    mkdirSync(dirname(f), { recursive: true });
    writeFileSync(f, o.body);
  }
  s3 = await new FakeS3().start();
  s3.pageSize = 2;
  for (const o of corpus) s3.put('flow-logs', o.key, o.body);
});

afterAll(async () => {
  await s3.stop();
});

const ingress = (r: Report, category: string): number => r.categories.filter((c) => c.direction === 'ingress' && c.category === category).reduce((s, c) => s + c.bytes, 0);

describe("the story's question, answered from its flow logs", () => {
  it('1.5 GB of regional_public from the mirror at boot, the four mirror addresses on top, each instance its own workload', async () => {
    const { r } = await analyzeJson([LOGS]);
    // what the team's script summed: 15 machines × 100 MB
    expect(ingress(r, 'regional_public')).toBe(INSTANCES * 100 * MB);
    expect(r.bill.find((b) => b.usage_type === 'DataTransfer-Regional-Bytes')!.bytes).toBe(INSTANCES * (100 * MB + 4 * 5 * 90_000));
    expect(r.remotes.slice(0, 4).map((x) => x.remote).sort()).toEqual([...MIRROR].sort());
    expect(r.remotes.slice(0, 4).every((x) => x.category === 'regional_public' && x.ingress_bytes === INSTANCES * 25 * MB)).toBe(true);
    const workers = r.workloads.filter((w) => w.workload_kind === 'Instance');
    expect(workers.map((w) => w.workload).sort()).toEqual(Array.from({ length: INSTANCES }, (_x, i) => `worker-${i + 1}`).sort());
    expect(workers.every((w) => w.categories.regional_public === 100 * MB + 4 * 5 * 90_000)).toBe(true);
    // same-zone chatter is logged on both sides and free; the resolver is never billed
    expect(r.bill.map((b) => b.usage_type).sort()).toEqual(['DataTransfer-Regional-Bytes']);
    expect(r.capture.caveats.join('\n')).toMatch(/15 NODATA and 0 SKIPDATA/);
    expect(r.capture.duration_seconds).toBe(660);
  });

  it('read in threads (one per core) while this one counts, or in one: the same output to the byte, run after run', async () => {
    const one = await runCli(['analyze', LOGS, ...common, '--format', 'prometheus', '--read.parallel', 'off'], env);
    const [two, again] = await Promise.all([1, 2].map(() => runCli(['analyze', LOGS, ...common, '--format', 'prometheus', '--read.parallel', 'on', '--log.level', 'debug'], env)));
    expect(two.status, two.stderr).toBe(0);
    // each thread reads every other file: which is faster changes nothing
    expect(two.stderr).toContain(`flow logs: read in ${Math.min(availableParallelism(), 4, corpus.length)} thread(s) beside the counting one`);
    const counters = (t: string): string => t.replace(/^aztraffic_topology_last_success_timestamp_seconds.*$/gm, '');
    expect(counters(two.stdout)).toEqual(counters(one.stdout));
    expect(counters(again.stdout)).toEqual(counters(two.stdout));
    expect(two.stdout).toContain('aztraffic_workload_bytes_total');
  });

  it('--flow-logs.since picks the files by the time in their keys', async () => {
    const { r } = await analyzeJson([LOGS, '--flow-logs.since', '2026-12-01T08:12:00Z']);
    expect(ingress(r, 'regional_public')).toBe(0);
    expect(r.workloads.length).toBeGreaterThan(0);
  });

  it('the same from s3:// (ListObjectsV2 in pages, GetObject): equal output; a throttled object is retried, a denied one named and the exit 1', async () => {
    const { r: fromFolder } = await analyzeJson([LOGS]);
    const s3env = { AWS_ENDPOINT_URL_S3: s3.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
    s3.throttled.set(corpus[1].key, 2);
    const { r } = await analyzeJson([`s3://flow-logs/AWSLogs/${ACCOUNT}/vpcflowlogs/`], s3env);
    expect(r.bill).toEqual(fromFolder.bill);
    expect(r.remotes).toEqual(fromFolder.remotes);
    expect(r.workloads).toEqual(fromFolder.workloads);
    expect(s3.count('ListObjectsV2')).toBe(2); // three keys, two a page
    expect(s3.count('GetObject', 503)).toBe(2);
    s3.denied.add(corpus[2].key);
    const { r: partial, stderr } = await analyzeJson([`s3://flow-logs/AWSLogs/${ACCOUNT}/`], s3env, 1);
    expect(stderr).toContain(`s3://flow-logs/${corpus[2].key}: not read: AccessDenied (HTTP 403)`);
    expect(partial.capture.problems).toContainEqual({ file: `s3://flow-logs/${corpus[2].key}`, reason: expect.stringMatching(/AccessDenied/) as string });
    expect(ingress(partial, 'regional_public')).toBe(INSTANCES * 100 * MB);
    s3.denied.clear();
  });

  it('summed by embedded DuckDB first, from the folder and from s3://: the report of the stream engine, to the byte', async () => {
    const s3env = { AWS_ENDPOINT_URL_S3: s3.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
    const json = async (args: string[]): Promise<unknown> => {
      const out = await runCli(['analyze', ...args, ...common, '--format', 'json'], { ...env, ...s3env });
      expect(out.status, out.stderr).toBe(0);
      return JSON.parse(out.stdout.replace(/"lastSuccess":\s*[\d.]+/g, '"lastSuccess":0')) as unknown;
    };
    const [stream, duck, duckS3] = await Promise.all([json([LOGS]), json([LOGS, '--flow-logs.engine', 'duckdb']), json([`s3://flow-logs/AWSLogs/${ACCOUNT}/`, '--flow-logs.engine', 'duckdb'])]);
    expect(duck).toEqual(stream);
    // the same objects fetched through the SDK first (their names are the S3 keys' in the stream's report)
    expect((duckS3 as Report).bill).toEqual((stream as Report).bill);
    expect((duckS3 as Report).remotes).toEqual((stream as Report).remotes);
    expect((duckS3 as Report).workloads).toEqual((stream as Report).workloads);
  });

  it('summed by Athena over the table of the bucket: the one SQL text run where the logs lie, its results in pages, the same figures; a failed and a cancelled query named', async () => {
    const athena = await new FakeAthena().start();
    try {
      await athena.table('flowdb', 'vpc_flow_logs', expandInputs([LOGS], () => undefined));
      athena.pageSize = 7;
      const athenaEnv = { AWS_ENDPOINT_URL_ATHENA: athena.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
      const args = ['--flow-logs.engine', 'athena', '--athena.database', 'flowdb', '--athena.table', 'vpc_flow_logs', '--athena.output', 's3://athena-results/flow-logs/', '--athena.workgroup', 'finops'];
      const [{ r: stream }, { r, stderr }] = await Promise.all([analyzeJson([LOGS]), analyzeJson(args, athenaEnv)]);
      for (const k of ['bill', 'categories', 'remotes', 'workloads'] as const) expect(r[k], k).toEqual(stream[k]);
      expect(r.capture.caveats.join('\n')).toMatch(/summed by Athena \(query q-1\), which scanned 0\.123 GB/);
      expect(stderr).toMatch(/athena: query q-1 scanned 123456789 bytes/);
      // the statement sent is the aggregate the DuckDB engine runs, over the named table
      expect(athena.statements[0]).toEqual({ sql: aggregateSql({ from: '"flowdb"."vpc_flow_logs"' }), workgroup: 'finops', database: 'flowdb', output: 's3://athena-results/flow-logs/' });
      // polled until it ended, its rows read in pages of 7
      expect(athena.count('GetQueryExecution')).toBe(2);
      expect(athena.count('GetQueryResults')).toBeGreaterThan(3);
      // a time window reads only its days' partitions
      const { r: later } = await analyzeJson([...args, '--flow-logs.since', '2026-12-03T00:00:00Z'], athenaEnv);
      expect(athena.statements[1].sql).toContain(`WHERE "day" >= '2026/12/02'`);
      expect(ingress(later, 'regional_public')).toBe(0);
      // a query that fails, one that is cancelled: one line each, naming it and why
      athena.failNext = 'HIVE_BAD_DATA: Error parsing field value';
      const failed = await runCli(['analyze', ...args, ...common], { ...env, ...athenaEnv });
      expect(failed.status).not.toBe(0);
      expect(failed.stderr.trim()).toMatch(/athena:\/\/finops\/flowdb\.vpc_flow_logs: query q-3 failed: HIVE_BAD_DATA: Error parsing field value$/);
      athena.cancelNext = true;
      const cancelled = await runCli(['analyze', ...args, ...common], { ...env, ...athenaEnv });
      expect(cancelled.status).not.toBe(0);
      expect(cancelled.stderr.trim()).toMatch(/query q-4 was cancelled: Query cancelled by user$/);
      // files and Athena together: refused in one line
      const both = await runCli(['analyze', LOGS, ...args, ...common], { ...env, ...athenaEnv });
      expect(both.status).toBe(2);
      expect(both.stderr.trim()).toBe('az-traffic-exporter: --flow-logs.engine athena reads the table --athena.table names, not files: give no flow-log file with it');
    } finally {
      await athena.stop();
    }
  });

  it('every format: the page (html, self-contained), the exposition with the workloads, the table', async () => {
    const html = await runCli(['analyze', LOGS, ...common, '--format', 'html'], env);
    expect(html.status, html.stderr).toBe(0);
    expect(html.stdout).toContain(MIRROR[0]);
    expect(html.stdout).toContain('worker-1');
    expect(html.stdout).toContain('<title>az-traffic-exporter: flow-log report</title>');
    expect(html.stdout).toMatch(/<p class="hint" id="flow-logs">660 records of 3 object\(s\)/);
    expect(html.stdout).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
    const prom = await runCli(['analyze', LOGS, ...common, '--format', 'prometheus'], env);
    expect(prom.stdout).toMatch(/aztraffic_workload_bytes_total\{direction="ingress",category="regional_public",namespace="",workload="worker-3",workload_kind="Instance"\} 100000000/);
    const table = await runCli(['analyze', LOGS, ...common], env);
    expect(table.stdout).toMatch(/FLOW LOGS\n/);
    expect(table.stdout).toContain(MIRROR[1]);
  });
});

describe('pods in flow logs', () => {
  it("--pods: a pod's address on a node's interface names its pod's owner, the node's own address its instance", async () => {
    const pod = host(100); // a secondary address of worker-1's interface, the VPC CNI's way
    const records = [rec(0, MIRROR[0], pod, 80, 40000, 6, 10, 7000, BOOT), rec(0, MIRROR[0], host(0), 80, 40001, 6, 10, 3000, BOOT)];
    const f = join(dir, 'pods.log');
    writeFileSync(f, [HEADER.replace('log-status', 'log-status flow-direction'), ...records.map((x) => `${x} ingress`)].join('\n') + '\n');
    const pods = join(dir, 'pods.json');
    const item = { metadata: { name: 'web-5d4f8b9c7d-x2x9q', namespace: 'shop', uid: 'u1', labels: { 'pod-template-hash': '5d4f8b9c7d' }, creationTimestamp: '2026-12-01T07:00:00Z', ownerReferences: [{ kind: 'ReplicaSet', name: 'web-5d4f8b9c7d', controller: true }] }, spec: { nodeName: 'ip-10-1-0-10' }, status: { phase: 'Running', hostIP: host(0), podIP: pod, podIPs: [{ ip: pod }], startTime: '2026-12-01T07:00:00Z' } };
    writeFileSync(pods, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [item] }));
    const { r } = await analyzeJson([f, '--pods', pods]);
    const by = new Map(r.workloads.map((w) => [`${w.workload_kind}/${w.workload}`, w.ingress_bytes]));
    expect(by.get('Deployment/web')).toBe(7000);
    expect(by.get('Instance/worker-1')).toBe(3000);
  });
});

describe('bad flow-log input: counted and named, never a crash', () => {
  it('malformed lines are named by file and line and the rest counted; a gzip cut short counts what it held and says where it stopped', async () => {
    const good = rec(0, MIRROR[0], host(0), 80, 40000, 6, 10, 1000, BOOT);
    const bad = join(dir, 'bad.log');
    writeFileSync(bad, [HEADER, good, rec(0, '10.1.0.300', host(0), 80, 40000, 6, 10, 1000, BOOT), good, `${good} extra`, rec(0, MIRROR[0], host(0), 80, 40000, 6, 10, 1000, BOOT, 'MAYBE'), good].join('\n') + '\n');
    const { r, stderr } = await analyzeJson([bad]);
    expect(ingress(r, 'regional_public')).toBe(3000);
    expect(stderr).toContain('bad.log: 3 malformed line(s) not counted (line 3: an address that is none; line 5: wrong number of fields; line 6: an action that is neither ACCEPT nor REJECT)');
    // summed by DuckDB: the same records counted, the same lines left out and named (bad values by reason)
    const { r: duck, stderr: duckSaid } = await analyzeJson([bad, '--flow-logs.engine', 'duckdb']);
    expect(ingress(duck, 'regional_public')).toBe(3000);
    expect(duckSaid).toContain('bad.log: 3 malformed line(s) not counted (1 line(s): an action that is neither ACCEPT nor REJECT; 1 line(s): an address that is none; line 5: wrong number of fields)');
    // cut in its middle: the lines before the cut are counted, the exit code says the file was not read to its end
    const lines = [HEADER, ...Array.from({ length: 20_000 }, (_x, k) => rec(k % INSTANCES, MIRROR[k % 4], host(k % INSTANCES), 80, 40000, 6, 1, 100, BOOT))].join('\n');
    const whole = gzipSync(lines);
    const cut = join(dir, 'cut.log.gz');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const { r: part, stderr: said } = await analyzeJson([cut], {}, 1);
    const counted = ingress(part, 'regional_public');
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBeLessThan(20_000 * 100);
    expect(said).toMatch(new RegExp(`cut\\.log\\.gz: read ${counted / 100} records, then stopped at line \\d+: unexpected end of file`));
    // DuckDB reads a cut gzip as far as it goes without a word: unpacked beside it, the cut is said alike
    const { r: duckPart, stderr: duckSaid2 } = await analyzeJson([cut, '--flow-logs.engine', 'duckdb'], {}, 1);
    expect(ingress(duckPart, 'regional_public')).toBe(counted);
    expect(duckSaid2).toMatch(new RegExp(`cut\\.log\\.gz: read ${counted / 100} records, then stopped at line \\d+: unexpected end of file \\(the lines before it were counted\\)`));
    expect(duckPart.capture.problems).toEqual(part.capture.problems.map((p) => ({ ...p, reason: `${p.reason} (the lines before it were counted)` })));
  });

  it('IPv6 records, REJECT and SKIPDATA: the IPv6 host counted for its interface (in both threads alike); rejected and skipped records counted apart and said', async () => {
    const v6Host = '2600:1f18:1234:5600::15';
    const google = '2a00:1450:4001:81b::200e';
    const lines = [
      `${HEADER} flow-direction`,
      `${rec(0, v6Host, google, 40000, 443, 6, 10, 1000, BOOT)} egress`,
      `${rec(0, google, v6Host, 443, 40000, 6, 10, 250, BOOT)} ingress`,
      `${rec(0, '198.51.100.7', host(0), 5000, 22, 6, 5, 5000, BOOT, 'REJECT')} ingress`,
      `2 ${ACCOUNT} eni-0a000 - - - - - - - ${BOOT} ${BOOT + 60} - SKIPDATA -`,
    ];
    const f = join(dir, 'v6.log');
    writeFileSync(f, lines.join('\n') + '\n');
    for (const parallel of ['on', 'off']) {
      const { r } = await analyzeJson([f, '--read.parallel', parallel]);
      expect(r.categories.filter((c) => c.category === 'internet').map((c) => [c.direction, c.bytes]).sort()).toEqual([
        ['egress', 1000],
        ['ingress', 250],
      ]);
      expect(r.remotes.map((x) => x.remote)).toEqual([google]);
      expect(r.workloads.map((w) => [w.workload, w.workload_kind, w.ingress_bytes])).toEqual([['worker-1', 'Instance', 250]]);
      const said = r.capture.caveats.join('\n');
      expect(said).toMatch(/0 NODATA and 1 SKIPDATA record\(s\): SKIPDATA means AWS could not log some flows/);
      expect(said).toMatch(/1 REJECT record\(s\), 0\.000005 GB: dropped by a security group or network ACL at the interface, not counted/);
    }
  });

  it('a file that is neither a capture nor a flow log: one line, exit 2', async () => {
    const f = join(dir, 'notes.txt');
    writeFileSync(f, 'hello world\nthis is not a flow log\n');
    const r = await runCli(['analyze', f, ...common], env);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('notes.txt: neither a pcap/pcapng capture nor a VPC flow log (its first line, "hello world", is no header of flow-log fields nor a default-format record)');
  });
});
