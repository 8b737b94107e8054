// The bill's own lines (docs/billing.md): the network path a byte takes, the AWS usage types
// (as the Cost and Usage Report names them) it adds to, and their list prices per region.
import { indexOf } from '../net/names.js';
import { Category, categoryRow, Direction } from './categories.js';

export const PATH_NAMES = ['direct', 'nat_gateway', 'gateway_endpoint', 'interface_endpoint', 'load_balancer', 'transit_gateway', 'vpc_peering', 'gateway_load_balancer_endpoint', 'instance', 'vpn_gateway'] as const;
export type PathName = (typeof PATH_NAMES)[number];
export const Path = indexOf(PATH_NAMES);

/** Load balancer kinds, from their ENI descriptions (`ELB app/…`, `ELB net/…`, `ELB name`). */
export type LbKind = 'alb' | 'nlb' | 'clb';

export function lbKindOf(description: string | undefined): LbKind | undefined {
  if (!description?.startsWith('ELB ')) return undefined;
  if (description.startsWith('ELB app/')) return 'alb';
  if (description.startsWith('ELB net/')) return 'nlb';
  if (description.startsWith('ELB gwy/')) return undefined; // Gateway LB: its endpoints are separate
  return 'clb';
}

/**
 * Per region: its billing code (the prefix of usage types) and first-tier list prices in $/GB —
 * internet egress (first 10 TB a month), inter-region egress (to most other regions), NAT gateway
 * processing, interface endpoint processing (first PB), Transit Gateway processing. Regional,
 * cross-zone and peering transfer are $0.01/GB each way everywhere. Figures from AWS's public price
 * pages (EC2 data transfer, VPC); regions launched after 2024 are marked, their figures by the nearest
 * region's: check them, and override any price in the prices file.
 */
export interface RegionBilling {
  code: string;
  internet: number;
  interRegion: number;
  nat: number;
  endpoint: number;
  tgw: number;
  /** Gateway Load Balancer endpoint processing. */
  gwlbe: number;
  /** An interface endpoint's hour in one zone ($/hour; us-east-1's where the region's is not known: a prices file's `VpcEndpoint-Hours` names it). */
  endpointHour: number;
}

// a NAT gateway's hour costs what it charges per GB processed, in every region ($/hour = $/GB)
const r = (code: string, internet: number, interRegion: number, nat: number, endpoint = 0.01, tgw = 0.02, gwlbe = 0.0035, endpointHour = 0.01): RegionBilling => ({
  code,
  internet,
  interRegion,
  nat,
  endpoint,
  tgw,
  gwlbe,
  endpointHour,
});

export const REGIONS: Readonly<Record<string, RegionBilling>> = {
  'us-east-1': r('USE1', 0.09, 0.02, 0.045),
  'us-east-2': r('USE2', 0.09, 0.02, 0.045),
  'us-west-1': r('USW1', 0.09, 0.02, 0.048),
  'us-west-2': r('USW2', 0.09, 0.02, 0.045),
  'us-south-1': r('USS1', 0.09, 0.02, 0.045), // newer: as us-east-2
  'ca-central-1': r('CAN1', 0.09, 0.02, 0.05),
  'ca-west-1': r('CAN2', 0.09, 0.02, 0.05),
  'mx-central-1': r('MXC1', 0.09, 0.02, 0.05), // newer
  'sa-east-1': r('SAE1', 0.15, 0.138, 0.093, 0.013),
  'sa-west-1': r('SAW1', 0.15, 0.138, 0.093, 0.013), // newer: as sa-east-1
  'eu-west-1': r('EU', 0.09, 0.02, 0.048),
  'eu-west-2': r('EUW2', 0.09, 0.02, 0.05),
  'eu-west-3': r('EUW3', 0.09, 0.02, 0.05),
  'eu-central-1': r('EUC1', 0.09, 0.02, 0.052),
  'eu-central-2': r('EUC2', 0.09, 0.02, 0.057),
  'eu-north-1': r('EUN1', 0.09, 0.02, 0.046),
  'eu-south-1': r('EUS1', 0.09, 0.02, 0.05),
  'eu-south-2': r('EUS2', 0.09, 0.02, 0.048),
  'il-central-1': r('ILC1', 0.11, 0.08, 0.05),
  'me-south-1': r('MES1', 0.117, 0.1105, 0.055),
  'me-central-1': r('MEC1', 0.11, 0.085, 0.055),
  'me-west-1': r('MEW1', 0.11, 0.085, 0.055), // newer: as me-central-1
  'af-south-1': r('AFS1', 0.154, 0.147, 0.06, 0.013),
  'ap-east-1': r('APE1', 0.12, 0.09, 0.065),
  'ap-east-2': r('APE2', 0.12, 0.09, 0.065), // newer: as ap-east-1
  'ap-south-1': r('APS3', 0.1093, 0.086, 0.056),
  'ap-south-2': r('APS5', 0.1093, 0.086, 0.056),
  'ap-southeast-1': r('APS1', 0.12, 0.09, 0.059),
  'ap-southeast-2': r('APS2', 0.114, 0.098, 0.059),
  'ap-southeast-3': r('APS4', 0.132, 0.1, 0.059),
  'ap-southeast-4': r('APS6', 0.114, 0.098, 0.059),
  'ap-southeast-5': r('APS7', 0.117, 0.09, 0.059), // newer
  'ap-southeast-6': r('APS8', 0.114, 0.098, 0.059), // newer: as ap-southeast-2
  'ap-southeast-7': r('APS9', 0.117, 0.09, 0.059), // newer
  'ap-northeast-1': r('APN1', 0.114, 0.09, 0.062),
  'ap-northeast-2': r('APN2', 0.126, 0.08, 0.059),
  'ap-northeast-3': r('APN3', 0.114, 0.09, 0.062),
};

/** Regions launched after 2024: their billing codes and prices are best knowledge (the nearest region's figures). */
export const BEST_KNOWLEDGE: ReadonlySet<string> = new Set(['us-south-1', 'mx-central-1', 'sa-west-1', 'me-west-1', 'ap-east-2', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7']);

/** Region by billing code (USE1 → us-east-1): once, not per usage type looked up. */
const REGION_OF_CODE = new Map(Object.entries(REGIONS).map(([region, b]) => [b.code, region]));

/** Region pairs whose inter-region transfer is cheaper than the source's usual rate. */
const PAIR_PRICES: Readonly<Record<string, number>> = {
  'us-east-1>us-east-2': 0.01,
  'us-east-2>us-east-1': 0.01,
};

const REGIONAL_PER_GB = 0.01;
const PEERING_PER_GB = 0.01;
/** A Classic Load Balancer's processing, $/GB (us-east-1's; most regions' within a tenth of a cent: check yours). */
const CLB_PROCESSING_PER_GB = 0.008;

/** Regions of AWS's other partitions: reaching them is internet traffic, not inter-region. */
export function otherPartition(region: string): boolean {
  return /^(cn-|us-gov-|us-iso|eusc-)/.test(region);
}

/** A region's billing code; an unknown region is named by itself, upper-cased (and is unpriced). */
export function billingCode(region: string): string {
  return REGIONS[region]?.code ?? region.toUpperCase();
}

/**
 * A region's own lines as the CUR names them: its billing code first (`USE2-NatGateway-Bytes`,
 * `EU-DataTransfer-Regional-Bytes`), but for us-east-1, whose lines have none (`NatGateway-Bytes`).
 * Lines of a region pair keep both codes, us-east-1's too (`USE1-USW2-AWS-Out-Bytes`).
 */
export function regionLine(region: string): (rest: string) => string {
  const code = billingCode(region);
  return region === 'us-east-1' ? (rest) => rest : (rest) => `${code}-${rest}`;
}

/**
 * The billing code of a Local Zone a host is in (us-east-1-mia-1a → USE1-MIA1), its lines' prefix in the
 * CUR (best knowledge: AWS documents Local Zone usage types by example); undefined for a zone of the region.
 */
export function localZoneCode(region: string, zone: string): string | undefined {
  const m = /^(.+)-([a-z]{3})-(\d+)[a-z]$/.exec(zone);
  return m && m[1] === region ? `${billingCode(region)}-${m[2].toUpperCase()}${m[3]}` : undefined;
}

/** A usage type without its leading region codes (us-east-1's own lines are written so). */
export function stripRegionCodes(usageType: string): string {
  const parts = usageType.split('-');
  let i = 0;
  while (i < parts.length - 1 && (REGION_OF_CODE.has(parts[i]) || /^[A-Z]{2,3}\d$/.test(parts[i]))) i++;
  return parts.slice(i).join('-');
}

/**
 * The built-in $/GB of a usage type as this exporter names it, for a host in `region`; undefined where
 * the region (or the pair's) has no built-in price.
 */
export function builtInUsagePrice(usageType: string, region: string): number | undefined {
  const own = REGIONS[region];
  if (!own) return undefined;
  const interRegion = /^([A-Z0-9]+)-([A-Z0-9]+)-AWS-(Out|In)-Bytes$/.exec(usageType);
  if (interRegion) {
    if (interRegion[3] === 'In') return 0;
    const dest = REGION_OF_CODE.get(interRegion[2]);
    return (dest !== undefined ? PAIR_PRICES[`${region}>${dest}`] : undefined) ?? own.interRegion;
  }
  let rest = usageType.startsWith(`${own.code}-`) ? usageType.slice(own.code.length + 1) : usageType;
  // a Local Zone's lines (USE1-MIA1-…): the region's prices, best knowledge (a prices file can name them)
  rest = rest.replace(/^[A-Z]{3}\d+-(?=[A-Z])/, '');
  switch (rest) {
    case 'DataTransfer-Regional-Bytes':
      return REGIONAL_PER_GB;
    case 'DataTransfer-Out-Bytes':
      return own.internet;
    case 'DataTransfer-In-Bytes':
      return 0;
    case 'NatGateway-Bytes':
      return own.nat;
    // the fixed fees of a cheaper path ($ per hour, not per GB): what its saving is net of
    case 'NatGateway-Hours':
      return own.nat;
    case 'VpcEndpoint-Hours':
      return own.endpointHour;
    case 'VpcEndpoint-Bytes':
      return own.endpoint;
    case 'TransitGateway-Bytes':
      return own.tgw;
    case 'VpcEndpoint-GWLBE-Bytes':
      return own.gwlbe;
    case 'DataProcessing-Bytes':
      return CLB_PROCESSING_PER_GB;
    case 'DataXfer-In':
      return 0;
    case 'VpcPeering-Out-Bytes':
    case 'VpcPeering-In-Bytes':
      return PEERING_PER_GB;
    default:
      return undefined;
  }
}

/** What the path and the remote add to the legs of a byte (docs/billing.md's table, from this host's side). */
export interface PathFacts {
  path: number;
  /** The path device (NAT gateway) is in another zone than this host. */
  otherZone: boolean;
  /** The peer of a vpc_peering route is in another zone. */
  peerOtherZone: boolean;
  lb: LbKind | undefined;
  /** The remote is in a VPC the topology knows (this one or a peer). */
  remoteInKnownVpc: boolean;
  /** The remote's region, for inter_region. */
  remoteRegion: string;
  /** A vpn_gateway path that is Direct Connect's (no VPN connection on the gateway). */
  directConnect: boolean;
  /** The host is in a Local Zone: its lines carry the zone's code (USE1-MIA1), not the region's. */
  localZoneCode?: string;
  /** A NAT gateway in another zone: its id, and the host's zone. */
  via?: string;
  zone?: string;
}

/** The line a leg between two zones adds to, from a host with these facts (`DataTransfer-Regional-Bytes`). */
export function crossZoneLine(region: string, f: PathFacts): string {
  return f.localZoneCode !== undefined ? `${f.localZoneCode}-DataTransfer-Regional-Bytes` : regionLine(region)('DataTransfer-Regional-Bytes');
}

/** The usage types, as CUR names them, that `dir`-bound bytes of category `cat` add to, from `region`. */
export function usageTypes(region: string, dir: number, cat: number, f: PathFacts): string[] {
  const code = billingCode(region);
  const line = f.localZoneCode !== undefined ? (rest: string): string => `${f.localZoneCode}-${rest}` : regionLine(region);
  const egress = dir === Direction.EGRESS;
  const out: string[] = [];
  const regional = crossZoneLine(region, f);
  // the leg that leaves the VPC (or reaches another zone) as the category says
  const categoryLeg = (withCrossAz: boolean): void => {
    switch (categoryRow(cat).leg) {
      case 'cross_zone':
        if (withCrossAz) out.push(regional);
        break;
      case 'regional':
        out.push(regional);
        break;
      case 'internet':
        out.push(line(`DataTransfer-${egress ? 'Out' : 'In'}-Bytes`));
        break;
      case 'inter_region':
        if (f.remoteRegion !== '') out.push(`${code}-${billingCode(f.remoteRegion)}-AWS-${egress ? 'Out' : 'In'}-Bytes`);
        break;
      case 'none':
    }
  };
  switch (f.path) {
    case Path.NAT_GATEWAY:
      out.push(line('NatGateway-Bytes'));
      if (f.otherZone) out.push(regional);
      categoryLeg(false);
      break;
    case Path.GATEWAY_ENDPOINT:
      break;
    case Path.INTERFACE_ENDPOINT:
      out.push(line('VpcEndpoint-Bytes'));
      break;
    case Path.LOAD_BALANCER:
      if (f.lb === 'nlb') categoryLeg(true);
      // a Classic Load Balancer bills each GB it processes, both ways
      else if (f.lb === 'clb') out.push(line('DataProcessing-Bytes'));
      break;
    case Path.TRANSIT_GATEWAY:
      // the sending attachment pays: this host's bytes into the TGW; what arrives from it is the sender's
      if (egress) out.push(line('TransitGateway-Bytes'));
      // centralised egress: the leg out of AWS keeps its lines (billed where the egress VPC is); a remote
      // in a known VPC adds nothing more (no cross-zone charge through a TGW)
      if (!f.remoteInKnownVpc) categoryLeg(false);
      break;
    case Path.GATEWAY_LOAD_BALANCER_ENDPOINT:
      // through a firewall or inspection appliance: its endpoint's processing, and the leg out keeps its lines
      out.push(line('VpcEndpoint-GWLBE-Bytes'));
      if (!f.remoteInKnownVpc) categoryLeg(false);
      break;
    case Path.INSTANCE:
      // a NAT instance or appliance: the leg to it crosses zones when it is in another (its zone known);
      // beyond it, the leg out of AWS keeps its lines
      if (f.otherZone) out.push(regional);
      if (!f.remoteInKnownVpc) categoryLeg(false);
      break;
    case Path.VPN_GATEWAY:
      // a site-to-site VPN: egress at the region's internet-out rate, ingress free; Direct Connect: its
      // own lines (named by location in the CUR, which a host cannot see: priced from a prices file)
      out.push(f.directConnect ? line(`DataXfer-${egress ? 'Out' : 'In'}`) : line(`DataTransfer-${egress ? 'Out' : 'In'}-Bytes`));
      break;
    case Path.VPC_PEERING:
      if (cat === Category.INTER_REGION) categoryLeg(false);
      else if (f.peerOtherZone) out.push(line(`VpcPeering-${egress ? 'Out' : 'In'}-Bytes`));
      break;
    default:
      categoryLeg(true);
  }
  return out;
}
