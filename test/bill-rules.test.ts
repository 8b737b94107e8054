// The refined categories and the usage-type prices of docs/billing.md "Bill lines", on small topologies.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BEST_KNOWLEDGE, billingCode, builtInUsagePrice, Path, PATH_NAMES, REGIONS, stripRegionCodes, usageTypes } from '../src/classify/bill.js';
import { Category, CATEGORY_NAMES, Direction } from '../src/classify/categories.js';
import { defaultPrices, usagePriceOf } from '../src/classify/prices.js';
import { loadPrices } from '../src/classify/prices-file.js';
import type { IpRanges } from '../src/topology/model.js';
import { Topology } from '../src/topology/topology.js';
import { SHARED_IP_RANGES, sharedIpRangesAvailable, tempDir, topologyFile } from './helpers.js';

const ranges: IpRanges = {
  prefixes: [
    { ip_prefix: '54.144.0.0/14', region: 'us-east-1', service: 'EC2', network_border_group: 'us-east-1' },
    { ip_prefix: '15.181.232.0/21', region: 'us-east-1', service: 'EC2', network_border_group: 'us-east-1-iah-1' },
    { ip_prefix: '13.248.96.0/24', region: 'GLOBAL', service: 'GLOBALACCELERATOR', network_border_group: 'GLOBAL' },
    { ip_prefix: '13.248.96.0/24', region: 'GLOBAL', service: 'AMAZON', network_border_group: 'GLOBAL' },
    { ip_prefix: '205.251.249.0/24', region: 'GLOBAL', service: 'CLOUDFRONT', network_border_group: 'GLOBAL' },
    { ip_prefix: '205.251.192.0/21', region: 'GLOBAL', service: 'ROUTE53', network_border_group: 'GLOBAL' },
    { ip_prefix: '52.80.0.0/16', region: 'cn-north-1', service: 'EC2', network_border_group: 'cn-north-1' },
    { ip_prefix: '3.30.0.0/15', region: 'us-gov-west-1', service: 'EC2', network_border_group: 'us-gov-west-1' },
    { ip_prefix: '3.12.0.0/16', region: 'us-east-2', service: 'EC2', network_border_group: 'us-east-2' },
    // CloudFront's regional edge caches and Global Accelerator's regional ranges carry a region (listed
    // under AMAZON too, as AWS lists them)
    { ip_prefix: '13.113.196.64/26', region: 'ap-northeast-1', service: 'AMAZON', network_border_group: 'ap-northeast-1' },
    { ip_prefix: '13.113.196.64/26', region: 'ap-northeast-1', service: 'CLOUDFRONT', network_border_group: 'ap-northeast-1' },
    { ip_prefix: '15.197.34.0/23', region: 'us-east-1', service: 'AMAZON', network_border_group: 'us-east-1' },
    { ip_prefix: '15.197.34.0/23', region: 'us-east-1', service: 'GLOBALACCELERATOR', network_border_group: 'us-east-1' },
    { ip_prefix: '3.33.128.0/17', region: 'eu-west-1', service: 'GLOBALACCELERATOR', network_border_group: 'eu-west-1' },
  ],
  ipv6_prefixes: [{ ipv6_prefix: '2600:1f18::/33', region: 'us-east-1', service: 'EC2', network_border_group: 'us-east-1' }],
};

const t = new Topology({
  region: 'us-east-1',
  ipRanges: ranges,
  file: topologyFile({
    region: 'us-east-1',
    subnets: [
      { cidr: '10.0.1.0/24', zone: 'us-east-1a', zone_id: 'use1-az6', id: 'subnet-1', vpc: 'vpc-a' },
      { cidr: '10.0.2.0/24', zone: 'us-east-1b', zone_id: 'use1-az1', id: 'subnet-2', vpc: 'vpc-a' },
      // a VPC peered across regions
      { cidr: '10.9.0.0/16', vpc: 'vpc-far', region: 'us-west-2' },
    ],
  }),
});
const cat = (remote: string): string => CATEGORY_NAMES[t.categoryOf(remote.includes(':') ? '2600:1f18:1:2::5' : '10.0.1.5', remote)];

describe('categories, refined', () => {
  it('EC2 IPv6 ranges of the region are regional_public, like IPv4', () => {
    expect(cat('2600:1f18:4000::1')).toBe('regional_public');
    expect(cat('54.144.1.1')).toBe('regional_public');
  });

  it('of the GLOBAL ranges only CloudFront and Route 53 are free; Global Accelerator is internet', () => {
    expect(cat('205.251.249.7')).toBe('aws_service');
    expect(cat('205.251.193.1')).toBe('aws_service');
    expect(cat('13.248.96.9')).toBe('internet');
  });

  it("CloudFront's ranges that name a region are CloudFront (an origin fetch is free), not inter_region; Global Accelerator's are internet in any region", () => {
    expect(cat('13.113.196.70')).toBe('aws_service');
    expect(cat('15.197.34.9')).toBe('internet');
    expect(cat('3.33.130.1')).toBe('internet');
  });

  it('other partitions (China, GovCloud) are internet, not inter_region; a commercial region is inter_region', () => {
    expect(cat('52.80.1.1')).toBe('internet');
    expect(cat('3.30.1.1')).toBe('internet');
    expect(cat('3.12.1.1')).toBe('inter_region');
    expect(t.classify('3.12.1.1').region).toBe('us-east-2');
  });

  it('a peer VPC in another region is inter_region, not unclassified', () => {
    expect(cat('10.9.1.1')).toBe('inter_region');
    expect(t.classify('10.9.1.1').region).toBe('us-west-2');
  });

  it('a network border group unlike its region (Local Zone) is its own location', () => {
    expect(t.classify('15.181.232.9').zone).toBe('us-east-1-iah-1');
    expect(t.classify('54.144.1.1').zone).toBe('');
  });

  it.skipIf(!sharedIpRangesAvailable())("AWS's real ip-ranges.json: the region's EC2 IPv6 ranges are regional_public", () => {
    const real = JSON.parse(readFileSync(SHARED_IP_RANGES, 'utf8')) as IpRanges;
    const big = new Topology({ region: 'us-east-1', ipRanges: real, file: topologyFile({ subnets: [{ cidr: '10.0.1.0/24', zone: 'us-east-1a' }] }) });
    const v6 = real.ipv6_prefixes.find((p) => p.region === 'us-east-1' && p.service === 'EC2' && p.network_border_group === 'us-east-1')!;
    const addr = v6.ipv6_prefix.replace(/::\/\d+$/, '::1').replace(/\/\d+$/, '');
    expect(CATEGORY_NAMES[big.categoryOf('10.0.1.5', addr)], addr).toBe('regional_public');
  });
});

describe('usage types and their prices', () => {
  const direct = { path: Path.DIRECT, otherZone: false, peerOtherZone: false, lb: undefined, remoteInKnownVpc: false, remoteRegion: '', directConnect: false };

  it("names usage types as the CUR does: the region's billing code, but none for us-east-1's own lines; pairs keep both", () => {
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.INTERNET, direct)).toEqual(['DataTransfer-Out-Bytes']);
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.CROSS_AZ, direct)).toEqual(['DataTransfer-Regional-Bytes']);
    expect(usageTypes('us-east-2', Direction.EGRESS, Category.CROSS_AZ, direct)).toEqual(['USE2-DataTransfer-Regional-Bytes']);
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.INTERNET, { ...direct, path: Path.NAT_GATEWAY })).toEqual(['NatGateway-Bytes', 'DataTransfer-Out-Bytes']);
    expect(usageTypes('us-east-2', Direction.EGRESS, Category.INTER_REGION, { ...direct, remoteRegion: 'us-east-1' })).toEqual(['USE2-USE1-AWS-Out-Bytes']);
    expect(usageTypes('eu-west-1', Direction.INGRESS, Category.INTERNET, direct)).toEqual(['EU-DataTransfer-In-Bytes']);
    expect(usageTypes('ap-south-1', Direction.EGRESS, Category.CROSS_AZ, direct)).toEqual(['APS3-DataTransfer-Regional-Bytes']);
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.INTER_REGION, { ...direct, remoteRegion: 'us-west-2' })).toEqual(['USE1-USW2-AWS-Out-Bytes']);
    expect(usageTypes('us-east-1', Direction.INGRESS, Category.INTER_REGION, { ...direct, remoteRegion: 'us-west-2' })).toEqual(['USE1-USW2-AWS-In-Bytes']);
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.SAME_AZ, direct)).toEqual([]);
    expect(billingCode('ca-central-1')).toBe('CAN1');
  });

  it('Transit Gateway: the sender pays (egress only); the leg out of AWS keeps its lines; a known VPC adds nothing', () => {
    const tgw = { ...direct, path: Path.TRANSIT_GATEWAY };
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.CROSS_AZ, { ...tgw, remoteInKnownVpc: true })).toEqual(['TransitGateway-Bytes']);
    expect(usageTypes('us-east-1', Direction.INGRESS, Category.CROSS_AZ, { ...tgw, remoteInKnownVpc: true })).toEqual([]);
    expect(usageTypes('us-east-1', Direction.INGRESS, Category.UNCLASSIFIED, tgw)).toEqual([]);
    // centralised egress: 99 KB out, 399 KB in to the internet
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.INTERNET, tgw)).toEqual(['TransitGateway-Bytes', 'DataTransfer-Out-Bytes']);
    expect(usageTypes('us-east-1', Direction.INGRESS, Category.INTERNET, tgw)).toEqual(['DataTransfer-In-Bytes']);
    expect(usageTypes('us-east-2', Direction.EGRESS, Category.REGIONAL_PUBLIC, tgw)).toEqual(['USE2-TransitGateway-Bytes', 'USE2-DataTransfer-Regional-Bytes']);
  });

  it('a VPN gateway: egress at the internet-out rate, ingress free; a NAT instance: its leg out kept, a cross-zone leg only where its zone is known', () => {
    const vpn = { ...direct, path: Path.VPN_GATEWAY };
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.UNCLASSIFIED, vpn)).toEqual(['DataTransfer-Out-Bytes']);
    expect(usageTypes('eu-west-1', Direction.INGRESS, Category.UNCLASSIFIED, vpn)).toEqual(['EU-DataTransfer-In-Bytes']);
    const instance = { ...direct, path: Path.INSTANCE };
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.INTERNET, instance)).toEqual(['DataTransfer-Out-Bytes']);
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.INTERNET, { ...instance, otherZone: true })).toEqual(['DataTransfer-Regional-Bytes', 'DataTransfer-Out-Bytes']);
    expect(PATH_NAMES[Path.VPN_GATEWAY]).toBe('vpn_gateway');
  });

  it('NAT gateway in the same zone: processing and the leg out, no cross-zone line; S3 through NAT: processing only', () => {
    const nat = { ...direct, path: Path.NAT_GATEWAY };
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.INTERNET, nat)).toEqual(['NatGateway-Bytes', 'DataTransfer-Out-Bytes']);
    expect(usageTypes('us-east-1', Direction.INGRESS, Category.AWS_SERVICE, nat)).toEqual(['NatGateway-Bytes']);
    expect(PATH_NAMES[Path.NAT_GATEWAY]).toBe('nat_gateway');
  });

  it('built-in prices for every commercial region of ip-ranges.json; region-pair prices', () => {
    expect(builtInUsagePrice('APS4-DataTransfer-Out-Bytes', 'ap-southeast-3')).toBe(0.132);
    expect(builtInUsagePrice('USE1-USE2-AWS-Out-Bytes', 'us-east-1')).toBe(0.01);
    expect(builtInUsagePrice('USE1-USW2-AWS-Out-Bytes', 'us-east-1')).toBe(0.02);
    expect(builtInUsagePrice('USE1-USW2-AWS-In-Bytes', 'us-east-1')).toBe(0);
    expect(builtInUsagePrice('NatGateway-Bytes', 'us-east-1')).toBe(0.045);
    expect(builtInUsagePrice('DataTransfer-Regional-Bytes', 'us-east-1')).toBe(0.01);
    expect(builtInUsagePrice('XX-NatGateway-Bytes', 'xx-nowhere-1')).toBeUndefined();
    if (sharedIpRangesAvailable()) {
      const real = JSON.parse(readFileSync(SHARED_IP_RANGES, 'utf8')) as IpRanges;
      const commercial = new Set(real.prefixes.map((p) => p.region).filter((r) => r !== 'GLOBAL' && !/^(cn-|us-gov-|eusc-)/.test(r)));
      for (const r of commercial) expect(REGIONS[r], r).toBeDefined();
    }
  });

  it('usage types match the CUR with or without leading region codes', () => {
    expect(stripRegionCodes('DataTransfer-Regional-Bytes')).toBe('DataTransfer-Regional-Bytes');
    expect(stripRegionCodes('USE1-USW2-AWS-Out-Bytes')).toBe('AWS-Out-Bytes');
    expect(stripRegionCodes('EU-NatGateway-Bytes')).toBe('NatGateway-Bytes');
    expect(stripRegionCodes('DataTransfer-Out-Bytes')).toBe('DataTransfer-Out-Bytes');
  });

  it('a prices file overrides usage types by full name or without codes', () => {
    const f = join(tempDir(), 'prices.yaml');
    writeFileSync(f, 'usage_types:\n  NatGateway-Bytes: 0.05\n  USE1-USE2-AWS-Out-Bytes: 0.015\n');
    const p = loadPrices(f, defaultPrices('us-east-1').prices);
    expect(usagePriceOf(p, 'NatGateway-Bytes')).toBe(0.05);
    expect(usagePriceOf(p, 'USE1-USE2-AWS-Out-Bytes')).toBe(0.015);
    expect(usagePriceOf(p, 'DataTransfer-Out-Bytes')).toBe(0.09);
    // a name for one region wins over the same line named for all; in us-east-1, USE1- names its own lines
    writeFileSync(f, 'usage_types:\n  NatGateway-Bytes: 0.05\n  USE2-NatGateway-Bytes: 0.06\n  USE1-DataTransfer-Regional-Bytes: 0.011\n  DataTransfer-Regional-Bytes: 0.012\n');
    expect(usagePriceOf(loadPrices(f, defaultPrices('us-east-2').prices), 'USE2-NatGateway-Bytes')).toBe(0.06);
    expect(usagePriceOf(loadPrices(f, defaultPrices('us-east-1').prices), 'NatGateway-Bytes')).toBe(0.05);
    expect(usagePriceOf(loadPrices(f, defaultPrices('us-east-1').prices), 'DataTransfer-Regional-Bytes')).toBe(0.011);
    expect(usagePriceOf(loadPrices(f, defaultPrices('us-east-2').prices), 'USE2-DataTransfer-Regional-Bytes')).toBe(0.012);
    writeFileSync(f, 'usage_types:\n  NatGateway: 0.05\n');
    expect(() => loadPrices(f)).toThrow(/usage types look like/);
  });
});

describe('the docs', () => {
  it("prices table is the built-in table, region by region", () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'docs', 'billing.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| ([a-z]+-[a-z]+-\d)( †)? \| `([A-Z0-9]+)` \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$/gm)];
    expect(Object.fromEntries(rows.map((m) => [m[1], { code: m[3], internet: +m[4], interRegion: +m[5], nat: +m[6], endpoint: +m[7], tgw: +m[8], gwlbe: +m[9], endpointHour: +m[10] }]))).toEqual(REGIONS);
    // the regions whose codes and prices are best knowledge are marked so
    expect(new Set(rows.filter((m) => m[2] !== undefined).map((m) => m[1]))).toEqual(BEST_KNOWLEDGE);
  });
});

describe('the topology file: path errors are named', () => {
  it('a route through an unknown prefix list or NAT gateway exits 2 with one line', async () => {
    const { spawnSync } = await import('node:child_process');
    const { CLI, DEMO } = await import('./helpers.js');
    const YAML = (await import('yaml')).default;
    const demo = YAML.parse(readFileSync(join(DEMO, 'topology.yaml'), 'utf8')) as { prefix_lists: unknown[]; nat_gateways: unknown[] };
    const dir = tempDir();
    for (const [key, want] of [
      ['prefix_lists', /route_tables\[0\] \(rtb-0private\) routes pl-63a5400a to vpce-0s3, but prefix_lists has no pl-63a5400a$/],
      ['nat_gateways', /route_tables\[0\] \(rtb-0private\) routes to nat-0demo, but nat_gateways has no nat-0demo \(its zone decides the cross-zone line\)$/],
    ] as const) {
      const f = join(dir, `${key}.yaml`);
      writeFileSync(f, YAML.stringify({ ...demo, [key]: [] }));
      const r = spawnSync(process.execPath, [CLI, 'analyze', join(DEMO, 'demo.pcapng'), '--topology.file', f, '--ip-ranges.url', 'none'], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr.trim()).toMatch(want);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
