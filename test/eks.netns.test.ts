// An EKS node, shaped in network namespaces as the AWS VPC CNI makes it: NODE has two ENIs (eth0 and
// eth1, with the MACs a fake IMDS lists); a pod in namespace POD sits behind a veth with a /32 route,
// its address taken from a /28 prefix delegated to eth1, and policy routing sends its traffic out of
// eth1. VPC holds the VPC router and a server in another zone. A fake API server (through KUBECONFIG)
// says the pod is shop/checkout's. The exporter must learn the prefix from IMDS (after it starts: the
// CNI adds prefixes over time), capture eth1 because IMDS lists it, and count the pod's transfer once
// (not as transit, not twice) and as the pod's workload; with --interface any too, where the packet is
// seen on the veth and again on eth1 after routing.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeImds, type ImdsData } from './fakes/aws.js';
import { deploymentPod, FakeKube } from './fakes/kube.js';
import { CLI, missingOutsideCi, tempDir } from './helpers.js';
import { canUseNetns, ip, Lab, parseMetrics, until, waitForOutput } from './netns.js';

const id = String((process.pid % 10000) + 2);
const octet = (process.pid + 13) % 250;
const lab = new Lab(id);
const dir = tempDir();
const HOST_SIDE = `10.78.${octet}.1`;
const NODE_SIDE = `10.78.${octet}.2`;
const POD_IP = '10.80.1.50';
const SERVER = '10.80.2.20';
const BYTES = 1_000_000;
const MAC0 = '0a:00:00:00:00:01';
const MAC1 = '0a:00:00:00:00:02';

let NODE = '';
let POD = '';
let VPC = '';
const imds = new FakeImds({
  region: 'us-east-1',
  zone: 'us-east-1a',
  zoneId: 'use1-az1',
  instanceId: 'i-0eks',
  interfaces: [
    { mac: MAC0, vpcId: 'vpc-1', subnetId: 'subnet-a', subnet4: '10.80.1.0/24', vpc4: '10.80.0.0/16', local4: ['10.80.1.10'] },
    // the secondary ENI: no delegated prefix yet (the CNI adds it later)
    { mac: MAC1, vpcId: 'vpc-1', subnetId: 'subnet-a', subnet4: '10.80.1.0/24', vpc4: '10.80.0.0/16', local4: ['10.80.1.11'] },
  ],
} satisfies ImdsData);
const kube = new FakeKube();
const exporters: { c: ChildProcess; base: string; log: string[] }[] = [];

/** A veth pair made under temporary names and renamed in its namespaces (eth0 exists on the host). */
function veth(a: string, nsA: string, b: string, nsB: string): void {
  const ta = `ta${id}`;
  const tb = `tb${id}`;
  lab.veth(ta, nsA, tb, nsB);
  for (const [ns, from, to] of [
    [nsA, ta, a],
    [nsB, tb, b],
  ]) {
    ip('-n', ns, 'link', 'set', from, 'down');
    ip('-n', ns, 'link', 'set', from, 'name', to);
    ip('-n', ns, 'link', 'set', to, 'up');
  }
}

function sysctl(ns: string, ...settings: string[]): void {
  for (const s of settings) lab.exec(ns, 'sysctl', ['-qw', s]);
}

async function startExporter(port: number, extra: string[]): Promise<{ c: ChildProcess; base: string; log: string[] }> {
  const c = lab.spawn(
    NODE,
    process.execPath,
    [CLI, '--topology.file', join(dir, 'topology.yaml'), '--topology.refresh-interval', '1s', '--kubernetes.node-name', 'node-a', '--web.listen-address', `${NODE_SIDE}:${port}`, '--web.shutdown-grace', '0', ...extra],
    { AWS_EC2_METADATA_DISABLED: 'false', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, KUBECONFIG: join(dir, 'kubeconfig') },
  );
  const log: string[] = [];
  c.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
  const base = (await waitForOutput(c, /serving metrics on (http:\/\/\S+?)\/metrics/))[1];
  const e = { c, base, log };
  exporters.push(e);
  return e;
}

const metrics = async (base: string): Promise<Map<string, number>> => parseMetrics(await (await fetch(`${base}/metrics`)).text());

function sum(m: Map<string, number>, prefix: string, ...parts: string[]): number {
  let s = 0;
  for (const [k, v] of m) if (k.startsWith(prefix + '{') && parts.every((p) => k.includes(p))) s += v;
  return s;
}

describe.skipIf(missingOutsideCi(canUseNetns()))('an EKS-shaped node: two ENIs, a delegated prefix, policy routing', () => {
  let eni: Awaited<ReturnType<typeof startExporter>>;
  let any: Awaited<ReturnType<typeof startExporter>>;

  beforeAll(async () => {
    NODE = lab.ns('node');
    POD = lab.ns('pod');
    VPC = lab.ns('vpc');
    // the VPC: a router on a bridge both ENIs plug into, and a server in another zone's subnet
    ip('-n', VPC, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', VPC, 'link', 'set', 'br0', 'up');
    ip('-n', VPC, 'addr', 'add', '10.80.1.1/24', 'dev', 'br0');
    ip('-n', VPC, 'addr', 'add', `${SERVER}/32`, 'dev', 'br0');
    veth('eth0', NODE, 'v0', VPC);
    veth('eth1', NODE, 'v1', VPC);
    for (const v of ['v0', 'v1']) ip('-n', VPC, 'link', 'set', v, 'master', 'br0');
    ip('-n', VPC, 'route', 'add', '10.80.1.48/28', 'via', '10.80.1.11');
    ip('-n', NODE, 'link', 'set', 'eth0', 'address', MAC0);
    ip('-n', NODE, 'link', 'set', 'eth1', 'address', MAC1);
    ip('-n', NODE, 'addr', 'add', '10.80.1.10/24', 'dev', 'eth0');
    ip('-n', NODE, 'addr', 'add', '10.80.1.11/32', 'dev', 'eth1');
    ip('-n', NODE, 'route', 'add', 'default', 'via', '10.80.1.1', 'dev', 'eth0');
    sysctl(NODE, 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.eth0.rp_filter=0', 'net.ipv4.conf.eth1.rp_filter=0');
    // the pod: a veth, a /32 route to it, and its traffic out of the second ENI (as the VPC CNI does)
    lab.pod(NODE, 'vpod0', POD, POD_IP);
    ip('-n', NODE, 'rule', 'add', 'from', '10.80.1.48/28', 'lookup', '2', 'pref', '100');
    ip('-n', NODE, 'route', 'add', '10.80.1.1', 'dev', 'eth1', 'scope', 'link', 'table', '2');
    ip('-n', NODE, 'route', 'add', 'default', 'via', '10.80.1.1', 'dev', 'eth1', 'table', '2');
    sysctl(NODE, 'net.ipv4.conf.vpod0.rp_filter=0');
    // the exporter's way out: fake IMDS, fake API server and scrapes on a veth to this test
    lab.veth(`azk${id}`, undefined, 'hx0', NODE);
    ip('addr', 'add', `${HOST_SIDE}/30`, 'dev', `azk${id}`);
    ip('-n', NODE, 'addr', 'add', `${NODE_SIDE}/30`, 'dev', 'hx0');

    await imds.start(HOST_SIDE);
    await kube.start(dir, HOST_SIDE);
    kube.setOwner('ReplicaSet', 'shop', 'checkout-6f7d8', { kind: 'Deployment', name: 'checkout' });
    kube.add(deploymentPod({ name: 'checkout-6f7d8-q2w3e', namespace: 'shop', deployment: 'checkout', hash: '6f7d8', node: 'node-a', ip: POD_IP, hostIp: '10.80.1.10' }));
    writeFileSync(join(dir, 'kubeconfig'), kube.kubeconfig());
    writeFileSync(join(dir, 'topology.yaml'), 'region: us-east-1\nsubnets:\n  - {cidr: 10.80.2.0/24, zone: us-east-1b, zone_id: use1-az2}\n  - {cidr: 10.78.0.0/16, zone: us-east-1a, zone_id: use1-az1}\n');

    eni = await startExporter(9977, []);
    any = await startExporter(9978, ['--interface', 'any']);
    // eth1 is captured because IMDS lists its MAC
    await until('eth1 captured', async () => ((await metrics(eni.base)).get('aztraffic_capture_up{interface="eth1"}') === 1 ? true : undefined));
    // the CNI delegates a prefix to eth1: the exporter learns it at its next IMDS refresh
    imds.data.interfaces[1].prefix4 = ['10.80.1.48/28'];
    for (const e of [eni, any]) await until('prefix learned', async () => (e.log.join('').includes('10.80.1.48/28') ? true : undefined));
    // both exporters: the transfer below is one burst, and bytes counted before an exporter knows the pod are not its
    for (const e of [eni, any]) await until('pod known', async () => ((await metrics(e.base)).get('aztraffic_kubernetes_pods') === 1 ? true : undefined));

    const sink = lab.spawn(VPC, process.execPath, ['-e', `require('net').createServer(s=>{s.resume();s.on('end',()=>s.end())}).listen(5001,'${SERVER}',()=>console.log('listening'))`]);
    await waitForOutput(sink, /listening/);
    const sender = lab.spawn(POD, process.execPath, [
      '-e',
      `const c=require('net').connect(5001,'${SERVER}',()=>c.end(Buffer.alloc(${BYTES},1)));c.resume();c.on('close',()=>console.log('sent'));setTimeout(()=>process.exit(1),20000)`,
    ]);
    await waitForOutput(sender, /sent/, 25_000);
  }, 90_000);

  afterAll(async () => {
    lab.cleanup();
    await imds.stop();
    await kube.stop();
  });

  for (const which of ['ENIs (default)', '--interface any'] as const) {
    it(`counts the pod's transfer through the second ENI once, as cross_az and as its Deployment: ${which}`, async () => {
      const e = which === '--interface any' ? any : eni;
      const egress = 'direction="egress",category="cross_az"';
      const m = await until('counted', async () => {
        const x = await metrics(e.base);
        return sum(x, 'aztraffic_bytes_total', egress) >= BYTES ? x : undefined;
      });
      const bytes = sum(m, 'aztraffic_bytes_total', egress);
      // once: the payload plus TCP/IP headers (under 8% at this MSS), never twice
      expect(bytes).toBeGreaterThanOrEqual(BYTES);
      expect(bytes).toBeLessThan(BYTES * 1.08);
      expect(sum(m, 'aztraffic_workload_bytes_total', egress, 'namespace="shop"', 'workload="checkout"', 'workload_kind="Deployment"')).toBe(bytes);
      expect(sum(m, 'aztraffic_bytes_total', 'local_az="us-east-1a"', 'remote_az="us-east-1b"', egress)).toBe(bytes);
      // the pod's address is local (the delegated prefix): none of its ~700 packets is transit (what is:
      // the links' own IPv6 neighbour discovery and MLD, from :: or to multicast)
      expect(m.get('aztraffic_transit_packets_total') ?? 0).toBeLessThan(50);
      if (which === '--interface any') expect(m.get('aztraffic_duplicate_packets_total')).toBeGreaterThan(0);
      else expect(m.get('aztraffic_capture_packets_total{interface="eth1"}')).toBeGreaterThan(0);
    });
  }
});
