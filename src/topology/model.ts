// The topology file (README, "Topology file") and AWS's ip-ranges.json, as validated data.
import { z } from 'zod';
import { isValidCidr, isValidIp } from './ip.js';

const cidr = z.string().refine(isValidCidr, { error: (iss) => `${JSON.stringify(iss.input)} is not a valid CIDR` });
const ip = z.string().refine(isValidIp, { error: (iss) => `${JSON.stringify(iss.input)} is not a valid IP address` });
const zoneName = z.string().regex(/^[a-z0-9-]+$/, 'zone must look like us-east-1a');

export const SubnetSchema = z.object({
  cidr,
  zone: zoneName.optional(),
  zone_id: zoneName.optional(),
  vpc: z.string().optional(),
  id: z.string().optional(),
}).strict();

export const PublicIpSchema = z.object({
  ip,
  zone: zoneName.optional(),
  zone_id: zoneName.optional(),
  kind: z.string().optional(), // e.g. nat_gateway, vpc_endpoint: kept for later counters
}).strict();

export const TopologyFileSchema = z.object({
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'region must look like us-east-1').optional(),
  subnets: z.array(SubnetSchema).default([]),
  public_ips: z.array(PublicIpSchema).default([]),
  local_ips: z.array(ip).default([]),
}).strict();

export type Subnet = z.infer<typeof SubnetSchema>;
export type PublicIp = z.infer<typeof PublicIpSchema>;
export type TopologyFile = z.infer<typeof TopologyFileSchema>;

// Prefixes are checked while the lookup tables are built (Topology), which parses each once anyway:
// parsing 17,000 of them twice costs more start-up time than the rest of the validation.
export const IpRangesSchema = z.object({
  syncToken: z.string().optional(),
  createDate: z.string().optional(),
  prefixes: z.array(z.object({ ip_prefix: z.string(), region: z.string(), service: z.string() })).default([]),
  ipv6_prefixes: z.array(z.object({ ipv6_prefix: z.string(), region: z.string(), service: z.string() })).default([]),
});

export type IpRanges = z.infer<typeof IpRangesSchema>;

export const EMPTY_IP_RANGES: IpRanges = { prefixes: [], ipv6_prefixes: [] };
