// The billing rules: which category traffic between a local and a remote address class falls in
// (docs/billing.md, "Categories and prices"). Topology snapshots precompute them into one row per local class.
import { Category } from './categories.js';

/** What an address range is, as far as billing goes. */
export const AddressKind = {
  INTERNET: 0, // nothing matched: public address outside AWS
  INTERNAL: 1, // never billed
  SUBNET: 2, // a known subnet (this VPC or a peered one)
  PUBLIC_IP: 3, // a public IPv4 of an ENI the topology knows
  EC2_REGION: 4, // an EC2 range of ip-ranges.json in this region
  AWS_SERVICE: 5, // another same-region AWS range, or GLOBAL
  AWS_OTHER_REGION: 6,
  PRIVATE: 7, // private address in no known subnet
} as const;

/** What the topology knows of an address: its kind and zone (name, and ID where known). */
export interface AddressClass {
  kind: number;
  zone: string; // zone name, '' where none
  zoneId: string;
  /** Another region's (AWS_OTHER_REGION), '' for this one. */
  region: string;
  /** A subnet's route table (index in the topology), -1 where none is known. */
  routeTable: number;
  /** The route cell of the address (Topology's route destinations), 0 where no route names it. */
  cell: number;
  /** A managed ENI: 'interface_endpoint', 'alb', 'nlb', 'clb'; '' for the rest. */
  managed: string;
  /** An AWS service reached through a gateway endpoint ('s3', 'dynamodb' of this region), 'global' (CloudFront, Route 53: no endpoint), '' for the rest. */
  service: string;
}

/** Zone comparison by zone ID whenever both sides have one: names differ between accounts. */
export function sameZone(a: AddressClass, b: AddressClass): boolean {
  if (a.zoneId !== '' && b.zoneId !== '') return a.zoneId === b.zoneId;
  return a.zone !== '' && a.zone === b.zone;
}

/** The category of traffic between a local address of class `local` and a remote of class `remote`. */
export function categorize(local: AddressClass, remote: AddressClass): number {
  switch (remote.kind) {
    case AddressKind.INTERNAL:
      return Category.INTERNAL;
    case AddressKind.SUBNET:
      // ALB and CLB nodes and interface endpoints are AWS's: reaching them is free, across zones too
      // (their own lines, if any, are bill lines: VpcEndpoint-Bytes); an NLB's cross-zone is billed
      if (remote.managed === 'alb' || remote.managed === 'clb' || remote.managed === 'interface_endpoint') return Category.AWS_SERVICE;
      // without the local zone, same vs cross AZ is unknowable: say so instead of guessing
      if (local.kind !== AddressKind.SUBNET || (local.zone === '' && local.zoneId === '')) return Category.UNCLASSIFIED;
      if (remote.zone === '' && remote.zoneId === '') return Category.UNCLASSIFIED;
      return sameZone(local, remote) ? Category.SAME_AZ : Category.CROSS_AZ;
    case AddressKind.PUBLIC_IP:
    case AddressKind.EC2_REGION:
      return Category.REGIONAL_PUBLIC;
    case AddressKind.AWS_SERVICE:
      return Category.AWS_SERVICE;
    case AddressKind.AWS_OTHER_REGION:
      return Category.INTER_REGION;
    case AddressKind.PRIVATE:
      return Category.UNCLASSIFIED;
    default:
      return Category.INTERNET;
  }
}
