// Generates the bundled demo: demo/demo.pcapng, demo/topology.yaml, demo/ip-ranges.json.
// The host is in a private subnet: the internet, the mirror and other regions are reached through a
// NAT gateway in another zone (the bill lines: NatGateway-Bytes, and a cross-zone leg to reach it).
// The story: a host in us-east-1d whose boot-time `apt-get update` pulls from the in-region Ubuntu
// mirror (EC2 public IPs: regional_public), DNS from the VPC resolver in another AZ (internal, not
// billed), Kafka in the same AZ, a database in another AZ, a peered VPC whose zone *name* matches ours
// but whose zone ID does not, S3, GitHub, an SQS queue in eu-west-1, a VPN peer and IMDS.
// Deterministic: run `npm run make-demo` and commit the output.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dnsPacket from 'dns-packet';
import YAML from 'yaml';
import { arp, ethernet, ipv4, ipv6, PcapngWriter, type L4 } from './lib/frames.js';

// DEMO_OUT: write elsewhere (the test suite checks that the bundled demo is what this script makes)
const OUT = process.env.DEMO_OUT ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'demo');
const START = Date.UTC(2026, 0, 15, 6, 0, 0) / 1000; // boot time
const DURATION = 30;
const SNAPLEN = 512; // whole DNS answers, headers of everything else

export const HOST4 = '172.31.51.15';
export const HOST6 = '2600:1f18:1234:5600::15';
const RESOLVER = '172.31.0.2';

let seed = 20260115;
function rand(): number {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

interface Pkt {
  ts: number;
  frame: Buffer;
}
const packets: Pkt[] = [];

function ip(src: string, dst: string, l4: L4): Buffer {
  return src.includes(':') ? ipv6({ src, dst, l4 }) : ipv4({ src, dst, l4 });
}

function dnsExchange(t: number, name: string, type: 'A' | 'AAAA', answers: dnsPacket.Answer[]): void {
  const id = Math.floor(rand() * 65535);
  const port = 40000 + Math.floor(rand() * 20000);
  const q = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] });
  const r = dnsPacket.encode({
    type: 'response',
    id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type, name }],
    answers,
  });
  packets.push({ ts: t, frame: ethernet(ip(HOST4, RESOLVER, { proto: 17, sport: port, dport: 53, payload: q })) });
  packets.push({ ts: t + 0.0004, frame: ethernet(ip(RESOLVER, HOST4, { proto: 17, sport: 53, dport: port, payload: r })) });
}

/** A TCP flow: `out` packets of `outSize` IP bytes from the host, `inn` of `inSize` to it, spread over [t0, t1]. */
function flow(local: string, remote: string, port: number, t0: number, t1: number, out: number, outSize: number, inn: number, inSize: number): void {
  const sport = 32768 + Math.floor(rand() * 28000);
  const hdr = local.includes(':') ? 60 : 40;
  for (let i = 0; i < out; i++) {
    const frame = ethernet(ip(local, remote, { proto: 6, sport, dport: port, payloadLen: outSize - hdr }));
    packets.push({ ts: t0 + rand() * (t1 - t0), frame });
  }
  for (let i = 0; i < inn; i++) {
    const frame = ethernet(ip(remote, local, { proto: 6, sport: port, dport: sport, payloadLen: inSize - hdr }));
    packets.push({ ts: t0 + rand() * (t1 - t0), frame });
  }
}

const A = (name: string, data: string, ttl = 60): dnsPacket.Answer => ({ type: 'A', name, ttl, data });
const CNAME = (name: string, data: string): dnsPacket.Answer => ({ type: 'CNAME', name, ttl: 300, data });

// boot: name lookups first
const mirror = 'us-east-1.ec2.archive.ubuntu.com';
dnsExchange(0.01, mirror, 'A', [A(mirror, '54.144.10.20'), A(mirror, '54.144.10.21')]);
dnsExchange(0.02, 'mydb.cluster-c9x1.us-east-1.rds.amazonaws.com', 'A', [
  CNAME('mydb.cluster-c9x1.us-east-1.rds.amazonaws.com', 'mydb-instance-1.c9x1.us-east-1.rds.amazonaws.com'),
  A('mydb-instance-1.c9x1.us-east-1.rds.amazonaws.com', '172.31.20.10', 5),
]);
dnsExchange(0.03, 'my-bucket.s3.us-east-1.amazonaws.com', 'A', [
  CNAME('my-bucket.s3.us-east-1.amazonaws.com', 's3-1-w.amazonaws.com'),
  A('s3-1-w.amazonaws.com', '52.216.8.40', 5),
]);
dnsExchange(0.04, 'api.github.com', 'A', [A('api.github.com', '140.82.112.6')]);
dnsExchange(0.05, 'sqs.eu-west-1.amazonaws.com', 'A', [A('sqs.eu-west-1.amazonaws.com', '52.48.1.9')]);
dnsExchange(0.06, 'kafka-1.internal.example', 'A', [A('kafka-1.internal.example', '172.31.50.7')]);
dnsExchange(0.07, 'partner-api.example.com', 'A', [A('partner-api.example.com', '3.80.1.1')]);
dnsExchange(0.08, 'search.peer.example', 'A', [A('search.peer.example', '10.1.0.5')]);
dnsExchange(0.09, 'cache.internal.example', 'AAAA', [{ type: 'AAAA', name: 'cache.internal.example', ttl: 60, data: HOST6.replace(/::15$/, '::22') }]);
dnsExchange(0.1, 'media.example-cdn.com', 'A', [A('media.example-cdn.com', '205.251.249.10')]);

// apt-get update at boot: the seed case, in-region mirror over EC2 public IPs
flow(HOST4, '54.144.10.20', 80, 0.2, 12, 1300, 40, 2600, 1500);
flow(HOST4, '54.144.10.21', 80, 0.2, 12, 600, 40, 1200, 1500);
// Kafka in the same AZ, jumbo frames inside the VPC
flow(HOST4, '172.31.50.7', 9092, 0.5, DURATION, 500, 9001, 300, 40);
// database in another AZ
flow(HOST4, '172.31.20.10', 5432, 0.5, DURATION, 300, 200, 600, 1500);
// peered VPC: zone name us-east-1d like ours, zone ID use1-az5 unlike ours (use1-az4)
flow(HOST4, '10.1.0.5', 443, 1, DURATION, 200, 1000, 150, 300);
// Redis over IPv6 in the same subnet
flow(HOST6, HOST6.replace(/::15$/, '::22'), 6379, 1, DURATION, 150, 400, 150, 1200);
// S3 upload
flow(HOST4, '52.216.8.40', 443, 2, DURATION, 500, 1500, 250, 40);
// GitHub: internet both ways
flow(HOST4, '140.82.112.6', 443, 2, 20, 100, 1500, 300, 1500);
// SQS in eu-west-1
flow(HOST4, '52.48.1.9', 443, 2, DURATION, 200, 1200, 100, 300);
// a partner's service on an Elastic IP of an ENI in us-east-1b
flow(HOST4, '3.80.1.1', 443, 2, DURATION, 100, 800, 100, 1500);
// a CloudFront edge (GLOBAL) and a Chime range inside a larger EC2 range (longest prefix wins)
flow(HOST4, '205.251.249.10', 443, 3, DURATION, 30, 40, 60, 1500);
flow(HOST4, '3.80.16.5', 443, 3, DURATION, 20, 300, 20, 300);
// over the VPN: a private address in no known subnet
flow(HOST4, '10.200.0.5', 22, 3, DURATION, 100, 100, 100, 200);
// IMDS and Time Sync: never billed
flow(HOST4, '169.254.169.254', 80, 0.1, 2, 10, 200, 10, 1000);
for (let i = 0; i < 10; i++) {
  const t = 1 + i * 2.5;
  packets.push({ ts: t, frame: ethernet(ipv4({ src: HOST4, dst: '169.254.169.123', l4: { proto: 17, sport: 123, dport: 123, payloadLen: 48 } })) });
  packets.push({ ts: t + 0.001, frame: ethernet(ipv4({ src: '169.254.169.123', dst: HOST4, l4: { proto: 17, sport: 123, dport: 123, payloadLen: 48 } })) });
}
for (let i = 0; i < 10; i++) packets.push({ ts: i * 3, frame: arp() });
// one runt: a frame cut inside its IPv4 header (shows up in aztraffic_decode_errors_total)
packets.push({ ts: 15, frame: ethernet(ipv4({ src: HOST4, dst: '172.31.50.7', l4: { proto: 6 } })).subarray(0, 24) });

packets.sort((a, b) => a.ts - b.ts);
mkdirSync(OUT, { recursive: true });
const w = new PcapngWriter(join(OUT, 'demo.pcapng'), [{ linkType: 1, name: 'ens5', snapLen: SNAPLEN }]);
for (const p of packets) w.write({ ts: START + p.ts, frame: p.frame });
w.close();

const topology = {
  region: 'us-east-1',
  subnets: [
    { cidr: '172.31.48.0/20', zone: 'us-east-1d', zone_id: 'use1-az4', vpc: 'vpc-0a1b2c3d', id: 'subnet-0d' },
    { cidr: '172.31.16.0/20', zone: 'us-east-1b', zone_id: 'use1-az2', vpc: 'vpc-0a1b2c3d' },
    { cidr: '172.31.0.0/20', zone: 'us-east-1a', zone_id: 'use1-az6', vpc: 'vpc-0a1b2c3d' },
    { cidr: '2600:1f18:1234:5600::/64', zone: 'us-east-1d', zone_id: 'use1-az4', vpc: 'vpc-0a1b2c3d', id: 'subnet-0d' },
    // a peered VPC in another account: its "us-east-1d" is zone use1-az5
    { cidr: '10.1.0.0/24', zone: 'us-east-1d', zone_id: 'use1-az5', vpc: 'vpc-0peer0001' },
  ],
  public_ips: [{ ip: '3.80.1.1', zone: 'us-east-1b', zone_id: 'use1-az2' }],
  local_ips: [HOST4, HOST6],
  // the path: the host's subnet is private; IPv4 leaves through a NAT gateway in us-east-1a (another
  // zone), S3 through its gateway endpoint, the peer through the peering, the VPN through its gateway
  route_tables: [
    {
      id: 'rtb-0private',
      vpc: 'vpc-0a1b2c3d',
      main: false,
      subnets: ['subnet-0d'],
      routes: [
        { destination: '172.31.0.0/16', target: 'local' },
        { destination: '2600:1f18:1234:5600::/56', target: 'local' },
        { destination: '0.0.0.0/0', target: 'nat-0demo' },
        { destination: '::/0', target: 'eigw-0demo' },
        { prefix_list: 'pl-63a5400a', target: 'vpce-0s3' },
        { destination: '10.1.0.0/16', target: 'pcx-0peer' },
        { destination: '10.200.0.0/16', target: 'vgw-0vpn' },
      ],
    },
  ],
  prefix_lists: [{ id: 'pl-63a5400a', name: 'com.amazonaws.us-east-1.s3', cidrs: ['52.216.0.0/15'] }],
  nat_gateways: [{ id: 'nat-0demo', zone: 'us-east-1a', zone_id: 'use1-az6', private_ips: ['172.31.5.9'], public_ips: ['3.80.9.9'] }],
  endpoints: [{ id: 'vpce-0s3', type: 'gateway', service: 'com.amazonaws.us-east-1.s3' }],
  // the host as the bill names it (IMDS says so on EC2): reconcile matches its lines by these
  host: { instance_id: 'i-0demo0000000001', account_id: '111122223333', interfaces: ['eni-0demo0000000001'] },
};
writeFileSync(
  join(OUT, 'topology.yaml'),
  '# Demo topology (generated by scripts/make-demo-capture.ts): the format of `discover` and --topology.file\n' +
    YAML.stringify(topology),
);

const prefix = (ip_prefix: string, region: string, services: string[]) =>
  services.map((service) => ({ ip_prefix, region, service, network_border_group: region }));
const prefix6 = (ipv6_prefix: string, region: string, services: string[]) =>
  services.map((service) => ({ ipv6_prefix, region, service, network_border_group: region }));
const ipRanges = {
  syncToken: '1768456800',
  createDate: '2026-01-15-06-00-00',
  prefixes: [
    ...prefix('54.144.0.0/14', 'us-east-1', ['AMAZON', 'EC2']),
    ...prefix('3.80.0.0/12', 'us-east-1', ['AMAZON', 'EC2']),
    ...prefix('3.80.16.0/23', 'us-east-1', ['CHIME_VOICECONNECTOR']),
    ...prefix('52.216.0.0/15', 'us-east-1', ['AMAZON', 'S3']),
    ...prefix('52.48.0.0/14', 'eu-west-1', ['AMAZON', 'EC2']),
    ...prefix('205.251.249.0/24', 'GLOBAL', ['AMAZON', 'CLOUDFRONT']),
  ],
  ipv6_prefixes: [...prefix6('2600:1f18::/33', 'us-east-1', ['AMAZON', 'EC2'])],
};
writeFileSync(join(OUT, 'ip-ranges.json'), JSON.stringify(ipRanges, null, 2) + '\n');
console.log(`wrote ${packets.length} frames over ${DURATION}s to ${join(OUT, 'demo.pcapng')}`);
