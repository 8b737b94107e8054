// EC2 API discovery: zone names ↔ IDs, the subnets of this VPC and of every VPC peered with it, and the
// public IPs of ENIs and Elastic IPs in the region. Uses the SDK's default credential chain (instance
// profile, IRSA, environment) and its standard endpoint settings (AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL).
import { resolveRegion } from './region.js';
import {
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  EC2Client,
  paginateDescribeNetworkInterfaces,
  paginateDescribeSubnets,
  paginateDescribeVpcPeeringConnections,
  type Filter,
} from '@aws-sdk/client-ec2';
import type { PublicIp, Subnet } from './model.js';

export interface Ec2Info {
  zoneIds: Map<string, string>;
  subnets: Subnet[];
  /** CIDRs of peered VPCs whose subnets this account cannot describe (another account or region). */
  peerCidrs: { cidr: string; vpc: string }[];
  publicIps: PublicIp[];
}

/** The API refused for lack of permission: the caller falls back to what IMDS knows. */
export class Ec2UnauthorizedError extends Error {}

const UNAUTHORIZED = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException', 'AuthFailure']);

/** The SDK's region settings first, else the instance's own region. */
/** The EC2 API's region: the instance's own (its VPC is there), by the one region resolver. */
export function ec2Region(env: NodeJS.ProcessEnv, imds: { region: string }): string {
  return resolveRegion({ imds: imds.region, env }).region;
}

export function ec2Client(region: string): EC2Client {
  // adaptive: the SDK's retry strategy with client-side rate limiting when EC2 throttles
  return new EC2Client({ region, maxAttempts: 6, retryMode: 'adaptive' });
}

async function guarded<T>(action: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const name = (e as { name?: string; Code?: string }).name ?? '';
    if (UNAUTHORIZED.has(name)) {
      throw new Ec2UnauthorizedError(`EC2 API: not authorized for ec2:${action} (attach the IAM policy from the README) (${(e as Error).message})`);
    }
    throw new Error(`EC2 API ${action} failed: ${name ? name + ': ' : ''}${(e as Error).message}`);
  }
}

export async function discoverEc2(client: EC2Client, vpcId: string): Promise<Ec2Info> {
  const zoneIds = new Map<string, string>();
  const azs = await guarded('DescribeAvailabilityZones', () => client.send(new DescribeAvailabilityZonesCommand({})));
  for (const z of azs.AvailabilityZones ?? []) if (z.ZoneName && z.ZoneId) zoneIds.set(z.ZoneName, z.ZoneId);

  // peerings where this VPC is either side
  const peers = new Map<string, string[]>(); // peer VPC → its CIDRs
  for (const side of ['requester-vpc-info.vpc-id', 'accepter-vpc-info.vpc-id']) {
    const filters: Filter[] = [
      { Name: side, Values: [vpcId] },
      { Name: 'status-code', Values: ['active'] },
    ];
    await guarded('DescribeVpcPeeringConnections', async () => {
      for await (const page of paginateDescribeVpcPeeringConnections({ client }, { Filters: filters })) {
        for (const pc of page.VpcPeeringConnections ?? []) {
          const other = side.startsWith('requester') ? pc.AccepterVpcInfo : pc.RequesterVpcInfo;
          if (!other?.VpcId) continue;
          const cidrs = [
            ...(other.CidrBlockSet ?? []).map((c) => c.CidrBlock),
            ...(other.Ipv6CidrBlockSet ?? []).map((c) => c.Ipv6CidrBlock),
            other.CidrBlock,
          ].filter((c): c is string => !!c);
          peers.set(other.VpcId, [...new Set(cidrs)]);
        }
      }
    });
  }

  const vpcs = [vpcId, ...peers.keys()];
  const subnets: Subnet[] = [];
  const describedVpcs = new Set<string>();
  await guarded('DescribeSubnets', async () => {
    for await (const page of paginateDescribeSubnets({ client }, { Filters: [{ Name: 'vpc-id', Values: vpcs }] })) {
      for (const s of page.Subnets ?? []) {
        const common = { zone: s.AvailabilityZone, zone_id: s.AvailabilityZoneId, vpc: s.VpcId, id: s.SubnetId };
        if (s.VpcId) describedVpcs.add(s.VpcId);
        if (s.CidrBlock) subnets.push({ cidr: s.CidrBlock, ...common });
        for (const a of s.Ipv6CidrBlockAssociationSet ?? []) {
          if (a.Ipv6CidrBlock && (a.Ipv6CidrBlockState?.State ?? 'associated') === 'associated') subnets.push({ cidr: a.Ipv6CidrBlock, ...common });
        }
      }
    }
  });
  const peerCidrs = [...peers].filter(([vpc]) => !describedVpcs.has(vpc)).flatMap(([vpc, cidrs]) => cidrs.map((cidr) => ({ cidr, vpc })));

  const publicIps = new Map<string, PublicIp>();
  const eniZone = new Map<string, { zone?: string; zone_id?: string; kind?: string }>();
  await guarded('DescribeNetworkInterfaces', async () => {
    for await (const page of paginateDescribeNetworkInterfaces({ client }, { Filters: [{ Name: 'association.public-ip', Values: ['*'] }] })) {
      for (const n of page.NetworkInterfaces ?? []) {
        const zone = n.AvailabilityZone;
        const info = { zone, zone_id: zone ? zoneIds.get(zone) : undefined, kind: markKind(n.InterfaceType) };
        if (n.NetworkInterfaceId) eniZone.set(n.NetworkInterfaceId, info);
        const ip = n.Association?.PublicIp;
        if (ip) publicIps.set(ip, clean({ ip, ...info }));
      }
    }
  });
  const addresses = await guarded('DescribeAddresses', () => client.send(new DescribeAddressesCommand({})));
  for (const a of addresses.Addresses ?? []) {
    if (!a.PublicIp || publicIps.has(a.PublicIp)) continue;
    const info = a.NetworkInterfaceId ? eniZone.get(a.NetworkInterfaceId) : undefined;
    publicIps.set(a.PublicIp, clean({ ip: a.PublicIp, ...info }));
  }
  return { zoneIds, subnets: subnets.map(clean), peerCidrs, publicIps: [...publicIps.values()] };
}

/** NAT gateway and VPC endpoint interfaces are kept apart for the NAT processing counter to come. */
function markKind(t: string | undefined): string | undefined {
  return t === 'nat_gateway' || t === 'vpc_endpoint' || t === 'gateway_load_balancer_endpoint' ? t : undefined;
}

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;
}
