// Bill lines (docs/billing.md "Bill lines"): the network path from route tables, NAT gateways, endpoints and
// load balancer ENIs discovered through the EC2 API (fake, real wire format), and the usage types each
// byte adds to — checked against sums computed independently from tshark's reading of the capture.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ethernet, ipv4, PcapWriter } from '../scripts/lib/frames.js';
import { readCaptureFile } from '../src/sources/file-reader.js';
import { followTopology, setUp } from '../src/commands/setup.js';
import { Logger } from '../src/config/log.js';
import { TopologyManager } from '../src/topology/manager.js';
import { FakeEc2, FakeImds, type Ec2Data, type ImdsData } from './fakes/aws.js';
import { FakeAthena } from './fakes/athena.js';
import { expandInputs } from '../src/sources/flow-logs/inputs.js';
import { runCli, tempDir } from './helpers.js';

const dir = tempDir();
const HOST = '10.0.1.15'; // private subnet, us-east-1a
const CAPTURE = join(dir, 'bill.pcap');
const IP_RANGES = join(dir, 'ip-ranges.json');

const IMDS: ImdsData = {
  region: 'us-east-1',
  zone: 'us-east-1a',
  zoneId: 'use1-az6',
  instanceId: 'i-0b111111111111111',
  interfaces: [{ mac: '0e:aa:bb:cc:dd:01', vpcId: 'vpc-a', subnetId: 'subnet-priv', subnet4: '10.0.1.0/24', vpc4: '10.0.0.0/16', local4: [HOST] }],
};

const EC2: Ec2Data = {
  zones: [
    { name: 'us-east-1a', id: 'use1-az6' },
    { name: 'us-east-1b', id: 'use1-az1' },
  ],
  subnets: [
    { id: 'subnet-priv', vpc: 'vpc-a', cidr: '10.0.1.0/24', zone: 'us-east-1a', zoneId: 'use1-az6' },
    { id: 'subnet-pub', vpc: 'vpc-a', cidr: '10.0.2.0/24', zone: 'us-east-1b', zoneId: 'use1-az1' },
    { id: 'subnet-app', vpc: 'vpc-a', cidr: '10.0.3.0/24', zone: 'us-east-1b', zoneId: 'use1-az1' },
    { id: 'subnet-peer', vpc: 'vpc-peer', cidr: '10.1.1.0/24', zone: 'us-east-1b', zoneId: 'use1-az1' },
  ],
  peerings: [{ id: 'pcx-1', requester: { vpc: 'vpc-a', cidrs: ['10.0.0.0/16'], owner: '111122223333' }, accepter: { vpc: 'vpc-peer', cidrs: ['10.1.0.0/16'], owner: '111122223333' } }],
  enis: [
    { id: 'eni-nat', zone: 'us-east-1b', vpc: 'vpc-a', publicIp: '3.80.9.9', type: 'natGateway', description: 'Interface for NAT Gateway nat-0b', privateIps: ['10.0.2.9'], requesterManaged: true },
    { id: 'eni-sqs', zone: 'us-east-1b', vpc: 'vpc-a', type: 'vpc_endpoint', description: 'VPC Endpoint Interface vpce-sqs', privateIps: ['10.0.3.20'], requesterManaged: true },
    { id: 'eni-alb', zone: 'us-east-1b', vpc: 'vpc-a', description: 'ELB app/web/50dc6c495c0c9188', privateIps: ['10.0.3.30'], requesterManaged: true },
    { id: 'eni-nlb', zone: 'us-east-1b', vpc: 'vpc-a', description: 'ELB net/tcp/a1b2c3d4e5f6a7b8', privateIps: ['10.0.3.31'], requesterManaged: true },
    { id: 'eni-app', zone: 'us-east-1b', vpc: 'vpc-a', subnet: 'subnet-app', privateIps: ['10.0.3.40'], instance: 'i-0app' },
    // this host's own interface (flow logs name it)
    { id: 'eni-host', zone: 'us-east-1a', vpc: 'vpc-a', subnet: 'subnet-priv', privateIps: [HOST], instance: 'i-0b111111111111111' },
    // a NAT instance and a firewall appliance that an edge subnet's routes lead to
    { id: 'eni-natinst', zone: 'us-east-1b', vpc: 'vpc-a', privateIps: ['10.0.4.10'], instance: 'i-0natinst' },
    { id: 'eni-fw', zone: 'us-east-1a', vpc: 'vpc-a', privateIps: ['10.0.4.20'], instance: 'i-0fw' },
  ],
  addresses: [{ publicIp: '3.80.9.9', eni: 'eni-nat' }],
  routeTables: [
    {
      id: 'rtb-priv',
      vpc: 'vpc-a',
      subnets: ['subnet-priv'],
      routes: [
        { dest: '10.0.0.0/16', target: 'local' },
        { dest: '0.0.0.0/0', target: 'nat-0b' },
        { dest: 'pl-63a5400a', target: 'vpce-s3' },
        { dest: '10.50.0.0/16', target: 'tgw-0c' },
        { dest: 'pl-0corp', target: 'tgw-0c' },
        { dest: '10.1.0.0/16', target: 'pcx-1' },
      ],
    },
    {
      id: 'rtb-main',
      vpc: 'vpc-a',
      main: true,
      subnets: [],
      routes: [
        { dest: '10.0.0.0/16', target: 'local' },
        { dest: '0.0.0.0/0', target: 'igw-0a' },
        { dest: 'pl-63a5400a', target: 'vpce-s3' },
        { dest: '10.50.0.0/16', target: 'tgw-0c' },
        { dest: 'pl-0corp', target: 'tgw-0c' },
        { dest: '10.1.0.0/16', target: 'pcx-1' },
      ],
    },
    {
      id: 'rtb-edge',
      vpc: 'vpc-a',
      subnets: ['subnet-edge'],
      routes: [
        { dest: '10.0.0.0/16', target: 'local' },
        { dest: '0.0.0.0/0', target: 'eni-natinst' },
        { dest: '10.70.0.0/16', target: 'i-0fw' },
        { dest: '192.168.0.0/16', target: 'vgw-vpn' },
        { dest: '172.20.0.0/16', target: 'vgw-dx' },
      ],
    },
  ],
  vpnConnections: [{ id: 'vpn-1', vgw: 'vgw-vpn' }],
  instances: [
    { id: 'i-0b111111111111111', name: 'web-1' },
    { id: 'i-0app', name: 'app-1' },
  ],
  natGateways: [{ id: 'nat-0b', vpc: 'vpc-a', subnet: 'subnet-pub', privateIp: '10.0.2.9', publicIp: '3.80.9.9' }],
  vpcEndpoints: [
    { id: 'vpce-s3', vpc: 'vpc-a', type: 'Gateway', service: 'com.amazonaws.us-east-1.s3' },
    { id: 'vpce-sqs', vpc: 'vpc-a', type: 'Interface', service: 'com.amazonaws.us-east-1.sqs', enis: ['eni-sqs'] },
    // a firewall's endpoint (an inspection VPC's Gateway Load Balancer behind it)
    { id: 'vpce-fw', vpc: 'vpc-a', type: 'GatewayLoadBalancer', service: 'com.amazonaws.vpce.us-east-1.vpce-svc-0fw' },
  ],
  prefixLists: [
    { id: 'pl-63a5400a', name: 'com.amazonaws.us-east-1.s3', cidrs: ['52.216.0.0/15', '3.5.0.0/19'] },
    { id: 'pl-02cd2c6b', name: 'com.amazonaws.us-east-1.dynamodb', cidrs: ['3.218.182.0/24'] },
  ],
  managedPrefixLists: [{ id: 'pl-0corp', cidrs: ['192.168.100.0/24', '192.168.101.0/24', '192.168.102.0/24'] }],
};

const RANGES = {
  syncToken: '1',
  createDate: '2026-11-01-00-00-00',
  prefixes: [
    { ip_prefix: '52.216.0.0/15', region: 'us-east-1', service: 'AMAZON', network_border_group: 'us-east-1' },
    { ip_prefix: '52.216.0.0/15', region: 'us-east-1', service: 'S3', network_border_group: 'us-east-1' },
    { ip_prefix: '54.144.0.0/14', region: 'us-east-1', service: 'EC2', network_border_group: 'us-east-1' },
    // another AWS service of the region (SQS, STS…: AMAZON alone, no gateway endpoint reaches it)
    { ip_prefix: '44.192.0.0/11', region: 'us-east-1', service: 'AMAZON', network_border_group: 'us-east-1' },
    { ip_prefix: '52.48.0.0/14', region: 'eu-west-1', service: 'EC2', network_border_group: 'eu-west-1' },
  ],
  ipv6_prefixes: [],
};

// remote → [egress bytes' usage types, ingress bytes' usage types, path], written down from docs/billing.md's
// table, independently of the code. The host is in us-east-1a; its default route is a NAT gateway in
// us-east-1b.
const NAT_OTHER_ZONE: Record<string, [string[], string[], string]> = {
  '54.144.10.20': [['NatGateway', 'Regional', 'Regional'], ['NatGateway', 'Regional', 'Regional'], 'nat_gateway'], // the apt mirror
  '140.82.112.6': [['NatGateway', 'Regional', 'Out'], ['NatGateway', 'Regional', 'In'], 'nat_gateway'],
  '52.48.1.9': [['NatGateway', 'Regional', 'USE1-EU-AWS-Out-Bytes'], ['NatGateway', 'Regional', 'USE1-EU-AWS-In-Bytes'], 'nat_gateway'],
  '52.216.8.40': [[], [], 'gateway_endpoint'], // S3 through its gateway endpoint: free
  '10.0.3.20': [['VpcEndpoint'], ['VpcEndpoint'], 'interface_endpoint'], // SQS interface endpoint in us-east-1b
  '10.0.3.30': [[], [], 'load_balancer'], // ALB node in us-east-1b: free across zones
  '10.0.3.31': [['Regional'], ['Regional'], 'load_balancer'], // NLB node in us-east-1b: cross-zone billed
  // on premises behind the TGW: this host pays for what it sends in; what comes back is the sender's
  '10.50.0.9': [['TransitGateway'], [], 'transit_gateway'],
  '192.168.101.7': [['TransitGateway'], [], 'transit_gateway'], // through a customer prefix list
  '10.1.1.5': [['VpcPeering-Out'], ['VpcPeering-In'], 'vpc_peering'], // peer VPC, us-east-1b
  // an internet client that opened a connection to this host's port 8443 (through an NLB or accelerator
  // that keeps its address): the NAT route is not how it came, so no NAT line and no cross-zone leg to it
  '140.82.112.50': [[], [], 'load_balancer'],
  '10.0.3.40': [['Regional'], ['Regional'], 'direct'], // same VPC, us-east-1b
  '10.0.1.99': [[], [], 'direct'], // same subnet
};

// the same host behind centralised egress (its default route to the Transit Gateway, an inspection or
// egress VPC beyond it): the TGW line on what it sends, and the leg out of AWS kept, on the TGW path
const TGW_EGRESS: Record<string, [string[], string[], string]> = {
  ...NAT_OTHER_ZONE,
  '54.144.10.20': [['TransitGateway', 'Regional'], ['Regional'], 'transit_gateway'],
  '140.82.112.6': [['TransitGateway', 'Out'], ['In'], 'transit_gateway'],
  '52.48.1.9': [['TransitGateway', 'USE1-EU-AWS-Out-Bytes'], ['USE1-EU-AWS-In-Bytes'], 'transit_gateway'],
  '140.82.112.50': [['TransitGateway', 'Out'], ['In'], 'transit_gateway'],
};

// the same host behind a firewall: its default route to a Gateway Load Balancer endpoint, whose
// processing is billed both ways, the leg out of AWS kept
const FIREWALL: Record<string, [string[], string[], string]> = {
  ...NAT_OTHER_ZONE,
  '54.144.10.20': [['VpcEndpoint-GWLBE', 'Regional'], ['VpcEndpoint-GWLBE', 'Regional'], 'gateway_load_balancer_endpoint'],
  '140.82.112.6': [['VpcEndpoint-GWLBE', 'Out'], ['VpcEndpoint-GWLBE', 'In'], 'gateway_load_balancer_endpoint'],
  '52.48.1.9': [['VpcEndpoint-GWLBE', 'USE1-EU-AWS-Out-Bytes'], ['VpcEndpoint-GWLBE', 'USE1-EU-AWS-In-Bytes'], 'gateway_load_balancer_endpoint'],
  '140.82.112.50': [['VpcEndpoint-GWLBE', 'Out'], ['VpcEndpoint-GWLBE', 'In'], 'gateway_load_balancer_endpoint'],
};

/** The default route's remotes when nothing on `path` adds a line of its own: the transfer's lines alone. */
const defaultRouteLegs = (path: string): Record<string, [string[], string[], string]> => ({
  '54.144.10.20': [['Regional'], ['Regional'], path],
  '140.82.112.6': [['Out'], ['In'], path],
  '52.48.1.9': [['USE1-EU-AWS-Out-Bytes'], ['USE1-EU-AWS-In-Bytes'], path],
  '140.82.112.50': [['Out'], ['In'], path],
});

// on premises through a site-to-site VPN instead of the TGW, and the default route through a NAT
// instance (an ENI target, its zone unknown: no cross-zone leg invented)
const VPN_AND_NAT_INSTANCE: Record<string, [string[], string[], string]> = {
  ...NAT_OTHER_ZONE,
  '10.50.0.9': [['Out'], ['In'], 'vpn_gateway'],
  ...defaultRouteLegs('instance'),
};

// the same host in a public subnet (the main table: default route to an internet gateway)
const PUBLIC: Record<string, [string[], string[], string]> = { ...NAT_OTHER_ZONE, ...defaultRouteLegs('direct') };

const fullName = (t: string): string => (t.endsWith('-Bytes') ? t : t.startsWith('VpcPeering') ? `${t}-Bytes` : `${t === 'Regional' || t === 'Out' || t === 'In' ? `DataTransfer-${t}` : t}-Bytes`);

/** Remotes that opened their connection to this host. */
const INBOUND = new Set(['140.82.112.50']);

function writeCapture(): void {
  const w = new PcapWriter(CAPTURE, 1);
  let ts = 1_780_000_000;
  let port = 40000;
  // per remote: a few packets each way, of sizes that make every sum distinct
  for (const [k, remote] of Object.keys(NAT_OTHER_ZONE).entries()) {
    const ephemeral = port++;
    // this host's port: ephemeral to a remote service, or its own service (8443) opened from outside
    const [mine, theirs] = INBOUND.has(remote) ? [8443, ephemeral] : [ephemeral, 443];
    for (let i = 0; i < 3 + k; i++) {
      w.write({ ts: (ts += 0.01), frame: ethernet(ipv4({ src: HOST, dst: remote, l4: { proto: 6, sport: mine, dport: theirs, payloadLen: 100 + 37 * k + i } })) });
      w.write({ ts: (ts += 0.01), frame: ethernet(ipv4({ src: remote, dst: HOST, l4: { proto: 6, sport: theirs, dport: mine, payloadLen: 1000 + 53 * k + i } })) });
    }
  }
  w.close();
}

/** Bytes per (usage type, path) from tshark's reading of the capture and a table of expectations (`only`: these remotes). */
function expectedUsage(table: Record<string, [string[], string[], string]>, only?: readonly string[]): Map<string, number> {
  const out = execFileSync('tshark', ['-r', CAPTURE, '-T', 'fields', '-E', 'separator=,', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ip.len'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const sums = new Map<string, number>();
  for (const line of out.trim().split('\n')) {
    const [src, dst, len] = line.split(',');
    const egress = src === HOST;
    if (only && !only.includes(egress ? dst : src)) continue;
    const [e, i, path] = table[egress ? dst : src];
    for (const t of egress ? e : i) {
      const key = `${fullName(t)}|${path}`;
      sums.set(key, (sums.get(key) ?? 0) + Number(len));
    }
  }
  return sums;
}

interface Bill {
  bill: { usage_type: string; paths: Record<string, number>; bytes: number; price_per_gb: number | null }[];
}

const ours = (b: Bill): Map<string, number> => new Map(b.bill.flatMap((row) => Object.entries(row.paths).map(([path, bytes]) => [`${row.usage_type}|${path}`, bytes] as [string, number])));


let imds: FakeImds;
let ec2: FakeEc2;
let env: NodeJS.ProcessEnv;
let discovered = '';

beforeAll(async () => {
  writeCapture();
  writeFileSync(IP_RANGES, JSON.stringify(RANGES));
  imds = await new FakeImds(structuredClone(IMDS)).start();
  ec2 = await new FakeEc2(structuredClone(EC2)).start();
  ec2.pageSize = 1; // every list takes several pages
  env = {
    ...process.env,
    AWS_EC2_METADATA_DISABLED: 'false',
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    AWS_ENDPOINT_URL_EC2: ec2.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  };
  const r = await runCli(['discover'], env);
  expect(r.status, r.stderr).toBe(0);
  discovered = join(dir, 'discovered.yaml');
  writeFileSync(discovered, r.stdout);
});

afterAll(async () => {
  await imds.stop();
  await ec2.stop();
});

interface DiscoveredFile {
  route_tables: { id: string; subnets: string[]; routes: { destination?: string; target: string }[] }[];
  endpoints: { id: string; type: string }[];
}

const discoveredTopology = (): DiscoveredFile => YAML.parse(readFileSync(discovered, 'utf8')) as DiscoveredFile;
const defaultRoute = (t: DiscoveredFile) => t.route_tables.find((r) => r.id === 'rtb-priv')!.routes.find((r) => r.destination === '0.0.0.0/0')!;

/** The discovered topology changed by `edit`, written as NAME.yaml. */
function variant(name: string, edit: (t: DiscoveredFile) => void): string {
  const t = discoveredTopology();
  edit(t);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, YAML.stringify(t));
  return file;
}

async function analyze(topology: string, inputs: string[] = [CAPTURE], more: string[] = []): Promise<Bill> {
  const r = await runCli(['analyze', ...inputs, '--topology.file', topology, '--ip-ranges.file', IP_RANGES, '--format', 'json', ...more], { ...process.env, AZTRAFFIC_IP_RANGES_URL: 'none' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Bill;
}

// VPC Flow Logs of the same traffic, as AWS would log it on each interface it crosses.

interface Flow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  packets: number;
  bytes: number;
  start: number;
  end: number;
}

/** The capture's packets summed per (addresses, ports), from tshark's reading: the flows a log aggregates. */
function flowsOfCapture(): Flow[] {
  const out = execFileSync('tshark', ['-r', CAPTURE, '-T', 'fields', '-E', 'separator=,', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'tcp.srcport', '-e', 'tcp.dstport', '-e', 'ip.len', '-e', 'frame.time_epoch'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const flows = new Map<string, Flow>();
  for (const line of out.trim().split('\n')) {
    const [src, dst, sport, dport, len, time] = line.split(',');
    const key = `${src} ${dst} ${sport} ${dport}`;
    const f = flows.get(key) ?? { src, dst, sport: +sport, dport: +dport, packets: 0, bytes: 0, start: Math.floor(+time), end: Math.ceil(+time) };
    f.packets++;
    f.bytes += +len;
    f.end = Math.max(f.end, Math.ceil(+time));
    flows.set(key, f);
  }
  return [...flows.values()];
}

const V5_FIELDS = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status flow-direction pkt-srcaddr pkt-dstaddr traffic-path az-id';
const V2_FIELDS = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';

/** One record of a flow on an interface: `src`/`dst` as the interface saw them, pkt-* the packet's own. */
function v5(eni: string, f: Flow, src: string, dst: string, egress: boolean, az: string, trafficPath = 1): string {
  return `5 111122223333 ${eni} ${src} ${dst} ${f.sport} ${f.dport} 6 ${f.packets} ${f.bytes} ${f.start} ${f.end} ACCEPT OK ${egress ? 'egress' : 'ingress'} ${f.src} ${f.dst} ${egress ? trafficPath : '-'} ${az}`;
}

/** The traffic-path AWS logs on a host's egress to a remote: S3 through its gateway endpoint 7, the peer VPC 4, the rest through a resource of the VPC (NAT gateway, endpoint, TGW attachment) or within it, 1. */
const trafficPathTo = (remote: string): number => (remote === '52.216.8.40' ? 7 : remote === '10.1.1.5' ? 4 : 1);

const NAT_REMOTES = ['54.144.10.20', '140.82.112.6', '52.48.1.9'];
const NAT_IP = '10.0.2.9';
const APP = '10.0.3.40';

/** The records of each interface: the host's, the other side of the in-VPC flow, the NAT gateway's two legs, the endpoint's, the ALB's. */
function interfaceRecords(pathTo = trafficPathTo): Record<'host' | 'app' | 'nat' | 'endpoint' | 'alb', string[]> {
  const out = { host: [] as string[], app: [] as string[], nat: [] as string[], endpoint: [] as string[], alb: [] as string[] };
  for (const f of flowsOfCapture()) {
    const out_ = f.src === HOST;
    const remote = out_ ? f.dst : f.src;
    out.host.push(v5('eni-host', f, f.src, f.dst, out_, 'use1-az6', pathTo(remote)));
    if (remote === APP) out.app.push(v5('eni-app', f, f.src, f.dst, !out_, 'use1-az1'));
    if (remote === '10.0.3.20') out.endpoint.push(v5('eni-sqs', f, f.src, f.dst, !out_, 'use1-az1'));
    if (remote === '10.0.3.30') out.alb.push(v5('eni-alb', f, f.src, f.dst, !out_, 'use1-az1'));
    if (NAT_REMOTES.includes(remote)) {
      // the leg between host and gateway, and the gateway's leg to the remote (its own address for the host's)
      if (out_) out.nat.push(v5('eni-nat', f, HOST, NAT_IP, false, 'use1-az1'), v5('eni-nat', f, NAT_IP, remote, true, 'use1-az1'));
      else out.nat.push(v5('eni-nat', f, remote, NAT_IP, false, 'use1-az1'), v5('eni-nat', f, NAT_IP, HOST, true, 'use1-az1'));
    }
  }
  return out;
}

/** A flow-log file: a header and records, gzip'd as AWS delivers them where the name ends in .gz. */
function flowLog(name: string, header: string, records: string[]): string {
  const file = join(dir, name);
  const text = `${header}\n${records.join('\n')}\n`;
  writeFileSync(file, name.endsWith('.gz') ? gzipSync(text) : text);
  return file;
}

/** A record of the v5 format cut to the default (v2) fields. */
const asV2 = (line: string): string => line.split(' ').slice(0, 14).join(' ');

/** The sum of two sets of bill lines. */
function added(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [k, v] of b) out.set(k, (out.get(k) ?? 0) + v);
  return out;
}

describe('bill lines', () => {
  it('discover prints the path: route tables, prefix lists (both APIs, paginated), NAT gateways, endpoints, load balancers', () => {
    const t = YAML.parse(readFileSync(discovered, 'utf8')) as Record<string, unknown[]>;
    expect(t.route_tables).toContainEqual({
      id: 'rtb-priv',
      vpc: 'vpc-a',
      main: false,
      subnets: ['subnet-priv'],
      routes: [
        { destination: '10.0.0.0/16', target: 'local' },
        { destination: '0.0.0.0/0', target: 'nat-0b' },
        { prefix_list: 'pl-63a5400a', target: 'vpce-s3' },
        { destination: '10.50.0.0/16', target: 'tgw-0c' },
        { prefix_list: 'pl-0corp', target: 'tgw-0c' },
        { destination: '10.1.0.0/16', target: 'pcx-1' },
      ],
    });
    expect(t.prefix_lists).toContainEqual({ id: 'pl-63a5400a', name: 'com.amazonaws.us-east-1.s3', cidrs: ['52.216.0.0/15', '3.5.0.0/19'] });
    expect(t.prefix_lists).toContainEqual({ id: 'pl-0corp', cidrs: ['192.168.100.0/24', '192.168.101.0/24', '192.168.102.0/24'] });
    expect(t.nat_gateways).toEqual([{ id: 'nat-0b', zone: 'us-east-1b', zone_id: 'use1-az1', private_ips: ['10.0.2.9'], public_ips: ['3.80.9.9'] }]);
    expect(t.endpoints).toContainEqual({ id: 'vpce-sqs', type: 'interface', service: 'com.amazonaws.us-east-1.sqs', ips: [{ ip: '10.0.3.20', zone: 'us-east-1b', zone_id: 'use1-az1' }] });
    expect(t.load_balancers).toEqual([
      { ip: '10.0.3.30', kind: 'alb', name: 'app/web/50dc6c495c0c9188', zone: 'us-east-1b', zone_id: 'use1-az1' },
      { ip: '10.0.3.31', kind: 'nlb', name: 'net/tcp/a1b2c3d4e5f6a7b8', zone: 'us-east-1b', zone_id: 'use1-az1' },
    ]);
    // pagination (a page holds one item) was followed to the end of every list
    expect(ec2.count('GetManagedPrefixListEntries')).toBe(3);
    expect(ec2.count('DescribeRouteTables')).toBe(3);
    expect(ec2.count('DescribeVpcEndpoints')).toBe(3);
    expect(ec2.count('DescribePrefixLists')).toBe(1); // asked for the one AWS list the routes name
    expect(ec2.count('DescribeNatGateways')).toBe(1);
    // what the other routes lead to: the NAT instance and the appliance with their zones; the gateway
    // without a VPN connection is Direct Connect's
    expect(t.interfaces).toEqual(
      expect.arrayContaining([
        { id: 'eni-natinst', instance: 'i-0natinst', zone: 'us-east-1b', zone_id: 'use1-az1', ips: ['10.0.4.10'], kind: 'Instance', owner: 'i-0natinst' },
        { id: 'eni-fw', instance: 'i-0fw', zone: 'us-east-1a', zone_id: 'use1-az6', ips: ['10.0.4.20'], kind: 'Instance', owner: 'i-0fw' },
      ]),
    );
    // every ENI of the VPC with its owner, for flow-log records: instances by their Name tag
    expect(t.interfaces).toHaveLength(EC2.enis.length);
    expect(t.interfaces).toContainEqual({ id: 'eni-host', instance: 'i-0b111111111111111', zone: 'us-east-1a', zone_id: 'use1-az6', subnet: 'subnet-priv', ips: [HOST], kind: 'Instance', owner: 'i-0b111111111111111', name: 'web-1' });
    expect(t.interfaces).toContainEqual({ id: 'eni-nat', zone: 'us-east-1b', zone_id: 'use1-az1', ips: ['10.0.2.9'], kind: 'NatGateway', owner: 'nat-0b' });
    expect(t.interfaces).toContainEqual({ id: 'eni-alb', zone: 'us-east-1b', zone_id: 'use1-az1', ips: ['10.0.3.30'], kind: 'LoadBalancer', owner: 'app/web/50dc6c495c0c9188', name: 'web' });
    expect(t.interfaces).toContainEqual({ id: 'eni-sqs', zone: 'us-east-1b', zone_id: 'use1-az1', ips: ['10.0.3.20'], kind: 'VpcEndpoint', owner: 'vpce-sqs' });
    expect(t.vpn_gateways).toEqual([
      { id: 'vgw-vpn', direct_connect: false },
      { id: 'vgw-dx', direct_connect: true },
    ]);
  });

  it('private subnet, NAT gateway in another zone: every usage type and path exact against tshark', async () => {
    const bill = await analyze(discovered);
    expect(ours(bill)).toEqual(expectedUsage(NAT_OTHER_ZONE));
    const nat = bill.bill.find((b) => b.usage_type === 'NatGateway-Bytes')!;
    expect(nat.price_per_gb).toBe(0.045);
  });

  it('the same host in a public subnet: no NAT lines', async () => {
    const bill = await analyze(variant('public', (t) => (t.route_tables.find((r) => r.id === 'rtb-priv')!.subnets = [])));
    expect(ours(bill)).toEqual(expectedUsage(PUBLIC));
    expect(bill.bill.some((b) => b.usage_type.includes('NatGateway'))).toBe(false);
  });

  it('centralised egress through a Transit Gateway: the internet lines stay, the TGW line is what this host sends', async () => {
    const bill = await analyze(variant('tgw-egress', (t) => (defaultRoute(t).target = 'tgw-0c')));
    expect(ours(bill)).toEqual(expectedUsage(TGW_EGRESS));
    expect(bill.bill.some((b) => b.usage_type.includes('NatGateway'))).toBe(false);
  });

  it('behind a firewall (0.0.0.0/0 → a Gateway Load Balancer endpoint): its processing and the internet lines, not a free gateway endpoint', async () => {
    // discovery tells the endpoint's type apart
    expect(discoveredTopology().endpoints).toContainEqual({ id: 'vpce-fw', type: 'gateway_load_balancer', service: 'com.amazonaws.vpce.us-east-1.vpce-svc-0fw', ips: [] });
    const bill = await analyze(variant('firewall', (t) => (defaultRoute(t).target = 'vpce-fw')));
    expect(ours(bill)).toEqual(expectedUsage(FIREWALL));
    expect(bill.bill.find((b) => b.usage_type === 'VpcEndpoint-GWLBE-Bytes')!.price_per_gb).toBe(0.0035);
    // without the endpoint's type (a hand-written file): a vpce- route to a CIDR is no gateway endpoint's
    const untyped = variant('firewall-untyped', (t) => {
      defaultRoute(t).target = 'vpce-fw';
      t.endpoints = t.endpoints.filter((e) => e.id !== 'vpce-fw');
    });
    expect(ours(await analyze(untyped))).toEqual(expectedUsage(FIREWALL));
  });

  it('a VPN gateway and a NAT instance: the VPN at the internet-out rate, the instance as a path of its own', async () => {
    const bill = await analyze(
      variant('vpn', (t) => {
        defaultRoute(t).target = 'eni-0natinstance';
        t.route_tables.find((r) => r.id === 'rtb-priv')!.routes.find((r) => r.destination === '10.50.0.0/16')!.target = 'vgw-0v';
      }),
    );
    expect(ours(bill)).toEqual(expectedUsage(VPN_AND_NAT_INSTANCE));
  });

  it('discovery → file → analyze gives the numbers that discovery in serve counts', async () => {
    const fromFile = ours(await analyze(discovered));
    const saved = { ...process.env };
    Object.assign(process.env, env, { AZTRAFFIC_IP_RANGES_URL: 'none' });
    try {
      const s = await setUp({ 'remote.topK': 100, 'remote.tableSize': 4096, 'ipRanges.file': IP_RANGES }, false);
      const manager = new TopologyManager(
        { discoverAws: true, refreshIntervalMs: 3_600_000, ipRangesRefreshMs: 3_600_000, env, imdsTimeoutMs: 500, ipRangesFromFile: s.loaded.ipRanges },
        s.metrics.status,
        new Logger('error'),
      );
      followTopology(manager, s);
      await manager.start();
      manager.stop();
      // as serve does: the interface's addresses and the topology's local IPs (IMDS) are the host's
      s.pipeline.setLocalIps(s.pipeline.topology.localIps);
      readCaptureFile(CAPTURE, s.pipeline);
      const text = await s.metrics.render();
      const live = new Map<string, number>();
      for (const m of text.matchAll(/^aztraffic_usage_bytes_total\{usage_type="([^"]+)",path="([^"]+)"\} (\d+)$/gm)) live.set(`${m[1]}|${m[2]}`, Number(m[3]));
      expect(live).toEqual(fromFile);
      expect(text).toContain(`aztraffic_usage_price_dollars_per_byte{usage_type="NatGateway-Bytes"} ${0.045 / 2 ** 30}`);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  });
});

describe('bill lines from VPC Flow Logs of the same traffic', () => {
  interface WithWorkloads extends Bill {
    workloads: { workload: string; workload_kind: string; egress_bytes: number; ingress_bytes: number }[];
  }

  it("the host's own interface (a custom v5 format): every usage type and path equal to the capture's, its bytes the instance's", async () => {
    const fromCapture = ours(await analyze(discovered));
    const file = flowLog('host-v5.log.gz', V5_FIELDS, interfaceRecords().host);
    const bill = (await analyze(discovered, [file])) as WithWorkloads;
    expect(ours(bill)).toEqual(fromCapture);
    // the record's workload is its interface's owner: the instance, by its Name tag
    const web = bill.workloads.filter((w) => w.workload === 'web-1');
    expect(web.length).toBeGreaterThan(0);
    expect(web.every((w) => w.workload_kind === 'Instance')).toBe(true);
  });

  it("the default v2 format, the host's interface alone: the side from the interface's addresses, equal too (and as Parquet)", async () => {
    const fromCapture = ours(await analyze(discovered));
    const records = interfaceRecords().host.map(asV2);
    expect(ours(await analyze(discovered, [flowLog('host-v2.log', V2_FIELDS, records)]))).toEqual(fromCapture);
    // the Parquet delivery: the same fields as columns
    const cols = V2_FIELDS.split(' ');
    const rows = records.map((r) => r.split(' '));
    const numeric = new Set(['version', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end']);
    const parquet = join(dir, 'host-v2.parquet');
    writeFileSync(
      parquet,
      Buffer.from(
        parquetWriteBuffer({
          columnData: cols.map((c, k) => (numeric.has(c) ? { name: c.replace(/-/g, '_'), data: rows.map((r) => BigInt(r[k])), type: 'INT64' as const } : { name: c.replace(/-/g, '_'), data: rows.map((r) => r[k]), type: 'STRING' as const })),
        }),
      ),
    );
    expect(ours(await analyze(discovered, [parquet]))).toEqual(fromCapture);
  });

  it('every interface of the VPC: paths add nothing the host carries; the other side of the cross-zone flow is billed on its own side', async () => {
    const r = interfaceRecords();
    expect(r.nat.length * r.endpoint.length * r.alb.length * r.app.length).toBeGreaterThan(0);
    const files = [flowLog('host.log.gz', V5_FIELDS, r.host), flowLog('app.log.gz', V5_FIELDS, r.app), flowLog('paths.log.gz', V5_FIELDS, [...r.nat, ...r.endpoint, ...r.alb])];
    // what captures on each logged host give: this host's, and the app host's (10.0.3.40, us-east-1b)
    const host = ours(await analyze(discovered));
    const app = ours(await analyze(discovered, [CAPTURE], ['--local-ip', APP]));
    expect(app.get('DataTransfer-Regional-Bytes|direct')).toBeGreaterThan(0);
    const bill = (await analyze(discovered, files)) as WithWorkloads;
    expect(ours(bill)).toEqual(added(host, app));
    expect(bill.workloads.some((w) => w.workload === 'app-1' && w.workload_kind === 'Instance')).toBe(true);
    // no bytes were counted for the paths themselves
    expect(bill.workloads.filter((w) => ['NatGateway', 'LoadBalancer', 'VpcEndpoint'].includes(w.workload_kind))).toEqual([]);
  });

  it("traffic-path is checked against the route tables: agreeing, nothing said; the NAT's remotes logged as through an internet gateway, said", async () => {
    const caveats = async (name: string, records: string[]): Promise<string> => {
      const r = await runCli(['analyze', flowLog(name, V5_FIELDS, records), '--topology.file', discovered, '--ip-ranges.file', IP_RANGES, '--format', 'json'], { ...process.env, AZTRAFFIC_IP_RANGES_URL: 'none' });
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { capture: { caveats: string[] } }).capture.caveats.join('\n');
    };
    expect(await caveats('paths-agree.log', interfaceRecords().host)).not.toMatch(/traffic-path/);
    const stale = await caveats('paths-stale.log', interfaceRecords((remote) => (NAT_REMOTES.includes(remote) ? 8 : trafficPathTo(remote))).host);
    expect(stale).toMatch(/\d+ egress record\(s\), [\d.]+ GB, logged with traffic-path 8 \(internet gateway\) are on path nat_gateway by the topology's route tables/);
  });

  it("the NAT gateway's interface alone: pkt-srcaddr names the host behind it, and its NAT lines are the capture's", async () => {
    const bill = (await analyze(discovered, [flowLog('nat-only.log', V5_FIELDS, interfaceRecords().nat)])) as WithWorkloads;
    expect(ours(bill)).toEqual(expectedUsage(NAT_OTHER_ZONE, NAT_REMOTES));
    // the host is named by its address's interface in the topology
    expect(bill.workloads.every((w) => w.workload === 'web-1')).toBe(true);
  });
  it('summed first by embedded DuckDB, or by Athena (the same SQL, over a table of the same files): every report above, the same to the byte', async () => {
    const r = interfaceRecords();
    const records = r.host.map(asV2);
    const cols = V2_FIELDS.split(' ');
    const numeric = new Set(['version', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end']);
    const parquet = join(dir, 'duck-v2.parquet');
    writeFileSync(parquet, Buffer.from(parquetWriteBuffer({ columnData: cols.map((c, k) => (numeric.has(c) ? { name: c.replace(/-/g, '_'), data: records.map((x) => BigInt(x.split(' ')[k])), type: 'INT64' as const } : { name: c.replace(/-/g, '_'), data: records.map((x) => x.split(' ')[k]), type: 'STRING' as const })) })));
    const corpora: string[][] = [
      [flowLog('duck-v5.log.gz', V5_FIELDS, r.host)],
      [flowLog('duck-v2.log', V2_FIELDS, records)],
      [parquet],
      [flowLog('duck-host.log.gz', V5_FIELDS, r.host), flowLog('duck-app.log.gz', V5_FIELDS, r.app), flowLog('duck-paths.log.gz', V5_FIELDS, [...r.nat, ...r.endpoint, ...r.alb])],
      [flowLog('duck-nat.log', V5_FIELDS, r.nat)],
      [flowLog('duck-stale.log', V5_FIELDS, interfaceRecords((remote) => (NAT_REMOTES.includes(remote) ? 8 : trafficPathTo(remote))).host)],
    ];
    const env = { ...process.env, AZTRAFFIC_IP_RANGES_URL: 'none' };
    const report = async (files: string[], engine: string): Promise<unknown> => {
      const out = await runCli(['analyze', ...files, '--topology.file', discovered, '--ip-ranges.file', IP_RANGES, '--format', 'json', '--flow-logs.engine', engine], env);
      expect(out.status, out.stderr).toBe(0);
      // when the topology was read is the only difference two runs may show
      return JSON.parse(out.stdout.replace(/"lastSuccess":\s*[\d.]+/g, '"lastSuccess":0')) as unknown;
    };
    const athena = await new FakeAthena().start();
    try {
      const athenaEnv = { ...env, AWS_ENDPOINT_URL_ATHENA: athena.url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' };
      const viaAthena = async (): Promise<unknown> => {
        const out = await runCli(['analyze', '--topology.file', discovered, '--ip-ranges.file', IP_RANGES, '--format', 'json', '--flow-logs.engine', 'athena', '--athena.table', 'flow_logs'], athenaEnv);
        expect(out.status, out.stderr).toBe(0);
        const r = JSON.parse(out.stdout.replace(/"lastSuccess":\s*[\d.]+/g, '"lastSuccess":0')) as { capture: { caveats: string[]; flow_logs: unknown }; files: unknown };
        // what differs is where they were read: the query, not files
        r.capture.caveats = r.capture.caveats.filter((c) => !c.startsWith('summed by Athena'));
        return r;
      };
      for (const [k, files] of corpora.entries()) {
        // Athena over the custom format, the default one and every interface (the rest differ only in what DuckDB showed the same)
        const athenaToo = k === 0 || k === 1 || k === 3;
        if (athenaToo) await athena.table('default', 'flow_logs', expandInputs(files, () => undefined));
        const [stream, duck, fromAthena] = await Promise.all([report(files, 'stream'), report(files, 'duckdb'), athenaToo ? viaAthena() : undefined]);
        expect(duck, files.join(' ')).toEqual(stream);
        if (!athenaToo) continue;
        const s = stream as { capture: { flow_logs: unknown }; files: unknown };
        expect(fromAthena, files.join(' ')).toEqual({ ...s, files: [], capture: { ...s.capture, flow_logs: { objects: 1, records: (s.capture.flow_logs as { records: number }).records } } });
      }
    } finally {
      await athena.stop();
    }
  });

  it('without flow-direction, an interface the topology does not list: records met before its address was learned count as those after (any order, either engine)', async () => {
    // the default format on an interface of no topology entry: a flow between two hosts of the VPC says
    // nothing of which side is the interface's until a flow to the internet shows its address
    const inside = `2 111122223333 eni-unlisted ${HOST} ${APP} 40001 443 6 10 5000 1780000000 1780000060 ACCEPT OK`;
    const back = `2 111122223333 eni-unlisted ${APP} ${HOST} 443 40001 6 10 7000 1780000000 1780000060 ACCEPT OK`;
    const out = `2 111122223333 eni-unlisted ${HOST} 140.82.112.6 40002 443 6 4 900 1780000060 1780000120 ACCEPT OK`;
    const env = { ...process.env, AZTRAFFIC_IP_RANGES_URL: 'none' };
    const run = async (name: string, records: string[], engine: string): Promise<{ categories: { direction: string; category: string; bytes: number }[]; capture: { caveats: string[] } }> => {
      const r = await runCli(['analyze', flowLog(name, V2_FIELDS, records), '--topology.file', discovered, '--ip-ranges.file', IP_RANGES, '--format', 'json', '--flow-logs.engine', engine], env);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as never;
    };
    const results = await Promise.all([run('unlisted-first.log', [inside, back, out], 'stream'), run('unlisted-last.log', [out, inside, back], 'stream'), run('unlisted-duck.log', [inside, back, out], 'duckdb')]);
    for (const r of results) {
      const cross = (dir: string): number => r.categories.find((c) => c.direction === dir && c.category === 'cross_az')?.bytes ?? 0;
      expect([cross('egress'), cross('ingress')]).toEqual([5000, 7000]);
      expect(r.capture.caveats.join('\n')).not.toMatch(/without flow-direction/);
    }
    // an interface whose address no record teaches: said, not guessed
    const alone = await run('unlisted-alone.log', [inside, back], 'stream');
    expect(alone.capture.caveats.join('\n')).toMatch(/2 record\(s\), 0\.000012 GB, not counted: without flow-direction/);
  });
});

describe('cheaper paths: what each change would save a month, net of its fixed fees, to the cent', () => {
  const SAVINGS = join(dir, 'savings.pcap');
  const SPAN = 36; // seconds: a month is 73,000 of them
  const MONTH = (730 * 3600) / SPAN;
  const GB = 2 ** 30;
  // remote → packets each way and their payload: enough through the SQS address that an interface
  // endpoint pays its hours, too little through the other service's for it to
  const FLOWS: Record<string, { packets: number; payload: number }> = {
    '52.216.8.40': { packets: 30, payload: 60_000 }, // S3
    '44.192.5.5': { packets: 40, payload: 60_000 }, // another AWS service (SQS)
    '44.192.9.9': { packets: 2, payload: 1_000 }, // another, hardly used
    '54.144.10.20': { packets: 20, payload: 50_000 }, // the apt mirror (pulled: the replies are larger)
    '3.80.9.9': { packets: 5, payload: 10_000 }, // an Elastic IP of this VPC
    '10.0.3.40': { packets: 10, payload: 30_000 }, // the app in us-east-1b
  };
  /** IP-layer bytes per remote, both directions, as written */
  const bytes = new Map<string, number>();

  beforeAll(() => {
    const w = new PcapWriter(SAVINGS, 1);
    const t0 = 1_780_100_000;
    const frames: { src: string; dst: string; sport: number; dport: number; payload: number }[] = [];
    let port = 41000;
    for (const [remote, f] of Object.entries(FLOWS)) {
      const eph = port++;
      for (let i = 0; i < f.packets; i++) {
        frames.push({ src: HOST, dst: remote, sport: eph, dport: 443, payload: remote === '54.144.10.20' ? 200 : f.payload });
        frames.push({ src: remote, dst: HOST, sport: 443, dport: eph, payload: f.payload });
      }
    }
    frames.forEach((f, i) => {
      const remote = f.src === HOST ? f.dst : f.src;
      bytes.set(remote, (bytes.get(remote) ?? 0) + 40 + f.payload);
      // the first packet at t0, the last at t0 + SPAN
      w.write({ ts: t0 + (SPAN * i) / (frames.length - 1), frame: ethernet(ipv4({ src: f.src, dst: f.dst, l4: { proto: 6, sport: f.sport, dport: f.dport, payloadLen: f.payload } })) });
    });
    w.close();
  });

  interface Saving {
    suggestion: string;
    remote: string;
    current_path: string;
    gross_monthly_dollars: number;
    fixed_monthly_dollars: number | null;
    monthly_savings_dollars: number;
    break_even_gb_per_month: number | null;
    worth_it: boolean;
    action: string;
  }
  const savingsOf = async (topology: string): Promise<Saving[]> => ((await analyze(topology, [SAVINGS])) as Bill & { savings: Saving[] }).savings;
  /** a remote's bytes a month at `perGb` dollars */
  const monthly = (perGb: number, ...remotes: string[]): number => (remotes.reduce((a, r) => a + bytes.get(r)!, 0) / GB) * perGb * MONTH;
  const bySuggestion = (rows: Saving[]): Record<string, Saving> => Object.fromEntries(rows.map((r) => [`${r.suggestion} ${r.remote}`, r]));
  const cents = (got: Saving, gross: number, fixed: number | null): void => {
    expect(got.gross_monthly_dollars).toBeCloseTo(gross, 2);
    expect(got.fixed_monthly_dollars === null ? null : Number(got.fixed_monthly_dollars.toFixed(2))).toBe(fixed);
    expect(got.monthly_savings_dollars).toBeCloseTo(gross - (fixed ?? 0), 2);
    expect(got.worth_it).toBe(gross - (fixed ?? 0) > 0);
  };
  const NAT_REMOTES_HERE = ['44.192.5.5', '44.192.9.9', '54.144.10.20', '3.80.9.9'];

  it("the bill capture's topology (NAT gateway in another zone, S3 through its gateway endpoint): each suggestion, hand-computed", async () => {
    const rows = await savingsOf(discovered);
    const s = bySuggestion(rows);
    // S3 already takes its gateway endpoint: nothing to suggest for it
    expect(Object.keys(s).sort()).toEqual(
      ['interface_endpoint 44.192.5.5', 'interface_endpoint 44.192.9.9', 'nat_same_zone nat-0b from us-east-1a', 'private_address 3.80.9.9', 'zone_cache 54.144.10.20', 'zone_local 10.0.3.40'].sort(),
    );
    // NAT processing $0.045 and the cross-zone leg $0.01 off, the endpoint's $0.01 on; its hour in one zone
    cents(s['interface_endpoint 44.192.5.5'], monthly(0.045, '44.192.5.5'), 7.3);
    expect(s['interface_endpoint 44.192.5.5'].break_even_gb_per_month).toBeCloseTo(7.3 / 0.045, 6);
    expect(s['interface_endpoint 44.192.5.5'].action).toBe('add an interface endpoint for 44.192.5.5 in us-east-1a (1 zone), with private DNS on');
    // the same change for a service hardly used: its hours are more than it saves
    cents(s['interface_endpoint 44.192.9.9'], monthly(0.045, '44.192.9.9'), 7.3);
    expect(s['interface_endpoint 44.192.9.9'].worth_it).toBe(false);
    // a NAT gateway in us-east-1a: the cross-zone leg of every byte through the NAT, for its hours ($0.045 × 730)
    cents(s['nat_same_zone nat-0b from us-east-1a'], monthly(0.01, ...NAT_REMOTES_HERE), 32.85);
    expect(s['nat_same_zone nat-0b from us-east-1a'].worth_it).toBe(false);
    // the mirror through the NAT in another zone: NAT processing, the leg to it and the regional leg
    cents(s['zone_cache 54.144.10.20'], monthly(0.065, '54.144.10.20'), null);
    // its own Elastic IP (us-east-1b): by the private address, only a cross-zone leg remains
    cents(s['private_address 3.80.9.9'], monthly(0.065 - 0.01, '3.80.9.9'), 0);
    cents(s['zone_local 10.0.3.40'], monthly(0.01, '10.0.3.40'), 0);
    // largest net saving first; never more than what those bytes cost
    expect(rows.map((r) => r.monthly_savings_dollars)).toEqual([...rows.map((r) => r.monthly_savings_dollars)].sort((a, b) => b - a));
  });

  it('without the S3 gateway endpoint: S3 through the NAT gateway, a gateway endpoint saves all its lines for $0', async () => {
    const noEndpoint = variant('no-s3-endpoint', (t) => {
      const priv = t.route_tables.find((r) => r.id === 'rtb-priv')!;
      priv.routes = priv.routes.filter((r) => r.target !== 'vpce-s3');
    });
    const s = bySuggestion(await savingsOf(noEndpoint));
    cents(s['gateway_endpoint 52.216.8.40'], monthly(0.055, '52.216.8.40'), 0);
    expect(s['gateway_endpoint 52.216.8.40']).toMatchObject({ current_path: 'nat_gateway', worth_it: true, break_even_gb_per_month: null });
    expect(s['gateway_endpoint 52.216.8.40'].action).toMatch(/^add an S3 gateway endpoint/);
    // and the S3 bytes now cross zones to the NAT gateway too
    cents(s['nat_same_zone nat-0b from us-east-1a'], monthly(0.01, '52.216.8.40', ...NAT_REMOTES_HERE), 32.85);
  });

  it("with the NAT gateway in the host's zone: no NAT suggestion, and the others without the cross-zone leg", async () => {
    const sameZone = variant('nat-same-zone', (t) => {
      const nat = (t as unknown as { nat_gateways: { zone: string; zone_id: string }[] }).nat_gateways[0];
      nat.zone = 'us-east-1a';
      nat.zone_id = 'use1-az6';
    });
    const rows = await savingsOf(sameZone);
    const s = bySuggestion(rows);
    expect(rows.some((r) => r.suggestion === 'nat_same_zone')).toBe(false);
    cents(s['interface_endpoint 44.192.5.5'], monthly(0.035, '44.192.5.5'), 7.3);
    cents(s['zone_cache 54.144.10.20'], monthly(0.055, '54.144.10.20'), null);
    cents(s['private_address 3.80.9.9'], monthly(0.045, '3.80.9.9'), 0);
  });

  it('every format says the same: the table, and the exposition (net dollars an hour of the changes worth their fees, top K)', async () => {
    const rows = await savingsOf(discovered);
    const env = { ...process.env, AZTRAFFIC_IP_RANGES_URL: 'none' };
    const args = ['analyze', SAVINGS, '--topology.file', discovered, '--ip-ranges.file', IP_RANGES];
    const [table, prom] = await Promise.all([runCli(args, env), runCli([...args, '--format', 'prometheus'], env)]);
    expect(table.stdout).toMatch(/^CHEAPER PATHS \(6 of 6; a month at this rate, net of the new path's fixed fees\)$/m);
    expect(table.stdout).toMatch(/interface_endpoint\s+44\.192\.9\.9\s+nat_gateway\s.*\(not worth it\)\s+162$/m);
    const gauge = new Map([...prom.stdout.matchAll(/^aztraffic_savings_dollars_per_hour\{suggestion="([^"]+)",remote="([^"]+)"\} (\S+)$/gm)].map((m) => [`${m[1]} ${m[2]}`, Number(m[3])]));
    // the changes worth their fees have a series, the others none
    const worth = rows.filter((r) => r.worth_it);
    expect(worth.length).toBeGreaterThan(0);
    expect(worth.length).toBeLessThan(rows.length);
    expect(gauge.size).toBe(worth.length);
    for (const r of worth) expect(gauge.get(`${r.suggestion} ${r.remote}`)).toBeCloseTo(r.monthly_savings_dollars / 730, 9);
  });
});
