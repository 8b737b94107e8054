// Every ENI of the VPC with its owner, for flow-log records (a record's workload is its interface's
// owner): DescribeNetworkInterfaces of the VPC, and the Name tags of the instances they are attached to.
import { paginateDescribeInstances, paginateDescribeNetworkInterfaces, type EC2Client, type NetworkInterface as SdkInterface } from '@aws-sdk/client-ec2';
import { lbKindOf } from '../classify/bill.js';
import type { EniOwnerKind, NetworkInterface } from './model.js';

/** DescribeInstances takes this many filter values at once. */
const INSTANCES_PER_CALL = 200;

/** The owner of an ENI, from its type, description and attachment (AWS sets these for managed ENIs). */
export function eniOwner(n: Pick<SdkInterface, 'InterfaceType' | 'Description' | 'Attachment' | 'RequesterId'>): { kind: EniOwnerKind; owner?: string; name?: string } {
  const d = n.Description ?? '';
  const type = n.InterfaceType ?? '';
  const word = (re: RegExp): string | undefined => re.exec(d)?.[0];
  if (type === 'natGateway' || d.startsWith('Interface for NAT Gateway')) return { kind: 'NatGateway', owner: word(/nat-[0-9a-z]+/) };
  if (type === 'gateway_load_balancer') return { kind: 'GatewayLoadBalancer', owner: d.replace(/^ELB /, '') || undefined, name: d.split('/')[1] };
  if (type === 'vpc_endpoint' || type === 'gateway_load_balancer_endpoint') return { kind: 'VpcEndpoint', owner: word(/vpce-[0-9a-z]+/) };
  if (type === 'transit_gateway') return { kind: 'TransitGateway', owner: word(/tgw-attach-[0-9a-z]+/) };
  if (lbKindOf(d) !== undefined || type === 'network_load_balancer' || type === 'load_balancer') return { kind: 'LoadBalancer', owner: d.replace(/^ELB /, '') || undefined, name: d.split('/')[1] };
  if (type === 'lambda' || d.startsWith('AWS Lambda VPC ENI')) return { kind: 'Lambda', name: /^AWS Lambda VPC ENI-(.+)-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.exec(d)?.[1] };
  if (d.startsWith('RDSNetworkInterface') || n.RequesterId === 'amazon-rds') return { kind: 'RDS' };
  if (d.startsWith('arn:aws:ecs:')) return { kind: 'ECS', owner: d.split('/').pop() };
  if (d.startsWith('EFS mount target')) return { kind: 'EFS', owner: word(/fs-[0-9a-z]+/) };
  if (n.Attachment?.InstanceId) return { kind: 'Instance', owner: n.Attachment.InstanceId };
  return { kind: 'NetworkInterface' };
}

/** The VPC's ENIs, owners named (instances by their Name tag). A failed call throws: the caller guards it. */
export async function discoverInterfaces(client: EC2Client, vpcId: string, zoneIds: Map<string, string>): Promise<NetworkInterface[]> {
  const out: NetworkInterface[] = [];
  for await (const page of paginateDescribeNetworkInterfaces({ client }, { Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })) {
    for (const n of page.NetworkInterfaces ?? []) {
      if (!n.NetworkInterfaceId) continue;
      const zone = n.AvailabilityZone;
      const ips = [...(n.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress), ...(n.Ipv6Addresses ?? []).map((a) => a.Ipv6Address)].filter((x): x is string => !!x);
      const o = eniOwner(n);
      out.push(
        clean({
          id: n.NetworkInterfaceId,
          instance: n.Attachment?.InstanceId,
          zone,
          zone_id: zone ? zoneIds.get(zone) : undefined,
          subnet: n.SubnetId,
          ips,
          kind: o.kind,
          owner: o.owner,
          name: o.name,
        }),
      );
    }
  }
  const instances = [...new Set(out.map((i) => i.instance).filter((x): x is string => !!x))];
  const names = new Map<string, string>();
  for (let k = 0; k < instances.length; k += INSTANCES_PER_CALL) {
    const batch = instances.slice(k, k + INSTANCES_PER_CALL);
    for await (const page of paginateDescribeInstances({ client }, { Filters: [{ Name: 'instance-id', Values: batch }] })) {
      for (const r of page.Reservations ?? []) {
        for (const i of r.Instances ?? []) {
          const name = i.Tags?.find((t) => t.Key === 'Name')?.Value;
          if (i.InstanceId && name) names.set(i.InstanceId, name);
        }
      }
    }
  }
  for (const i of out) if (i.instance && names.has(i.instance)) i.name = names.get(i.instance);
  return out;
}

/** `o` without its undefined and empty values (the topology file omits them). */
export function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;
}
