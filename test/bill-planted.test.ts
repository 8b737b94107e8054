// Billing bugs once planted on purpose that every bill test let through: each case here fails on its bug.
import { describe, expect, it } from 'vitest';
import { builtInUsagePrice, localZoneCode, Path, usageTypes } from '../src/classify/bill.js';
import { Category, Direction } from '../src/classify/categories.js';
import { defaultPrices, usagePriceOf } from '../src/classify/prices.js';
import { Topology } from '../src/topology/topology.js';
import { topologyFile } from './helpers.js';

const direct = { path: Path.DIRECT, otherZone: false, peerOtherZone: false, lb: undefined, remoteInKnownVpc: false, remoteRegion: '', directConnect: false };

/** The usage types (egress, ingress) the topology gives traffic between a local and a remote address. */
function lines(t: Topology, local: string, remote: string): string[][] {
  const row = t.countRow(t.classIndexOf(local), (combo) => combo);
  return t.usageCombos[row[t.classIndexOf(remote)]].types;
}

describe('bill lines: bugs that were planted and must be caught', () => {
  it('an interface endpoint in another zone is its processing only, never a cross-zone line', () => {
    const endpoint = { ...direct, path: Path.INTERFACE_ENDPOINT, otherZone: true };
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.CROSS_AZ, endpoint)).toEqual(['VpcEndpoint-Bytes']);
    expect(usageTypes('eu-west-1', Direction.INGRESS, Category.CROSS_AZ, endpoint)).toEqual(['EU-VpcEndpoint-Bytes']);
  });

  it('peering within one zone is free; across zones each side pays its direction', () => {
    const peering = { ...direct, path: Path.VPC_PEERING, remoteInKnownVpc: true };
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.SAME_AZ, peering)).toEqual([]);
    expect(usageTypes('us-east-1', Direction.INGRESS, Category.SAME_AZ, peering)).toEqual([]);
    expect(usageTypes('us-east-1', Direction.EGRESS, Category.CROSS_AZ, { ...peering, peerOtherZone: true })).toEqual(['VpcPeering-Out-Bytes']);
  });

  it('an inter-region line is priced at the source region, not the destination', () => {
    // Tokyo → N. Virginia costs Tokyo's $0.09/GB; N. Virginia's own inter-region rate is $0.02
    expect(usageTypes('ap-northeast-1', Direction.EGRESS, Category.INTER_REGION, { ...direct, remoteRegion: 'us-east-1' })).toEqual(['APN1-USE1-AWS-Out-Bytes']);
    expect(builtInUsagePrice('APN1-USE1-AWS-Out-Bytes', 'ap-northeast-1')).toBe(0.09);
    expect(builtInUsagePrice('USE1-APN1-AWS-Out-Bytes', 'us-east-1')).toBe(0.02);
  });

  it('a region without built-in prices has no usage prices (not us-east-1 ones)', () => {
    const prices = defaultPrices('xx-nowhere-1').prices;
    for (const u of usageTypes('xx-nowhere-1', Direction.EGRESS, Category.INTERNET, { ...direct, path: Path.NAT_GATEWAY })) expect(usagePriceOf(prices, u), u).toBeUndefined();
    for (const u of ['NatGateway-Bytes', 'DataTransfer-Out-Bytes', 'DataTransfer-Regional-Bytes']) expect(builtInUsagePrice(u, 'xx-nowhere-1'), u).toBeUndefined();
  });

  it("an interface endpoint's processing is the endpoint rate, not the Transit Gateway's", () => {
    expect(builtInUsagePrice('VpcEndpoint-Bytes', 'us-east-1')).toBe(0.01);
    expect(builtInUsagePrice('TransitGateway-Bytes', 'us-east-1')).toBe(0.02);
    expect(builtInUsagePrice('EU-VpcEndpoint-Bytes', 'eu-west-1')).toBe(0.01);
  });

  it('no cross-zone leg is invented to a NAT gateway whose zone is unknown; one in another zone has it', () => {
    const topology = (zone: string | undefined): Topology =>
      new Topology({
        region: 'us-east-1',
        file: topologyFile({
          region: 'us-east-1',
          subnets: [{ cidr: '10.0.1.0/24', zone: 'us-east-1a', zone_id: 'use1-az6', id: 'subnet-1', vpc: 'vpc-a' }],
          route_tables: [{ id: 'rtb-1', vpc: 'vpc-a', main: true, subnets: ['subnet-1'], routes: [{ destination: '0.0.0.0/0', target: 'nat-1' }] }],
          nat_gateways: [zone === undefined ? { id: 'nat-1', private_ips: [], public_ips: [] } : { id: 'nat-1', zone, private_ips: [], public_ips: [] }],
        }),
      });
    expect(lines(topology(undefined), '10.0.1.5', '8.8.8.8')[0]).toEqual(['NatGateway-Bytes', 'DataTransfer-Out-Bytes']);
    expect(lines(topology('us-east-1a'), '10.0.1.5', '8.8.8.8')[0]).toEqual(['NatGateway-Bytes', 'DataTransfer-Out-Bytes']);
    expect(lines(topology('us-east-1b'), '10.0.1.5', '8.8.8.8')[0]).toEqual(['NatGateway-Bytes', 'DataTransfer-Regional-Bytes', 'DataTransfer-Out-Bytes']);
  });
});

describe('bill lines of the paths discovery now tells apart', () => {
  const topology = (extra: Partial<Parameters<typeof topologyFile>[0]>, target: string): Topology =>
    new Topology({
      region: 'us-east-1',
      file: topologyFile({
        region: 'us-east-1',
        subnets: [{ cidr: '10.0.1.0/24', zone: 'us-east-1a', zone_id: 'use1-az6', id: 'subnet-1', vpc: 'vpc-a' }],
        route_tables: [{ id: 'rtb-1', vpc: 'vpc-a', main: true, subnets: ['subnet-1'], routes: [{ destination: '0.0.0.0/0', target }] }],
        ...extra,
      }),
    });

  it('a NAT instance (route to its ENI or its instance) in another zone adds the cross-zone leg; in ours, or of unknown zone, none', () => {
    for (const target of ['eni-0a1', 'i-0b2']) {
      const at = (zone: string | undefined) => topology({ interfaces: [{ id: 'eni-0a1', instance: 'i-0b2', ...(zone ? { zone } : {}) }] }, target);
      expect(lines(at('us-east-1b'), '10.0.1.5', '8.8.8.8'), target).toEqual([['DataTransfer-Regional-Bytes', 'DataTransfer-Out-Bytes'], ['DataTransfer-Regional-Bytes', 'DataTransfer-In-Bytes']]);
      expect(lines(at('us-east-1a'), '10.0.1.5', '8.8.8.8'), target).toEqual([['DataTransfer-Out-Bytes'], ['DataTransfer-In-Bytes']]);
      expect(lines(at(undefined), '10.0.1.5', '8.8.8.8'), target).toEqual([['DataTransfer-Out-Bytes'], ['DataTransfer-In-Bytes']]);
    }
  });

  it('a virtual private gateway without a VPN connection is Direct Connect: its own lines, not internet-out', () => {
    expect(lines(topology({ vpn_gateways: [{ id: 'vgw-1', direct_connect: false }] }, 'vgw-1'), '10.0.1.5', '192.168.7.7')).toEqual([['DataTransfer-Out-Bytes'], ['DataTransfer-In-Bytes']]);
    expect(lines(topology({ vpn_gateways: [{ id: 'vgw-1', direct_connect: true }] }, 'vgw-1'), '10.0.1.5', '192.168.7.7')).toEqual([['DataXfer-Out'], ['DataXfer-In']]);
    // priced only by a prices file: its rate depends on the Direct Connect location
    expect(builtInUsagePrice('DataXfer-Out', 'us-east-1')).toBeUndefined();
    expect(builtInUsagePrice('DataXfer-In', 'us-east-1')).toBe(0);
  });

  it("a Classic Load Balancer's processing is on its own line, both ways; an ALB's is not a host's", () => {
    const withLb = (kind: 'clb' | 'alb') => topology({ load_balancers: [{ ip: '10.0.1.200', kind, zone: 'us-east-1b' }] }, 'local');
    expect(lines(withLb('clb'), '10.0.1.5', '10.0.1.200')).toEqual([['DataProcessing-Bytes'], ['DataProcessing-Bytes']]);
    expect(lines(withLb('alb'), '10.0.1.5', '10.0.1.200')).toEqual([[], []]);
    expect(builtInUsagePrice('DataProcessing-Bytes', 'us-east-1')).toBe(0.008);
    expect(builtInUsagePrice('USE2-DataProcessing-Bytes', 'us-east-2')).toBe(0.008);
  });

  it("a host in a Local Zone: its lines under the zone's code (USE1-MIA1-…), priced as its region's unless a prices file says", () => {
    const t = new Topology({
      region: 'us-east-1',
      file: topologyFile({
        region: 'us-east-1',
        subnets: [
          { cidr: '10.0.9.0/24', zone: 'us-east-1-mia-1a', zone_id: 'use1-mia1-az1', id: 'subnet-lz', vpc: 'vpc-a' },
          { cidr: '10.0.1.0/24', zone: 'us-east-1a', zone_id: 'use1-az6', id: 'subnet-1', vpc: 'vpc-a' },
        ],
      }),
    });
    expect(lines(t, '10.0.9.5', '8.8.8.8')).toEqual([['USE1-MIA1-DataTransfer-Out-Bytes'], ['USE1-MIA1-DataTransfer-In-Bytes']]);
    expect(lines(t, '10.0.9.5', '10.0.1.7')).toEqual([['USE1-MIA1-DataTransfer-Regional-Bytes'], ['USE1-MIA1-DataTransfer-Regional-Bytes']]);
    // a host of the region itself keeps its region's names
    expect(lines(t, '10.0.1.7', '8.8.8.8')).toEqual([['DataTransfer-Out-Bytes'], ['DataTransfer-In-Bytes']]);
    expect(localZoneCode('us-west-2', 'us-west-2-lax-1a')).toBe('USW2-LAX1');
    expect(localZoneCode('us-east-1', 'us-east-1a')).toBeUndefined();
    expect(builtInUsagePrice('USE1-MIA1-DataTransfer-Out-Bytes', 'us-east-1')).toBe(0.09);
  });
});
