import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Category, CATEGORY_NAMES } from '../src/classify/categories.js';
import { IpRangesSchema } from '../src/topology/model.js';
import { Topology } from '../src/topology/topology.js';
import { ipRanges, SHARED_IP_RANGES, topologyFile } from './helpers.js';

const file = topologyFile({
  region: 'us-east-1',
  subnets: [
    { cidr: '172.31.48.0/20', zone: 'us-east-1d', zone_id: 'use1-az4' },
    { cidr: '172.31.16.0/20', zone: 'us-east-1b', zone_id: 'use1-az2' },
    { cidr: '2600:1f18:1234:5600::/64', zone: 'us-east-1d', zone_id: 'use1-az4' },
    { cidr: '2600:1f18:1234:5700::/64', zone: 'us-east-1b', zone_id: 'use1-az2' },
    // peered VPC of another account: same zone name, other zone ID
    { cidr: '10.1.0.0/24', zone: 'us-east-1d', zone_id: 'use1-az5' },
    // peered VPC of another account: other zone name, same zone ID as ours
    { cidr: '10.2.0.0/24', zone: 'us-east-1a', zone_id: 'use1-az4' },
    // a subnet known by name only
    { cidr: '10.3.0.0/24', zone: 'us-east-1d' },
  ],
  public_ips: [{ ip: '3.80.1.1', zone: 'us-east-1b', zone_id: 'use1-az2' }],
});

const ranges = ipRanges([
  ['3.80.0.0/12', 'us-east-1', 'AMAZON'],
  ['3.80.0.0/12', 'us-east-1', 'EC2'],
  ['3.80.16.0/23', 'us-east-1', 'CHIME_VOICECONNECTOR'],
  ['52.216.0.0/15', 'us-east-1', 'S3'],
  ['52.48.0.0/14', 'eu-west-1', 'EC2'],
  ['205.251.249.0/24', 'GLOBAL', 'CLOUDFRONT'],
  ['2600:1f18::/33', 'us-east-1', 'EC2'],
  ['2a05:d018::/33', 'eu-west-1', 'EC2'],
]);

const t = new Topology({ file, ipRanges: ranges, region: 'us-east-1' });
const LOCAL = '172.31.51.15';
const LOCAL6 = '2600:1f18:1234:5600::15';
const cat = (remote: string, local = remote.includes(':') ? LOCAL6 : LOCAL) => CATEGORY_NAMES[t.categoryOf(local, remote)];

describe('categories', () => {
  it('internal: loopback, link-local, IMDS, DNS, Time Sync, multicast, broadcast, reserved subnet addresses', () => {
    for (const ip of ['127.0.0.1', '169.254.169.254', '169.254.169.253', '169.254.169.123', '169.254.1.1', '224.0.0.251', '239.1.2.3', '255.255.255.255', '0.0.0.0']) {
      expect(cat(ip), ip).toBe('internal');
    }
    for (const ip of ['::1', 'fe80::1', 'ff02::1', 'fd00:ec2::253', 'fd00:ec2::254', 'fd00:ec2::123']) expect(cat(ip), ip).toBe('internal');
    // base+1, +2 (the VPC resolver), +3 of each known subnet, even in another AZ
    for (const ip of ['172.31.16.1', '172.31.16.2', '172.31.16.3', '172.31.48.2', '2600:1f18:1234:5700::2']) expect(cat(ip), ip).toBe('internal');
    expect(cat('172.31.16.4')).toBe('cross_az');
    expect(cat('172.31.16.0')).toBe('cross_az');
  });

  it('same_az and cross_az, IPv4 and IPv6', () => {
    expect(cat('172.31.50.7')).toBe('same_az');
    expect(cat('172.31.20.10')).toBe('cross_az');
    expect(cat('2600:1f18:1234:5600::22')).toBe('same_az');
    expect(cat('2600:1f18:1234:5700::22')).toBe('cross_az');
    expect(t.classify('172.31.20.10').zone).toBe('us-east-1b');
  });

  it('zone IDs decide across accounts, in both directions', () => {
    // name matches ours, ID does not: another zone
    expect(cat('10.1.0.5')).toBe('cross_az');
    // name differs, ID matches: the same zone
    expect(cat('10.2.0.5')).toBe('same_az');
    // one side without an ID: names are all there is
    expect(cat('10.3.0.5')).toBe('same_az');
    expect(cat('172.31.50.7', '10.3.0.9')).toBe('same_az');
    expect(cat('172.31.20.10', '10.3.0.9')).toBe('cross_az');
  });

  it('regional_public: EC2 ranges of this region and public IPs of known ENIs', () => {
    expect(cat('3.81.2.3')).toBe('regional_public');
    expect(cat('3.80.1.1')).toBe('regional_public');
    expect(t.classify('3.80.1.1').zone).toBe('us-east-1b');
    expect(cat('2600:1f18:4000::1')).toBe('regional_public');
    expect(cat('2600:1f18:8000::1')).toBe('internet'); // outside the /33
  });

  it('longest prefix wins: a Chime /23 inside an EC2 /12 is an AWS service', () => {
    expect(cat('3.80.16.5')).toBe('aws_service');
    expect(cat('3.80.18.0')).toBe('regional_public');
  });

  it('aws_service: same-region non-EC2 and GLOBAL ranges', () => {
    expect(cat('52.216.8.40')).toBe('aws_service');
    expect(cat('205.251.249.10')).toBe('aws_service');
  });

  it('inter_region, internet, unclassified', () => {
    expect(cat('52.48.1.9')).toBe('inter_region');
    expect(cat('2a05:d018::1')).toBe('inter_region');
    expect(cat('140.82.112.6')).toBe('internet');
    expect(cat('2001:4860::8888')).toBe('internet');
    for (const ip of ['10.200.0.5', '192.168.1.1', '172.20.0.1', '100.64.0.1', 'fd12::1']) expect(cat(ip), ip).toBe('unclassified');
  });

  it('a subnet remote with an unknown local zone is unclassified, not guessed', () => {
    expect(cat('172.31.50.7', '10.99.0.1')).toBe('unclassified');
    expect(cat('3.81.2.3', '10.99.0.1')).toBe('regional_public');
  });

  it('another region in the topology turns the same ranges around', () => {
    const eu = new Topology({ file: { ...file, region: 'eu-west-1' }, ipRanges: ranges, region: 'eu-west-1' });
    expect(eu.categoryOf(LOCAL, '52.48.1.9')).toBe(Category.REGIONAL_PUBLIC);
    expect(eu.categoryOf(LOCAL, '3.81.2.3')).toBe(Category.INTER_REGION);
    expect(eu.categoryOf(LOCAL, '52.216.8.40')).toBe(Category.INTER_REGION);
  });

  it("with AWS's real ip-ranges.json", () => {
    const real = IpRangesSchema.parse(JSON.parse(readFileSync(SHARED_IP_RANGES, 'utf8')));
    const r = new Topology({ file, ipRanges: real, region: 'us-east-1' });
    const c = (ip: string) => CATEGORY_NAMES[r.categoryOf(LOCAL, ip)];
    expect(c('54.144.10.20')).toBe('regional_public'); // 54.144.0.0/14 EC2 us-east-1
    expect(c('52.216.8.40')).toBe('aws_service'); // S3 us-east-1
    expect(c('3.80.16.5')).toBe('aws_service'); // CHIME /23 inside EC2 /12
    expect(c('52.48.1.9')).toBe('inter_region'); // EC2 eu-west-1
    expect(c('205.251.249.10')).toBe('aws_service'); // CloudFront GLOBAL
    expect(c('140.82.112.6')).toBe('internet');
    expect(c('172.31.20.10')).toBe('cross_az');
  });

  it("the zones of the VPC are its subnets' and public IPs', not the Local Zones of AWS's ranges", () => {
    const real = IpRangesSchema.parse(JSON.parse(readFileSync(SHARED_IP_RANGES, 'utf8')));
    const r = new Topology({ file, ipRanges: real, region: 'us-east-1' });
    // AWS's ranges name border groups such as us-east-1-bos-1: remote locations, kept as remote zones
    expect(r.zones.some((z) => /^us-east-1-[a-z]+-\d/.test(z))).toBe(true);
    expect(r.vpcZones().some((z) => /^us-east-1-[a-z]+-\d/.test(z))).toBe(false);
    expect(r.vpcZones().length).toBeGreaterThan(0);
    // a peered zone of another account under the same name is told apart by its ID
    for (const z of r.vpcZones()) expect(z).toMatch(/^us-east-1[a-f]( \(use1-az\d\))?$/);
  });
});
