// The first boot of an instance, shaped in network namespaces: the exporter starts before the network
// (IMDS answers only seconds later, ip-ranges.json cannot be downloaded and there is no cached copy),
// while apt-get pulls from the in-region mirror: EC2 public addresses of the same region, $0.01/GB
// each way (regional_public), not internet. What is counted before the topology is known is held and
// classified once it is; bytes after are counted as ever; a host whose sources never answer counts
// what it held as unclassified after --topology.hold, and says so.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeImds } from './fakes/aws.js';
import { CLI, missingOutsideCi } from './helpers.js';
import { canUseNetns, ip, Lab, parseMetrics, until, waitForOutput } from './netns.js';

const id = String((process.pid % 10000) + 3);
const octet = (process.pid + 29) % 250;
const lab = new Lab(id);
const HOST_SIDE = `10.79.${octet}.1`;
const NODE_SIDE = `10.79.${octet}.2`;
const MIRROR = '54.144.10.20'; // EC2, us-east-1 in AWS's ip-ranges.json (the package's own copy)
const MAC0 = '0a:00:00:00:00:11';
const BEFORE = 3_000_000;
const AFTER = 2_000_000;

let NODE = '';
let VPC = '';
const imds = new FakeImds({
  region: 'us-east-1',
  zone: 'us-east-1a',
  zoneId: 'use1-az1',
  instanceId: 'i-0boot',
  interfaces: [{ mac: MAC0, vpcId: 'vpc-1', subnetId: 'subnet-a', subnet4: '10.81.1.0/24', vpc4: '10.81.0.0/16', local4: ['10.81.1.10'] }],
});

function exporter(port: number, extra: string[]): { c: ChildProcess; log: string[]; base: string } {
  const c = lab.spawn(
    NODE,
    process.execPath,
    // ip-ranges from a port nothing listens on: no download, no cache (a first boot); IMDS asleep
    [CLI, '--interface', 'eth0', '--ip-ranges.url', `http://${HOST_SIDE}:9/ip-ranges.json`, '--web.listen-address', `${NODE_SIDE}:${port}`, '--web.shutdown-grace', '0', '--workload.attribution', 'false', ...extra],
    { AWS_EC2_METADATA_DISABLED: 'false', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, AWS_REGION: '' },
  );
  const log: string[] = [];
  c.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  return { c, log, base: `http://${NODE_SIDE}:${port}` };
}

/** `bytes` pulled by NODE from the mirror (port 80), as apt does; resolves when all arrived. */
async function download(bytes: number): Promise<void> {
  const server = lab.spawn(VPC, process.execPath, ['-e', `require('net').createServer(s=>{s.end(Buffer.alloc(${bytes},7))}).listen(80,'${MIRROR}',()=>console.log('listening'))`]);
  await waitForOutput(server, /listening/);
  const client = lab.spawn(NODE, process.execPath, ['-e', `let n=0;const c=require('net').connect(80,'${MIRROR}');c.on('data',d=>n+=d.length);c.on('close',()=>{console.log('got '+n);process.exit(0)});setTimeout(()=>process.exit(1),20000)`]);
  await waitForOutput(client, new RegExp(`got ${bytes}`), 25_000);
  server.kill();
}

const metrics = async (base: string): Promise<Map<string, number>> => parseMetrics(await (await fetch(`${base}/metrics`)).text());
const sum = (m: Map<string, number>, prefix: string, part: string): number => [...m].filter(([k]) => k.startsWith(prefix) && k.includes(part)).reduce((s, [, v]) => s + v, 0);

describe.skipIf(missingOutsideCi(canUseNetns()))('the first boot: sources that answer late', () => {
  beforeAll(async () => {
    NODE = lab.ns('node');
    VPC = lab.ns('vpc');
    lab.veth(`bn${id}`, NODE, `bv${id}`, VPC);
    ip('-n', NODE, 'link', 'set', `bn${id}`, 'down');
    ip('-n', NODE, 'link', 'set', `bn${id}`, 'name', 'eth0');
    ip('-n', NODE, 'link', 'set', 'eth0', 'address', MAC0);
    ip('-n', NODE, 'link', 'set', 'eth0', 'up');
    ip('-n', NODE, 'addr', 'add', '10.81.1.10/24', 'dev', 'eth0');
    ip('-n', NODE, 'route', 'add', 'default', 'via', '10.81.1.1', 'dev', 'eth0');
    ip('-n', VPC, 'addr', 'add', '10.81.1.1/24', 'dev', `bv${id}`);
    ip('-n', VPC, 'addr', 'add', `${MIRROR}/32`, 'dev', `bv${id}`);
    // the exporter's way to the fake IMDS and to this test's scrapes
    lab.veth(`bh${id}`, undefined, 'hx0', NODE);
    ip('addr', 'add', `${HOST_SIDE}/30`, 'dev', `bh${id}`);
    ip('-n', NODE, 'addr', 'add', `${NODE_SIDE}/30`, 'dev', 'hx0');
    imds.asleep = true;
    await imds.start(HOST_SIDE);
  }, 60_000);

  afterAll(async () => {
    lab.cleanup();
    await imds.stop();
  });

  it('3 MB before IMDS answers and 2 MB after: all regional_public, none internet; not ready until then', async () => {
    const e = exporter(9981, []);
    await waitForOutput(e.c, /serving metrics on/);
    await until('capturing', async () => ((await metrics(e.base)).get('aztraffic_capture_up{interface="eth0"}') === 1 ? true : undefined));
    await download(BEFORE);
    // held: not ready, nothing on any bill line, IMDS never answered
    let m = await until('held', async () => {
      const x = await metrics(e.base);
      return (x.get('aztraffic_held_flows') ?? 0) > 0 ? x : undefined;
    });
    expect((await fetch(`${e.base}/-/ready`)).status).toBe(503);
    expect(m.get('aztraffic_topology_source_answered{source="imds"}')).toBe(0);
    expect(m.get('aztraffic_topology_source_answered{source="ip_ranges"}')).toBe(1); // the package's own copy
    expect(sum(m, 'aztraffic_bytes_total{', 'category="internet"')).toBe(0);
    // the network comes up: IMDS answers at its next retry (1 s doubling to 30 s)
    imds.asleep = false;
    m = await until('held bytes classified', async () => {
      const x = await metrics(e.base);
      return (x.get('aztraffic_held_bytes_total{outcome="classified"}') ?? 0) >= BEFORE ? x : undefined;
    }, 45_000);
    expect((await fetch(`${e.base}/-/ready`)).status).toBe(200);
    expect(m.get('aztraffic_topology_data_created_timestamp_seconds{source="ip_ranges"}')).toBe(Date.UTC(2026, 7, 22, 21, 17, 5) / 1000);
    await download(AFTER);
    m = await until('all counted', async () => {
      const x = await metrics(e.base);
      return sum(x, 'aztraffic_bytes_total{', 'category="regional_public"') >= BEFORE + AFTER ? x : undefined;
    });
    expect(sum(m, 'aztraffic_bytes_total{', 'category="internet"')).toBe(0);
    expect(sum(m, 'aztraffic_bytes_total{', 'category="unclassified"')).toBe(0);
    expect(m.get('aztraffic_remote_bytes_total{direction="ingress",category="regional_public",remote_az="",remote="54.144.10.20",port="80",path="direct"}')).toBeGreaterThanOrEqual(BEFORE + AFTER);
    expect(m.get('aztraffic_held_bytes_total{outcome="unclassified"}')).toBe(0);
    expect(e.log.join('')).toMatch(/using the package's own copy of 2026-08-22-21-17-05/);
    e.c.kill('SIGTERM');
    imds.asleep = true;
  }, 120_000);

  it('sources that never answer: what was held is counted unclassified after --topology.hold, and said', async () => {
    const e = exporter(9982, ['--topology.hold', '3s']);
    await waitForOutput(e.c, /serving metrics on/);
    await until('capturing', async () => ((await metrics(e.base)).get('aztraffic_capture_up{interface="eth0"}') === 1 ? true : undefined));
    await download(1_000_000);
    const m = await until('held bytes expired', async () => {
      const x = await metrics(e.base);
      return (x.get('aztraffic_held_bytes_total{outcome="unclassified"}') ?? 0) >= 1_000_000 ? x : undefined;
    }, 30_000);
    expect(sum(m, 'aztraffic_bytes_total{', 'category="unclassified"')).toBeGreaterThanOrEqual(1_000_000);
    expect(sum(m, 'aztraffic_bytes_total{', 'category="internet"')).toBe(0);
    expect(m.get('aztraffic_topology_source_answered{source="imds"}')).toBe(0);
    expect((await fetch(`${e.base}/-/ready`)).status).toBe(503);
    expect(e.log.join('')).toMatch(/topology sources imds never answered in 3 s \(--topology\.hold\): \d+ bytes held since start counted unclassified/);
    e.c.kill('SIGTERM');
  }, 90_000);
});
