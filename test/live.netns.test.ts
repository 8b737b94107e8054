// The live exporter on a real interface: namespaces H (the monitored host), A (same zone) and B (another
// zone) on one bridge; H also has a veth to this test's namespace for scraping. A bounded, known TCP
// transfer and UDP burst from H must show up with the right category, zones, direction and bytes; a
// real Prometheus scrapes it and answers PromQL about it.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, missingOutsideCi, tempDir } from './helpers.js';

/** The environment of an exporter that is not on an EC2 instance (the SDK's own switch). */
const NOT_EC2 = { AWS_EC2_METADATA_DISABLED: 'true' };
import { canUseNetns, ip, Lab, parseMetrics, sh, until, waitForOutput } from './netns.js';

const id = String(process.pid % 10000);
const octet = process.pid % 250;
const lab = new Lab(id);
const dir = tempDir();
const TCP_BYTES = 2_000_000;
const UDP_COUNT = 200;
const UDP_SIZE = 1000;

let H = '';
let A = '';
let B = '';
let SW = '';
let topo = '';
let exporter: ChildProcess;
let base = '';

const TOPOLOGY = `region: us-east-1
subnets:
  - {cidr: 10.77.1.0/24, zone: us-east-1a, zone_id: use1-az1}
  - {cidr: 10.77.2.0/24, zone: us-east-1b, zone_id: use1-az2}
`;

async function metrics(): Promise<Map<string, number>> {
  return parseMetrics(await (await fetch(`${base}/metrics`)).text());
}

let retransBefore = 0;
let retransAfter = 0;
const MSS = 1460; // MTU 1500 - 40

/** The namespace's TcpRetransSegs: segments TCP sent again (GSO segments counted one by one). */
function retransmittedSegments(ns: string): number {
  const out = sh('ip', ['netns', 'exec', ns, 'nstat', '-az', 'TcpRetransSegs']);
  return Number(/TcpRetransSegs\s+(\d+)/.exec(out)?.[1] ?? NaN);
}

const node = (ns: string, script: string): ChildProcess => lab.spawn(ns, process.execPath, ['-e', script]);

describe.skipIf(missingOutsideCi(canUseNetns()))('live capture in network namespaces', () => {
  beforeAll(async () => {
    H = lab.ns('h');
    A = lab.ns('a');
    B = lab.ns('b');
    SW = lab.ns('sw');
    ip('-n', SW, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', SW, 'link', 'set', 'br0', 'up');
    for (const [ns, name, addr] of [
      [H, 'h', '10.77.1.10/16'],
      [A, 'a', '10.77.1.20/16'],
      [B, 'b', '10.77.2.20/16'],
    ]) {
      lab.veth(`${name}0`, ns, `sw-${name}`, SW);
      ip('-n', SW, 'link', 'set', `sw-${name}`, 'master', 'br0');
      ip('-n', ns, 'addr', 'add', addr, 'dev', `${name}0`);
    }
    // scrape path: host side 10.78.N.1, H side 10.78.N.2
    lab.veth(`azt${id}`, undefined, 'hx0', H);
    ip('addr', 'add', `10.78.${octet}.1/30`, 'dev', `azt${id}`);
    ip('-n', H, 'addr', 'add', `10.78.${octet}.2/30`, 'dev', 'hx0');

    topo = join(dir, 'topology.yaml');
    writeFileSync(topo, TOPOLOGY);
    exporter = lab.spawn(H, process.execPath, [
      CLI,
      '--interface',
      'h0',
      '--topology.file',
      topo,
      '--web.listen-address',
      `10.78.${octet}.2:9977`,
      '--web.shutdown-grace',
      '1',
      // not an EC2 instance: IMDS is off, not waited for (a topology source that never answers holds the traffic)
    ], NOT_EC2);
    const m = await waitForOutput(exporter, /serving metrics on (http:\/\/\S+?)\/metrics/);
    base = m[1];
    await until('capture running', async () => ((await fetch(`${base}/-/ready`)).status === 200 ? true : undefined));

    // receivers: a TCP sink in A, a UDP sink in B
    const tcp = node(A, `require('net').createServer(s=>{s.resume();s.on('end',()=>s.end())}).listen(5001,'10.77.1.20',()=>console.log('listening'))`);
    const udp = node(B, `const s=require('dgram').createSocket('udp4');s.on('message',()=>{});s.bind(9999,'10.77.2.20',()=>console.log('listening'))`);
    await Promise.all([waitForOutput(tcp, /listening/), waitForOutput(udp, /listening/)]);
    retransBefore = retransmittedSegments(H);
    const sender = node(
      H,
      `const net=require('net'),dgram=require('dgram');
const c=net.connect(5001,'10.77.1.20',()=>{c.end(Buffer.alloc(${TCP_BYTES},1))});
c.resume();
c.on('close',async()=>{const u=dgram.createSocket('udp4');const b=Buffer.alloc(${UDP_SIZE},2);
for(let i=0;i<${UDP_COUNT};i++){await new Promise(r=>u.send(b,9999,'10.77.2.20',r));}
u.close();console.log('sent')});
setTimeout(()=>{console.log('timeout');process.exit(1)},20000);`,
    );
    await waitForOutput(sender, /sent/, 25_000);
    retransAfter = retransmittedSegments(H);
  }, 90_000);

  afterAll(() => lab.cleanup());

  it('counts the TCP transfer as same_az and the UDP burst as cross_az, with zones, direction and IP bytes', async () => {
    const cross = 'aztraffic_bytes_total{direction="egress",category="cross_az",local_az="us-east-1a",remote_az="us-east-1b"}';
    const m = await until('UDP burst counted', async () => {
      const x = await metrics();
      return (x.get(cross) ?? 0) >= UDP_COUNT * (UDP_SIZE + 28) ? x : undefined;
    });
    // UDP over IPv4 without options: exactly payload + 8 + 20 per datagram
    expect(m.get(cross)).toBe(UDP_COUNT * (UDP_SIZE + 28));
    expect(m.get('aztraffic_packets_total{direction="egress",category="cross_az",local_az="us-east-1a",remote_az="us-east-1b"}')).toBe(UDP_COUNT);

    const sameKey = 'direction="egress",category="same_az",local_az="us-east-1a",remote_az="us-east-1a"';
    const same = m.get(`aztraffic_bytes_total{${sameKey}}`)!;
    const samePackets = m.get(`aztraffic_packets_total{${sameKey}}`)!;
    // TCP: the payload plus 40 to 80 bytes of IP and TCP headers (options) per packet, plus what TCP
    // really sent again: each retransmitted segment (the kernel's own count) at most one MSS of payload
    expect(same - TCP_BYTES).toBeGreaterThanOrEqual(40 * samePackets);
    expect(same - TCP_BYTES).toBeLessThanOrEqual(80 * samePackets + (retransAfter - retransBefore) * MSS);
    // A's ACKs come back: ingress, same zone
    expect(m.get('aztraffic_bytes_total{direction="ingress",category="same_az",local_az="us-east-1a",remote_az="us-east-1a"}')).toBeGreaterThan(0);
    // per remote, with the service port
    expect(m.get('aztraffic_remote_bytes_total{direction="egress",category="same_az",remote_az="us-east-1a",remote="10.77.1.20",port="5001",path="direct"}')).toBe(same);
    expect(m.get('aztraffic_remote_bytes_total{direction="egress",category="cross_az",remote_az="us-east-1b",remote="10.77.2.20",port="9999",path="direct"}')).toBe(UDP_COUNT * (UDP_SIZE + 28));
    expect(m.get('aztraffic_capture_up{interface="h0"}')).toBe(1);
    expect(m.get('aztraffic_interface_packets_total{interface="h0",direction="egress"}')).toBeGreaterThanOrEqual(UDP_COUNT);
  });

  it('promtool check metrics finds nothing on /metrics', async () => {
    const body = await (await fetch(`${base}/metrics`)).text();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('a real Prometheus scrapes it and answers PromQL on aztraffic_bytes_total', async () => {
    const data = join(dir, 'prom');
    mkdirSync(data);
    const cfg = join(dir, 'prometheus.yml');
    writeFileSync(cfg, `global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: aztraffic\n    static_configs: [{targets: ['10.78.${octet}.2:9977']}]\n`);
    const port = 19090 + (process.pid % 500);
    const prom = lab.spawn(H, 'prometheus', [`--config.file=${cfg}`, `--storage.tsdb.path=${data}`, `--web.listen-address=10.78.${octet}.2:${port}`]);
    await waitForOutput(prom, /Server is ready to receive web requests/, 30_000);
    const q = encodeURIComponent('sum by (direction, category, local_az, remote_az) (aztraffic_bytes_total{category=~"same_az|cross_az"})');
    const result = await until(
      'Prometheus has the series',
      async () => {
        const r = (await (await fetch(`http://10.78.${octet}.2:${port}/api/v1/query?query=${q}`)).json()) as {
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        return r.data.result.length >= 3 ? r.data.result : undefined;
      },
      30_000,
      500,
    );
    const series = result.map((r) => r.metric);
    expect(series).toContainEqual({ direction: 'egress', category: 'cross_az', local_az: 'us-east-1a', remote_az: 'us-east-1b' });
    expect(series).toContainEqual({ direction: 'egress', category: 'same_az', local_az: 'us-east-1a', remote_az: 'us-east-1a' });
    expect(series).toContainEqual({ direction: 'ingress', category: 'same_az', local_az: 'us-east-1a', remote_az: 'us-east-1a' });
    const cross = result.find((r) => r.metric.category === 'cross_az')!;
    expect(Number(cross.value[1])).toBe(UDP_COUNT * (UDP_SIZE + 28));
    prom.kill('SIGTERM');
  }, 60_000);

  it('a missing interface: not ready, visible in metrics, retried until it appears', async () => {
    const late = lab.spawn(H, process.execPath, [CLI, '--interface', 'late0', '--web.listen-address', `10.78.${octet}.2:9978`, '--web.shutdown-grace', '0'], NOT_EC2);
    const url = (await waitForOutput(late, /serving metrics on (http:\/\/\S+?)\/metrics/))[1];
    expect((await fetch(`${url}/-/ready`)).status).toBe(503);
    expect((await fetch(`${url}/-/healthy`)).status).toBe(200);
    await until('an error counted', async () => {
      const m = parseMetrics(await (await fetch(`${url}/metrics`)).text());
      return (m.get('aztraffic_capture_errors_total{interface="late0"}') ?? 0) >= 1 && m.get('aztraffic_capture_up{interface="late0"}') === 0 ? true : undefined;
    });
    ip('-n', H, 'link', 'add', 'late0', 'type', 'veth', 'peer', 'name', 'late1');
    ip('-n', H, 'link', 'set', 'late0', 'up');
    await until('ready after retry', async () => ((await fetch(`${url}/-/ready`)).status === 200 ? true : undefined), 20_000);
    // SIGTERM: stop and exit 0
    const exited = new Promise<number | null>((r) => late.on('exit', r));
    late.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);

  it('on "any", a packet seen on a bridge port and on the next port is counted once', async () => {
    // the exporter in the switch namespace sees every frame on sw-h as it comes in and on sw-b as it
    // goes out: two captures of one packet
    const port = 9979;
    const anyExp = lab.spawn(SW, process.execPath, [CLI, '--interface', 'any', '--local-ip', '10.77.1.10', '--topology.file', topo, '--web.listen-address', `127.0.0.1:${port}`, '--web.shutdown-grace', '0'], NOT_EC2);
    await waitForOutput(anyExp, /serving metrics/);
    const scrape = (): Map<string, number> =>
      parseMetrics(sh('ip', ['netns', 'exec', SW, process.execPath, '-e', `fetch('http://127.0.0.1:${port}/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))`]));
    await until('capture on any running', async () => (scrape().get('aztraffic_capture_up{interface="any"}') === 1 ? true : undefined));
    const sender = node(
      H,
      `const u=require('dgram').createSocket('udp4');const b=Buffer.alloc(500,3);(async()=>{for(let i=0;i<50;i++){await new Promise(r=>u.send(b,9999,'10.77.2.20',r));}u.close();console.log('sent')})()`,
    );
    await waitForOutput(sender, /sent/);
    const key = 'aztraffic_remote_bytes_total{direction="egress",category="cross_az",remote_az="us-east-1b",remote="10.77.2.20",port="9999",path="direct"}';
    const m = await until('burst counted', async () => {
      const x = scrape();
      return (x.get(key) ?? 0) >= 50 * 528 ? x : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(scrape().get(key)).toBe(50 * 528);
    expect(m.get('aztraffic_duplicate_packets_total')).toBeGreaterThanOrEqual(50);
    anyExp.kill('SIGTERM');
  }, 60_000);
});
