// The topology file (docs/configuration.md, "Topology file") and AWS's ip-ranges.json, as validated data.
import { z } from 'zod';
import { isValidCidr, isValidIp } from '../net/ip.js';

const cidr = z.string().refine(isValidCidr, { error: (iss) => `${JSON.stringify(iss.input)} is not a valid CIDR` });
const ip = z.string().refine(isValidIp, { error: (iss) => `${JSON.stringify(iss.input)} is not a valid IP address` });
/** An address of this host, or a prefix delegated to it (EKS prefix delegation: IPv4 /28, IPv6 /80). */
const localAddress = z.string().refine((s) => isValidIp(s) || (isValidCidr(s) && s.includes('/') && (s.includes(':') || Number(s.split('/')[1]) >= 16)), {
  error: (iss) => `${JSON.stringify(iss.input)} is not an IP address or a prefix (IPv4 /16 or longer)`,
});
const mac = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i, 'expected a MAC address such as 0a:1b:2c:3d:4e:5f');
const zoneName = z.string().regex(/^[a-z0-9-]+$/, 'zone must look like us-east-1a');

export const SubnetSchema = z.object({
  cidr,
  zone: zoneName.optional(),
  zone_id: zoneName.optional(),
  vpc: z.string().optional(),
  id: z.string().optional(),
  /** A peered VPC's region, where it is not this one: its addresses are then inter_region. */
  region: z.string().optional(),
}).strict();

export const PublicIpSchema = z.object({
  ip,
  zone: zoneName.optional(),
  zone_id: zoneName.optional(),
  kind: z.string().optional(), // e.g. nat_gateway, vpc_endpoint: kept for later counters
}).strict();

const zoned = { zone: zoneName.optional(), zone_id: zoneName.optional() };

// The network path (docs/configuration.md): route tables with their subnets and routes, and the
// managed devices the routes and addresses lead to.
export const RouteSchema = z.object({
  destination: cidr.optional(),
  prefix_list: z.string().regex(/^pl-[0-9a-z]+$/, 'prefix_list must look like pl-63a5400a').optional(),
  target: z.string().min(1),
}).strict().refine((r) => (r.destination === undefined) !== (r.prefix_list === undefined), { error: 'a route needs exactly one of destination, prefix_list' });

export const RouteTableSchema = z.object({
  id: z.string().min(1),
  vpc: z.string().optional(),
  /** The VPC's main table: subnets without an explicit association use it. */
  main: z.boolean().default(false),
  subnets: z.array(z.string()).default([]),
  routes: z.array(RouteSchema).default([]),
}).strict();

export const PrefixListSchema = z.object({ id: z.string().min(1), name: z.string().optional(), cidrs: z.array(cidr).default([]) }).strict();

export const NatGatewaySchema = z.object({ id: z.string().min(1), ...zoned, private_ips: z.array(ip).default([]), public_ips: z.array(ip).default([]) }).strict();

/** A managed ENI address: an interface endpoint or a load balancer node. */
export const ManagedIpSchema = z.object({ ip, ...zoned }).strict();

export const EndpointSchema = z.object({
  id: z.string().min(1),
  type: z.enum(['interface', 'gateway', 'gateway_load_balancer']),
  service: z.string().optional(),
  ips: z.array(ManagedIpSchema).default([]),
}).strict();

/**
 * Who owns an ENI (DescribeNetworkInterfaces): a flow-log record's workload kind. The first five are
 * paths, not hosts: their records only fill in for hosts whose own interface is not logged.
 */
export const ENI_OWNER_KINDS = ['NatGateway', 'LoadBalancer', 'VpcEndpoint', 'TransitGateway', 'GatewayLoadBalancer', 'Instance', 'Lambda', 'RDS', 'ECS', 'EFS', 'NetworkInterface'] as const;
export type EniOwnerKind = (typeof ENI_OWNER_KINDS)[number];
export const PATH_OWNER_KINDS: ReadonlySet<EniOwnerKind> = new Set(['NatGateway', 'LoadBalancer', 'VpcEndpoint', 'TransitGateway', 'GatewayLoadBalancer']);

/**
 * An ENI of the VPC: where a route leads to it (NAT instance, appliance) its zone decides the cross-zone
 * leg; for flow logs its addresses and owner name the records it logged.
 */
export const InterfaceSchema = z.object({
  id: z.string().regex(/^eni-[0-9a-z]+$/, 'id must look like eni-0a1b2c'),
  instance: z.string().regex(/^i-[0-9a-z]+$/, 'instance must look like i-0a1b2c').optional(),
  ...zoned,
  subnet: z.string().optional(),
  ips: z.array(ip).optional(),
  /** The owner's kind (Instance, NatGateway, LoadBalancer, ...), its id, and its Name tag where it has one. */
  kind: z.enum(ENI_OWNER_KINDS).optional(),
  owner: z.string().optional(),
  name: z.string().optional(),
}).strict();

/** A virtual private gateway: a site-to-site VPN's (billed at the internet-out rate) or Direct Connect's (its own lines). */
export const VpnGatewaySchema = z.object({ id: z.string().regex(/^vgw-[0-9a-z]+$/, 'id must look like vgw-0a1b2c'), direct_connect: z.boolean().default(false) }).strict();

export const LoadBalancerSchema = z.object({ ip, kind: z.enum(['alb', 'nlb', 'clb']), name: z.string().optional(), ...zoned }).strict();

/** The host itself (IMDS, or the file): what the bill's resource IDs and accounts name it by. */
export const HostSchema = z.object({
  instance_id: z.string().regex(/^i-[0-9a-z]+$/, 'instance_id must look like i-0a1b2c').optional(),
  account_id: z.string().regex(/^\d{12}$/, 'account_id is 12 digits').optional(),
  interfaces: z.array(z.string().regex(/^eni-[0-9a-z]+$/, 'an interface id looks like eni-0a1b2c')).default([]),
}).strict();

export const TopologyFileSchema = z.object({
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'region must look like us-east-1').optional(),
  subnets: z.array(SubnetSchema).default([]),
  public_ips: z.array(PublicIpSchema).default([]),
  local_ips: z.array(localAddress).default([]),
  local_macs: z.array(mac).optional(),
  route_tables: z.array(RouteTableSchema).default([]),
  prefix_lists: z.array(PrefixListSchema).default([]),
  nat_gateways: z.array(NatGatewaySchema).default([]),
  endpoints: z.array(EndpointSchema).default([]),
  load_balancers: z.array(LoadBalancerSchema).default([]),
  interfaces: z.array(InterfaceSchema).default([]),
  vpn_gateways: z.array(VpnGatewaySchema).default([]),
  host: HostSchema.optional(),
}).strict();

export type Subnet = z.infer<typeof SubnetSchema>;
export type PublicIp = z.infer<typeof PublicIpSchema>;
export type TopologyFile = z.infer<typeof TopologyFileSchema>;
export type RouteTable = z.infer<typeof RouteTableSchema>;
export type PrefixList = z.infer<typeof PrefixListSchema>;
export type NatGateway = z.infer<typeof NatGatewaySchema>;
export type Endpoint = z.infer<typeof EndpointSchema>;
export type LoadBalancer = z.infer<typeof LoadBalancerSchema>;
export type NetworkInterface = z.infer<typeof InterfaceSchema>;
export type VpnGateway = z.infer<typeof VpnGatewaySchema>;
export type Host = z.infer<typeof HostSchema>;

// Prefixes are checked while the lookup tables are built (Topology), which parses each once anyway:
// parsing 17,000 of them twice costs more start-up time than the rest of the validation.
export const IpRangesSchema = z.object({
  syncToken: z.string().optional(),
  createDate: z.string().optional(),
  prefixes: z.array(z.object({ ip_prefix: z.string(), region: z.string(), service: z.string(), network_border_group: z.string().optional() })).default([]),
  ipv6_prefixes: z.array(z.object({ ipv6_prefix: z.string(), region: z.string(), service: z.string(), network_border_group: z.string().optional() })).default([]),
});

export type IpRanges = z.infer<typeof IpRangesSchema>;
