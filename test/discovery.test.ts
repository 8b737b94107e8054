// Topology discovery against local fake IMDS and EC2 endpoints, reached through the AWS SDK's standard
// settings only (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_ENDPOINT_URL_EC2, credentials from env).
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CATEGORY_NAMES } from '../src/classify/categories.js';
import { DEFAULT_PRICES } from '../src/classify/prices.js';
import { Logger } from '../src/config/log.js';
import { TopologyStatus } from '../src/topology/status.js';
import { ExporterMetrics } from '../src/metrics/registry.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { loadTopology } from '../src/topology/load.js';
import { TopologyManager, type ManagerOptions } from '../src/topology/manager.js';
import { followTopology, setUp as setUpCommand } from '../src/commands/setup.js';
import { Topology } from '../src/topology/topology.js';
import { FakeEc2, FakeImds, type Ec2Data, type ImdsData } from './fakes/aws.js';
import { runCli, tempDir, topologyFile } from './helpers.js';

const dir = tempDir();
const LOCAL = '172.31.51.15';

const IMDS: ImdsData = {
  region: 'us-east-1',
  zone: 'us-east-1d',
  zoneId: 'use1-az4',
  instanceId: 'i-0123456789abcdef0',
  accountId: '111122223333',
  interfaces: [
    {
      interfaceId: 'eni-0own',
      mac: '0e:11:22:33:44:55',
      vpcId: 'vpc-own',
      subnetId: 'subnet-d',
      subnet4: '172.31.48.0/20',
      subnet6: '2600:1f18:1234:5600::/64',
      vpc4: '172.31.0.0/16',
      local4: [LOCAL],
      local6: ['2600:1f18:1234:5600::15'],
      public4: ['54.1.2.3'],
    },
  ],
};

const EC2: Ec2Data = {
  zones: [
    { name: 'us-east-1a', id: 'use1-az6' },
    { name: 'us-east-1b', id: 'use1-az1' },
    { name: 'us-east-1c', id: 'use1-az2' },
    { name: 'us-east-1d', id: 'use1-az4' },
    { name: 'us-east-1e', id: 'use1-az3' },
    { name: 'us-east-1f', id: 'use1-az5' },
  ],
  subnets: [
    { id: 'subnet-d', vpc: 'vpc-own', cidr: '172.31.48.0/20', ipv6: '2600:1f18:1234:5600::/64', zone: 'us-east-1d', zoneId: 'use1-az4' },
    { id: 'subnet-b', vpc: 'vpc-own', cidr: '172.31.16.0/20', zone: 'us-east-1b', zoneId: 'use1-az1' },
    { id: 'subnet-a', vpc: 'vpc-own', cidr: '172.31.32.0/20', zone: 'us-east-1a', zoneId: 'use1-az6' },
    { id: 'subnet-c', vpc: 'vpc-own', cidr: '172.31.0.0/20', zone: 'us-east-1c', zoneId: 'use1-az2' },
    { id: 'subnet-e', vpc: 'vpc-own', cidr: '172.31.64.0/20', zone: 'us-east-1e', zoneId: 'use1-az3' },
    // a peered VPC whose zone names are another account's: the name matches ours, the ID does not …
    { id: 'subnet-p1', vpc: 'vpc-peer', cidr: '10.1.0.0/24', zone: 'us-east-1d', zoneId: 'use1-az5' },
    // … and the reverse: another name, our zone ID
    { id: 'subnet-p2', vpc: 'vpc-peer', cidr: '10.1.1.0/24', zone: 'us-east-1a', zoneId: 'use1-az4' },
    { id: 'subnet-z', vpc: 'vpc-unrelated', cidr: '192.168.0.0/24', zone: 'us-east-1a', zoneId: 'use1-az6' },
  ],
  peerings: [
    { id: 'pcx-1', requester: { vpc: 'vpc-own', cidrs: ['172.31.0.0/16'], owner: '111111111111' }, accepter: { vpc: 'vpc-peer', cidrs: ['10.1.0.0/16'], owner: '111111111111' } },
    // another account's VPC: its subnets cannot be described
    { id: 'pcx-2', requester: { vpc: 'vpc-other-account', cidrs: ['10.9.0.0/16', '2600:1f18:9999::/56'], owner: '222222222222' }, accepter: { vpc: 'vpc-own', cidrs: ['172.31.0.0/16'], owner: '111111111111' } },
  ],
  enis: [
    { id: 'eni-1', zone: 'us-east-1b', publicIp: '3.80.1.1' },
    { id: 'eni-2', zone: 'us-east-1a', publicIp: '3.80.2.2', type: 'natGateway' },
    { id: 'eni-3', zone: 'us-east-1c' },
    { id: 'eni-4', zone: 'us-east-1c', publicIp: '3.80.4.4' },
  ],
  addresses: [{ publicIp: '3.80.1.1', eni: 'eni-1' }, { publicIp: '3.80.3.3' }],
};

// remote → [category, remote zone] seen from LOCAL (us-east-1d, use1-az4)
const EXPECTED: Record<string, [string, string]> = {
  '172.31.50.7': ['same_az', 'us-east-1d'],
  '172.31.20.10': ['cross_az', 'us-east-1b'],
  '172.31.70.1': ['cross_az', 'us-east-1e'],
  // the peer's zones, named as this account names their zone IDs
  '10.1.0.5': ['cross_az', 'us-east-1f'],
  '10.1.1.5': ['same_az', 'us-east-1d'],
  '10.9.0.5': ['unclassified', ''],
  '192.168.0.5': ['unclassified', ''],
  '3.80.1.1': ['regional_public', 'us-east-1b'],
  '3.80.2.2': ['regional_public', 'us-east-1a'],
  '172.31.0.2': ['internal', 'us-east-1c'],
  '2600:1f18:1234:5600::22': ['same_az', 'us-east-1d'],
};

let imds: FakeImds;
let ec2: FakeEc2;
const saved = { ...process.env };
let env: NodeJS.ProcessEnv;


function classify(t: Topology, ip: string): [string, string] {
  const local = ip.includes(':') ? '2600:1f18:1234:5600::15' : LOCAL;
  return [CATEGORY_NAMES[t.categoryOf(local, ip)], t.classify(ip).zone];
}

function setUp(opts: Partial<ManagerOptions> = {}) {
  const lines: string[] = [];
  const log = new Logger('debug', 'logfmt', (l) => lines.push(l));
  const pipeline = new Pipeline(new Topology({ region: 'us-east-1' }));
  const metrics = new ExporterMetrics(pipeline, { topK: 10, prices: DEFAULT_PRICES });
  const manager = new TopologyManager({ discoverAws: true, refreshIntervalMs: 3_600_000, ipRangesRefreshMs: 3_600_000, env, imdsTimeoutMs: 500, ...opts }, metrics.status, log);
  manager.onSnapshot((t) => {
    pipeline.setTopology(t);
    metrics.describe(t);
  });
  return { manager, metrics, pipeline, lines };
}

async function metricValue(m: ExporterMetrics, line: RegExp): Promise<number> {
  const text = await m.registry.metrics();
  const hit = text.split('\n').find((l) => line.test(l));
  return hit ? Number(hit.split(' ').pop()) : NaN;
}

beforeAll(async () => {
  imds = await new FakeImds(structuredClone(IMDS)).start();
  ec2 = await new FakeEc2(structuredClone(EC2)).start();
});

afterAll(async () => {
  await imds.stop();
  await ec2.stop();
});

beforeEach(() => {
  ec2.requests.length = 0;
  ec2.failures.clear();
  ec2.down = false;
  env = {
    ...saved,
    AWS_EC2_METADATA_DISABLED: 'false',
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
    AWS_ENDPOINT_URL_EC2: ec2.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  };
  // the SDK reads its settings from process.env
  Object.assign(process.env, env);
});

afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

describe('discovery', () => {
  it('full round trip: IMDSv2 token flow, every EC2 call signed, paginated, and the categories right', async () => {
    const { manager, pipeline } = setUp();
    await manager.start();
    expect(manager.loaded).toBe(true);
    for (const [ip, want] of Object.entries(EXPECTED)) expect(classify(pipeline.topology, ip), ip).toEqual(want);
    // IMDSv2 only
    expect(imds.tokenRequests).toBeGreaterThan(0);
    expect(imds.getsWithoutToken).toBe(0);
    // SigV4 for ec2 in us-east-1, on every request
    for (const r of ec2.requests) expect(r.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/ec2\/aws4_request/);
    // 8 subnets in pages of 2 (filtered to own + peered VPC: 7 → 4 pages), each later page asked with the token
    const subnetCalls = ec2.requests.filter((r) => r.action === 'DescribeSubnets');
    expect(subnetCalls).toHaveLength(4);
    expect(subnetCalls.map((r) => r.params.get('NextToken'))).toEqual([null, '2', '4', '6']);
    expect(pipeline.topology.zoneIds.get('us-east-1b')).toBe('use1-az1');
    const file = manager.current();
    expect(file.public_ips).toContainEqual({ ip: '3.80.2.2', zone: 'us-east-1a', zone_id: 'use1-az6', kind: 'nat_gateway' });
    expect(file.public_ips).toContainEqual({ ip: '3.80.3.3' });
    expect(file.local_ips).toEqual([LOCAL, '2600:1f18:1234:5600::15']);
    manager.stop();
  });

  it('the topology file wins over discovery for a CIDR and a public IP both know', async () => {
    // EC2 says 172.31.16.0/20 is us-east-1b (cross_az) and 3.80.1.1 is in us-east-1b; the file says otherwise
    const file = topologyFile({
      subnets: [{ cidr: '172.31.16.0/20', zone: 'us-east-1d', zone_id: 'use1-az4' }],
      public_ips: [{ ip: '3.80.1.1', zone: 'us-east-1d', zone_id: 'use1-az4' }],
    });
    const { manager, pipeline } = setUp({ file });
    await manager.start();
    expect(classify(pipeline.topology, '172.31.20.10')).toEqual(['same_az', 'us-east-1d']);
    expect(pipeline.topology.classify('3.80.1.1').zone).toBe('us-east-1d');
    // what only discovery knows is still there
    expect(classify(pipeline.topology, '172.31.70.1')).toEqual(['cross_az', 'us-east-1e']);
    manager.stop();
  });

  it('prices follow the discovered region: IMDS in ap-southeast-1, no file, no AWS_REGION → internet egress $0.12/GB', async () => {
    const apImds = await new FakeImds({ ...structuredClone(IMDS), region: 'ap-southeast-1', zone: 'ap-southeast-1a', zoneId: 'apse1-az1' }).start();
    const apEnv: NodeJS.ProcessEnv = { ...env, AWS_EC2_METADATA_SERVICE_ENDPOINT: apImds.url };
    delete apEnv.AWS_REGION;
    delete process.env.AWS_REGION;
    Object.assign(process.env, apEnv);
    try {
      const s = await setUpCommand({ 'remote.topK': 10, 'remote.tableSize': 1024 }, false);
      // before discovery: the region is not known yet, us-east-1's prices
      expect(s.metrics.prices.perGb.internet?.egress).toBe(0.09);
      const manager = new TopologyManager({ discoverAws: true, refreshIntervalMs: 3_600_000, ipRangesRefreshMs: 3_600_000, env: apEnv, imdsTimeoutMs: 500 }, s.metrics.status, new Logger('error'));
      followTopology(manager, s);
      await manager.start();
      manager.stop();
      expect(s.pipeline.topology.region).toBe('ap-southeast-1');
      const text = await s.metrics.render();
      expect(text).toContain(`aztraffic_price_dollars_per_byte{direction="egress",category="internet"} ${0.12 / 2 ** 30}`);
      expect(text).toContain(`aztraffic_price_dollars_per_byte{direction="egress",category="inter_region"} ${0.09 / 2 ** 30}`);
    } finally {
      await apImds.stop();
    }
  });

  it('`discover` prints YAML that, read back through --topology.file, classifies the same', async () => {
    const r = await runCli(['discover'], env);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# discovered by az-traffic-exporter on i-0123456789abcdef0 \(us-east-1d, use1-az4\)/);
    const path = join(dir, 'discovered.yaml');
    writeFileSync(path, r.stdout);
    const fromFile = loadTopology({ topologyFile: path }).topology;
    const { manager, pipeline } = setUp();
    await manager.start();
    for (const ip of Object.keys(EXPECTED)) expect(classify(fromFile, ip), ip).toEqual(classify(pipeline.topology, ip));
    expect(readFileSync(path, 'utf8')).toContain('zone_id: use1-az5');
    // one name per zone ID: the peer's "us-east-1d" (use1-az5) is this account's us-east-1f
    expect(fromFile.zoneIds.get('us-east-1f')).toBe('use1-az5');
    expect(fromFile.zoneIds.get('us-east-1d')).toBe('use1-az4');
    // the host as the bill names it (its lines' account and resource ids), from IMDS
    expect(fromFile.host).toEqual({ instance_id: 'i-0123456789abcdef0', account_id: '111122223333', interfaces: ['eni-0own'] });
    manager.stop();
  });

  it('throttling: RequestLimitExceeded twice, then success through the SDK retry strategy', async () => {
    ec2.failures.set('DescribeSubnets', ['RequestLimitExceeded', 'RequestLimitExceeded']);
    const { manager, pipeline, metrics } = setUp();
    await manager.start();
    expect(classify(pipeline.topology, '172.31.20.10')).toEqual(['cross_az', 'us-east-1b']);
    expect(ec2.count('DescribeSubnets')).toBe(4 + 2);
    expect(await metricValue(metrics, /^aztraffic_topology_refresh_errors_total\{source="ec2"\}/)).toBe(0);
    manager.stop();
  }, 30_000);

  it('permission denied: a clear log line, and the topology IMDS alone gives', async () => {
    ec2.failures.set('DescribeAvailabilityZones', ['UnauthorizedOperation']);
    const { manager, pipeline, lines, metrics } = setUp();
    await manager.start();
    expect(lines.join('\n')).toMatch(/not authorized for ec2:DescribeAvailabilityZones \(attach the IAM policy in docs\/serve\.md, Zero-config on EC2\).*classifying with what IMDS knows/);
    expect(classify(pipeline.topology, '172.31.50.7')).toEqual(['same_az', 'us-east-1d']);
    expect(classify(pipeline.topology, '2600:1f18:1234:5600::22')).toEqual(['same_az', 'us-east-1d']);
    // the rest of the VPC: known to be the VPC, zone unknown
    expect(classify(pipeline.topology, '172.31.20.10')).toEqual(['unclassified', '']);
    expect(classify(pipeline.topology, '54.1.2.3')[0]).toBe('regional_public');
    expect(await metricValue(metrics, /^aztraffic_topology_refresh_errors_total\{source="ec2"\}/)).toBe(1);
    manager.stop();
  });

  it('EC2 API down during a refresh: last good topology kept, error counted, still loaded', async () => {
    const { manager, pipeline, metrics, lines } = setUp();
    await manager.start();
    const before = pipeline.topology;
    ec2.down = true;
    await manager.refreshNow(['imds', 'ec2']);
    expect(await metricValue(metrics, /^aztraffic_topology_refresh_errors_total\{source="ec2"\}/)).toBe(1);
    expect(manager.loaded).toBe(true);
    for (const [ip, want] of Object.entries(EXPECTED)) expect(classify(pipeline.topology, ip), ip).toEqual(want);
    expect(lines.join('\n')).toMatch(/keeping the last good EC2 topology/);
    expect(pipeline.topology).not.toBe(before); // swapped, with the same content
    manager.stop();
  }, 60_000);

  it('the topology file wins over discovery for the CIDRs it names', async () => {
    const { manager, pipeline } = setUp({
      file: topologyFile({ region: 'us-east-1', subnets: [{ cidr: '10.9.0.0/16', zone: 'us-east-1d', zone_id: 'use1-az4' }] }),
    });
    await manager.start();
    expect(classify(pipeline.topology, '10.9.0.5')).toEqual(['same_az', 'us-east-1d']);
    manager.stop();
  });

  it('IMDS unreachable: discover says so in words, exit 1; serve-side discovery logs and goes on', async () => {
    const off = { ...env, AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9' };
    const r = await runCli(['discover'], off);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/IMDS unreachable at http:\/\/127\.0\.0\.1:9: not on EC2, or in a container with the IMDSv2 hop limit at 1/);
    // once, in words: no log line saying it again, none of the SDK's own phrasing
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/IMDSv1 is disabled|fetching token is disabled/);
    Object.assign(process.env, off);
    const { manager, lines } = setUp({ env: off });
    await manager.start();
    expect(manager.loaded).toBe(true);
    expect(lines.join('\n')).toMatch(/IMDS unreachable/);
  });
});

describe('ip-ranges.json download', () => {
  let server: Server;
  let url = '';
  let served = 0;
  let fail = false;
  const ranges = { syncToken: '1', createDate: '2026-11-26-00-00-00', prefixes: [{ ip_prefix: '54.144.0.0/14', region: 'us-east-1', service: 'EC2' }], ipv6_prefixes: [] };

  beforeAll(async () => {
    server = createServer((_req, res) => {
      served++;
      if (fail) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ranges));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ip-ranges.json`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('downloads, caches, keeps the same snapshot for an unchanged syncToken, and starts from the cache when the download fails', async () => {
    const cache = join(dir, 'ip-ranges-cache.json');
    fail = false;
    const a = setUp({ discoverAws: false, ipRangesUrl: url, ipRangesCache: cache });
    await a.manager.start();
    expect(classify(a.pipeline.topology, '54.144.1.1')[0]).toBe('regional_public');
    expect(JSON.parse(readFileSync(cache, 'utf8')).syncToken).toBe('1');
    const snapshot = a.pipeline.topology;
    await a.manager.refreshNow(['ip_ranges']);
    expect(a.pipeline.topology).toBe(snapshot); // syncToken unchanged: no rebuild
    a.manager.stop();

    fail = true;
    const b = setUp({ discoverAws: false, ipRangesUrl: url, ipRangesCache: cache });
    await b.manager.start();
    expect(classify(b.pipeline.topology, '54.144.1.1')[0]).toBe('regional_public');
    expect(b.lines.join('\n')).toMatch(/download failed; using the cached copy/);
    expect(await metricValue(b.metrics, /^aztraffic_topology_refresh_errors_total\{source="ip_ranges"\}/)).toBe(1);
    b.manager.stop();
    expect(served).toBeGreaterThanOrEqual(3);
  });
});

describe('topology sources in the health', () => {
  it('only the sources that run are expected: no "never" for ip_ranges given a file, nor for IMDS and EC2 without discovery', () => {
    const status = new TopologyStatus();
    new TopologyManager({ discoverAws: false, ipRangesFromFile: { prefixes: [], ipv6_prefixes: [] }, ipRangesUrl: 'http://127.0.0.1:9/ip-ranges.json', refreshIntervalMs: 60_000, ipRangesRefreshMs: 60_000 }, status, new Logger('error'));
    expect([...status.sources.keys()]).toEqual([]);
    const discovering = new TopologyStatus();
    new TopologyManager({ discoverAws: true, ipRangesUrl: 'http://127.0.0.1:9/ip-ranges.json', refreshIntervalMs: 60_000, ipRangesRefreshMs: 60_000 }, discovering, new Logger('error'));
    expect([...discovering.sources.keys()].sort()).toEqual(['ec2', 'imds', 'ip_ranges']);
  });
});
