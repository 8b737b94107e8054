// EC2 API discovery: zone names ↔ IDs, the subnets of this VPC and of every VPC peered with it, and the
// public IPs of ENIs and Elastic IPs in the region. Uses the SDK's default credential chain (instance
// profile, IRSA, environment) and its standard endpoint settings (AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL).
import { resolveRegion } from './region.js';
import {
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeVpnConnectionsCommand,
  EC2Client,
  paginateDescribeNatGateways,
  paginateDescribeNetworkInterfaces,
  paginateDescribePrefixLists,
  paginateDescribeRouteTables,
  paginateDescribeSubnets,
  paginateDescribeVpcEndpoints,
  paginateDescribeVpcPeeringConnections,
  paginateGetManagedPrefixListEntries,
  type Filter,
  type Route,
} from '@aws-sdk/client-ec2';
import { lbKindOf } from '../classify/bill.js';
import { log } from '../config/log.js';
import { clean, discoverInterfaces } from './eni-owners.js';
import { Ec2UnauthorizedError } from './aws-errors.js';
import type { Endpoint, LoadBalancer, NatGateway, NetworkInterface, PrefixList, PublicIp, RouteTable, Subnet, VpnGateway } from './model.js';

/** The network path: route tables and what their routes and managed ENIs lead to. */
export interface PathInfo {
  route_tables: RouteTable[];
  prefix_lists: PrefixList[];
  nat_gateways: NatGateway[];
  endpoints: Endpoint[];
  load_balancers: LoadBalancer[];
  interfaces: NetworkInterface[];
  vpn_gateways: VpnGateway[];
}

export interface Ec2Info {
  zoneIds: Map<string, string>;
  subnets: Subnet[];
  /** CIDRs of peered VPCs whose subnets this account cannot describe (another account or region). */
  peerCidrs: { cidr: string; vpc: string; region?: string }[];
  publicIps: PublicIp[];
  path: PathInfo;
}


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
      throw new Ec2UnauthorizedError(`EC2 API: not authorized for ec2:${action} (attach the IAM policy in docs/serve.md, Zero-config on EC2) (${(e as Error).message})`);
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
  const peerRegions = new Map<string, string>();
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
          if (other.Region) peerRegions.set(other.VpcId, other.Region);
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
  const peerCidrs = [...peers].filter(([vpc]) => !describedVpcs.has(vpc)).flatMap(([vpc, cidrs]) => cidrs.map((cidr) => clean({ cidr, vpc, region: peerRegions.get(vpc) })));

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
  const path = await discoverPath(client, vpcId, subnets, zoneIds);
  return { zoneIds, subnets: subnets.map(clean), peerCidrs, publicIps: [...publicIps.values()], path };
}

/** A route's target, as the route table shows it (`local`, `igw-…`, `nat-…`, `vpce-…`, `tgw-…`, `pcx-…`, …). */
function targetOf(r: Route): string {
  return (
    r.NatGatewayId ?? r.TransitGatewayId ?? r.VpcPeeringConnectionId ?? r.GatewayId ?? r.EgressOnlyInternetGatewayId ?? r.NetworkInterfaceId ?? r.InstanceId ?? r.LocalGatewayId ?? r.CarrierGatewayId ?? r.CoreNetworkArn ?? 'unknown'
  );
}

/**
 * Route tables (explicit associations, the main table), NAT gateways with their zones, endpoints with
 * their ENI addresses, load balancer ENIs, and the prefix lists the routes name. All paginated.
 */
async function discoverPath(client: EC2Client, vpcId: string, subnets: Subnet[], zoneIds: Map<string, string>): Promise<PathInfo> {
  const vpcFilter: Filter[] = [{ Name: 'vpc-id', Values: [vpcId] }];
  const subnetZone = new Map(subnets.filter((s) => s.id).map((s) => [s.id!, { zone: s.zone, zone_id: s.zone_id }]));

  const route_tables: RouteTable[] = [];
  await guarded('DescribeRouteTables', async () => {
    for await (const page of paginateDescribeRouteTables({ client }, { Filters: vpcFilter })) {
      for (const t of page.RouteTables ?? []) {
        if (!t.RouteTableId) continue;
        const routes = (t.Routes ?? []).flatMap((r): RouteTable['routes'] => {
          const target = r.State === 'blackhole' ? 'blackhole' : targetOf(r);
          const dest = r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock;
          if (dest) return [{ destination: dest, target }];
          if (r.DestinationPrefixListId) return [{ prefix_list: r.DestinationPrefixListId, target }];
          return [];
        });
        const assoc = t.Associations ?? [];
        route_tables.push(
          clean({
            id: t.RouteTableId,
            vpc: t.VpcId,
            main: assoc.some((a) => a.Main === true),
            subnets: assoc.map((a) => a.SubnetId).filter((x): x is string => !!x),
            routes,
          }),
        );
      }
    }
  });

  const nat_gateways: NatGateway[] = [];
  await guarded('DescribeNatGateways', async () => {
    for await (const page of paginateDescribeNatGateways({ client }, { Filter: vpcFilter })) {
      for (const n of page.NatGateways ?? []) {
        if (!n.NatGatewayId || (n.State !== undefined && n.State !== 'available' && n.State !== 'pending')) continue;
        const addrs = n.NatGatewayAddresses ?? [];
        nat_gateways.push(
          clean({
            id: n.NatGatewayId,
            ...(n.SubnetId ? subnetZone.get(n.SubnetId) : {}),
            private_ips: addrs.map((a) => a.PrivateIp).filter((x): x is string => !!x),
            public_ips: addrs.map((a) => a.PublicIp).filter((x): x is string => !!x),
          }),
        );
      }
    }
  });

  // managed ENIs of the VPC (requester-managed: endpoints, load balancers, NAT gateways): addresses and zones
  const eniIps = new Map<string, { ip: string; zone?: string; zone_id?: string }[]>();
  const load_balancers: LoadBalancer[] = [];
  await guarded('DescribeNetworkInterfaces', async () => {
    const filters: Filter[] = [...vpcFilter, { Name: 'requester-managed', Values: ['true'] }];
    for await (const page of paginateDescribeNetworkInterfaces({ client }, { Filters: filters })) {
      for (const n of page.NetworkInterfaces ?? []) {
        const zone = n.AvailabilityZone;
        const where = { zone, zone_id: zone ? zoneIds.get(zone) : undefined };
        const ips = (n.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress).concat((n.Ipv6Addresses ?? []).map((a) => a.Ipv6Address)).filter((x): x is string => !!x);
        if (n.NetworkInterfaceId) eniIps.set(n.NetworkInterfaceId, ips.map((ip) => clean({ ip, ...where })));
        const kind = lbKindOf(n.Description);
        if (kind) for (const ip of ips) load_balancers.push(clean({ ip, kind, name: n.Description!.slice(4), ...where }));
      }
    }
  });

  const endpoints: Endpoint[] = [];
  await guarded('DescribeVpcEndpoints', async () => {
    for await (const page of paginateDescribeVpcEndpoints({ client }, { Filters: vpcFilter })) {
      for (const e of page.VpcEndpoints ?? []) {
        const types = { Interface: 'interface', Gateway: 'gateway', GatewayLoadBalancer: 'gateway_load_balancer' } as const;
        const type = types[e.VpcEndpointType as keyof typeof types] as Endpoint['type'] | undefined;
        if (!e.VpcEndpointId || !type) continue;
        const ips = type === 'interface' ? (e.NetworkInterfaceIds ?? []).flatMap((id) => eniIps.get(id) ?? []) : [];
        endpoints.push(clean({ id: e.VpcEndpointId, type, service: e.ServiceName, ips }));
      }
    }
  });

  // the prefix lists routes name: AWS's service lists (DescribePrefixLists), then customer-managed ones
  const wanted = new Set(route_tables.flatMap((t) => t.routes.map((r) => r.prefix_list).filter((x): x is string => !!x)));
  const prefix_lists: PrefixList[] = [];
  if (wanted.size > 0) {
    await guarded('DescribePrefixLists', async () => {
      for await (const page of paginateDescribePrefixLists({ client }, { PrefixListIds: [...wanted] })) {
        for (const l of page.PrefixLists ?? []) {
          if (!l.PrefixListId || !wanted.has(l.PrefixListId)) continue;
          prefix_lists.push(clean({ id: l.PrefixListId, name: l.PrefixListName, cidrs: l.Cidrs ?? [] }));
          wanted.delete(l.PrefixListId);
        }
      }
    });
    for (const id of wanted) {
      const cidrs: string[] = [];
      await guarded('GetManagedPrefixListEntries', async () => {
        for await (const page of paginateGetManagedPrefixListEntries({ client }, { PrefixListId: id })) {
          for (const e of page.Entries ?? []) if (e.Cidr) cidrs.push(e.Cidr);
        }
      });
      prefix_lists.push({ id, cidrs });
    }
  }
  const { interfaces: routed, vpn_gateways } = await discoverRouteDevices(client, route_tables, zoneIds);
  // every ENI of the VPC with its owner (flow-log records name them); without it routes still work
  let owned: NetworkInterface[] = [];
  try {
    owned = await guarded('DescribeNetworkInterfaces', () => discoverInterfaces(client, vpcId, zoneIds));
  } catch (e) {
    log.warn(`the VPC's network interfaces and their owners were not described (${(e as Error).message}): flow-log records name their interfaces by id`, {});
  }
  const byId = new Map(routed.map((i) => [i.id, i]));
  for (const i of owned) byId.set(i.id, { ...byId.get(i.id), ...i });
  return { route_tables, prefix_lists, nat_gateways, endpoints, load_balancers, interfaces: [...byId.values()], vpn_gateways };
}

/**
 * What routes lead to beyond NAT gateways and endpoints: the ENIs and instances (NAT instances,
 * appliances) with their zones, and whether each virtual private gateway carries a site-to-site VPN
 * (a gateway with no VPN connection is Direct Connect's).
 */
async function discoverRouteDevices(client: EC2Client, tables: RouteTable[], zoneIds: Map<string, string>): Promise<{ interfaces: NetworkInterface[]; vpn_gateways: VpnGateway[] }> {
  const targets = new Set(tables.flatMap((t) => t.routes.map((r) => r.target)));
  const enis = [...targets].filter((t) => t.startsWith('eni-'));
  const instances = [...targets].filter((t) => t.startsWith('i-'));
  const vgws = [...targets].filter((t) => t.startsWith('vgw-'));
  const found = new Map<string, NetworkInterface>();
  for (const [name, values] of [
    ['network-interface-id', enis],
    ['attachment.instance-id', instances],
  ] as const) {
    if (values.length === 0) continue;
    await guarded('DescribeNetworkInterfaces', async () => {
      for await (const page of paginateDescribeNetworkInterfaces({ client }, { Filters: [{ Name: name, Values: values }] })) {
        for (const n of page.NetworkInterfaces ?? []) {
          if (!n.NetworkInterfaceId) continue;
          const zone = n.AvailabilityZone;
          found.set(n.NetworkInterfaceId, clean({ id: n.NetworkInterfaceId, instance: n.Attachment?.InstanceId, zone, zone_id: zone ? zoneIds.get(zone) : undefined }));
        }
      }
    });
  }
  const vpn_gateways: VpnGateway[] = [];
  if (vgws.length > 0) {
    const withVpn = new Set<string>();
    await guarded('DescribeVpnConnections', async () => {
      const r = await client.send(new DescribeVpnConnectionsCommand({ Filters: [{ Name: 'vpn-gateway-id', Values: vgws }] }));
      for (const c of r.VpnConnections ?? []) if (c.VpnGatewayId && c.State !== 'deleted' && c.State !== 'deleting') withVpn.add(c.VpnGatewayId);
    });
    for (const id of vgws) vpn_gateways.push({ id, direct_connect: !withVpn.has(id) });
  }
  return { interfaces: [...found.values()], vpn_gateways };
}

/** NAT gateway and VPC endpoint interfaces are kept apart (the API's interface type natGateway is written nat_gateway). */
function markKind(t: string | undefined): string | undefined {
  if (t === 'natGateway') return 'nat_gateway';
  return t === 'vpc_endpoint' || t === 'gateway_load_balancer_endpoint' ? t : undefined;
}
