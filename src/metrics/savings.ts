// What to do about it: for the bytes of each remote (and each NAT gateway reached across zones), the
// cheaper path this VPC could give them and what it would save a month at the observed rate, net of the
// new path's fixed fees. A saving is computed from the dollars of the same bill lines the page shows
// (what the counted bytes cost, NAT and endpoint processing included), so it is never more than what
// those bytes cost. The ledger is fed at each drain of the remote table and of the usage counters,
// never per packet: cumulative bytes and dollars per (suggestion, remote), bounded.
import { Path, PATH_NAMES, regionLine } from '../classify/bill.js';
import { Category, Direction } from '../classify/categories.js';
import { BYTES_PER_GB, HOURS_PER_MONTH, usagePriceOf, type Prices } from '../classify/prices.js';
import { AddressKind, type AddressClass } from '../classify/rules.js';

export const SUGGESTIONS = ['gateway_endpoint', 'interface_endpoint', 'nat_same_zone', 'private_address', 'zone_cache', 'zone_local'] as const;
export type Suggestion = (typeof SUGGESTIONS)[number];

/** What remote="other" holds: entries beyond the ledger's bound. */
export const OTHER_SAVING = 'other';

interface Entry {
  suggestion: Suggestion;
  remote: string;
  current_path: string;
  remote_az: string;
  /** s3 / dynamodb for a gateway endpoint */
  service: string;
  /** nat_same_zone: the NAT gateway and the hosts' zone ('' where unknown) */
  nat?: { via: string; zone: string };
  egress_bytes: number;
  ingress_bytes: number;
  /** what these bytes cost on their bill lines (nat_same_zone: on the cross-zone leg alone) */
  dollars: number;
}

/** Cumulative counts of each (suggestion, remote): what rates over a window are taken from. */
export type LedgerCounts = ReadonlyMap<string, { egress_bytes: number; ingress_bytes: number; dollars: number }>;

/** One cheaper path, as analyze, the summary API, the page and the metric show it. */
export interface SavingRow {
  suggestion: Suggestion;
  /** the remote (DNS name seen on the wire, else the IP); for nat_same_zone the NAT gateway and the hosts' zone */
  remote: string;
  /** the remote's zone, where it has one */
  remote_az: string;
  current_path: string;
  /** what to do, in one sentence */
  action: string;
  /** what the figure assumes where it is an estimate; '' where it is the bill lines' own arithmetic */
  assumes: string;
  estimate: boolean;
  gb_per_month: number;
  /** what these bytes cost a month now, on the lines the saving is taken from */
  current_monthly_dollars: number;
  /** the saving before fixed fees */
  gross_monthly_dollars: number;
  /** the new path's fixed fees a month (endpoint hours × zones, a NAT gateway's hours); null where unknown */
  fixed_monthly_dollars: number | null;
  /** gross − fixed (gross where the fixed fees are unknown) */
  monthly_savings_dollars: number;
  /** the traffic a month at which the fixed fees are paid back; null without fixed fees */
  break_even_gb_per_month: number | null;
  worth_it: boolean;
  /** zone_local with attribution on: the local workloads that carry cross-zone bytes (the pair's near side) */
  local_workloads?: string[];
}

/**
 * The near side of each zone-local pair: the workloads here that carry cross-zone bytes, biggest first
 * (the remote series have no local owner; where one workload carries them all, the pair is exact).
 */
export function nameLocalSide(rows: SavingRow[], crossZoneWorkloads: string[]): void {
  if (crossZoneWorkloads.length === 0) return;
  const named = crossZoneWorkloads.slice(0, 3);
  const who = named.join(', ') + (crossZoneWorkloads.length > named.length ? ` and ${crossZoneWorkloads.length - named.length} more` : '');
  for (const r of rows) {
    if (r.suggestion !== 'zone_local') continue;
    r.local_workloads = named;
    r.action = zoneLocalAction(`${who} (the workloads here with cross-zone bytes)`, r.remote, r.remote_az);
  }
}

export interface LedgerContext {
  prices: () => Prices;
  region: () => string;
  /** zone names of the local addresses counted for (the hosts' zones) */
  localZones: () => string[];
}

const SERVICE_NAMES: Record<string, string> = { s3: 'an S3', dynamodb: 'a DynamoDB' };

export class SavingsLedger {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ctx: LedgerContext,
    /** at most this many (suggestion, remote) entries; the rest is summed under remote="other" */
    private readonly bound = 4096,
  ) {}

  /**
   * A drained remote-table entry: bytes of one direction to `remote` (of class `cls`, in zone label
   * `remoteZone`), of category `cat` on path `path`, that cost `dollars` on their bill lines.
   */
  noteRemote(remote: string, cls: AddressClass, remoteZone: string, dir: number, cat: number, path: number, bytes: number, dollars: number): void {
    const s = suggestionFor(cls, cat, path, dollars);
    if (s === undefined) return;
    this.add(s, remote, PATH_NAMES[path], remoteZone, cls.service, undefined, dir, bytes, dollars);
  }

  /** Bytes of a usage combination that crossed zones to a NAT gateway (`via`) from hosts in `zone`. */
  noteCrossZone(via: string, zone: string, line: string, dir: number, bytes: number): void {
    const perGb = usagePriceOf(this.ctx.prices(), line);
    if (perGb === undefined || bytes === 0) return;
    this.add('nat_same_zone', `${via} from ${zone || 'an unknown zone'}`, 'nat_gateway', '', '', { via, zone }, dir, bytes, (bytes / BYTES_PER_GB) * perGb);
  }

  private add(s: Suggestion, remote: string, path: string, remoteZone: string, service: string, nat: Entry['nat'], dir: number, bytes: number, dollars: number): void {
    let key = `${s}\u0000${remote}`;
    let e = this.entries.get(key);
    if (e === undefined) {
      if (this.entries.size >= this.bound) {
        key = `${s}\u0000${OTHER_SAVING}`;
        e = this.entries.get(key);
      }
      if (e === undefined) {
        const other = key.endsWith(`\u0000${OTHER_SAVING}`);
        e = { suggestion: s, remote: other ? OTHER_SAVING : remote, current_path: path, remote_az: remoteZone, service, ...(nat && !other ? { nat } : {}), egress_bytes: 0, ingress_bytes: 0, dollars: 0 };
        this.entries.set(key, e);
      }
    }
    if (dir === Direction.EGRESS) e.egress_bytes += bytes;
    else e.ingress_bytes += bytes;
    e.dollars += dollars;
  }

  /** Cumulative counts now (a live exporter's rates are the difference of two of these). */
  counts(): LedgerCounts {
    return new Map([...this.entries].map(([k, e]) => [k, { egress_bytes: e.egress_bytes, ingress_bytes: e.ingress_bytes, dollars: e.dollars }]));
  }

  /**
   * The cheaper paths of what was counted over `seconds` (beyond `before`, a live exporter's counts at
   * the window's start), projected over a month, largest net saving first.
   */
  rows(seconds: number, before?: LedgerCounts): SavingRow[] {
    if (!(seconds > 0)) return [];
    const perMonth = (HOURS_PER_MONTH * 3600) / seconds;
    const prices = this.ctx.prices();
    const region = this.ctx.region();
    const line = regionLine(region);
    const zones = [...new Set(this.ctx.localZones().filter((z) => z !== ''))].sort();
    const out: SavingRow[] = [];
    for (const [key, e] of this.entries) {
      const was = before?.get(key);
      const egress = e.egress_bytes - (was?.egress_bytes ?? 0);
      const ingress = e.ingress_bytes - (was?.ingress_bytes ?? 0);
      const dollars = e.dollars - (was?.dollars ?? 0);
      if (dollars <= 0) continue;
      // a cache in the zone serves what hosts pull; bytes sent to the service gain nothing from it
      if (e.suggestion === 'zone_cache' && ingress <= egress) continue;
      const gb = (egress + ingress) / BYTES_PER_GB;
      const plan = planOf(e, zones, prices, line);
      const gross = Math.max(0, dollars - gb * plan.newPerGb) * perMonth;
      if (gross <= 0) continue;
      const fixed = plan.fixedPerHour === null ? null : plan.fixedPerHour * HOURS_PER_MONTH;
      const net = gross - (fixed ?? 0);
      const gbMonth = gb * perMonth;
      out.push({
        suggestion: e.suggestion,
        remote: e.remote,
        remote_az: e.remote_az,
        current_path: e.current_path,
        action: plan.action,
        assumes: plan.assumes,
        estimate: plan.assumes !== '',
        gb_per_month: gbMonth,
        current_monthly_dollars: dollars * perMonth,
        gross_monthly_dollars: gross,
        fixed_monthly_dollars: fixed,
        monthly_savings_dollars: net,
        break_even_gb_per_month: fixed === null || fixed === 0 ? null : fixed / (gross / gbMonth),
        worth_it: net > 0,
      });
    }
    return out.sort((a, b) => b.monthly_savings_dollars - a.monthly_savings_dollars || a.suggestion.localeCompare(b.suggestion) || a.remote.localeCompare(b.remote));
  }
}

/** Which cheaper path bytes of this remote class, category and path could take; none where none is cheaper. */
function suggestionFor(cls: AddressClass, cat: number, path: number, dollars: number): Suggestion | undefined {
  if (dollars <= 0) return undefined;
  // S3 and DynamoDB of this region: a gateway endpoint carries them for nothing, from any path but its own
  if ((cls.service === 's3' || cls.service === 'dynamodb') && cat === Category.AWS_SERVICE) return path === Path.GATEWAY_ENDPOINT ? undefined : 'gateway_endpoint';
  // another service of the region: an interface endpoint (CloudFront and Route 53 have none)
  if (cat === Category.AWS_SERVICE && cls.service === '' && path === Path.NAT_GATEWAY) return 'interface_endpoint';
  if (cat === Category.REGIONAL_PUBLIC) {
    // a public or Elastic IP of this VPC or a peered one: its private address is inside
    if (cls.kind === AddressKind.PUBLIC_IP) return 'private_address';
    if (cls.kind === AddressKind.EC2_REGION) return 'zone_cache';
  }
  if (cat === Category.CROSS_AZ && (path === Path.DIRECT || path === Path.LOAD_BALANCER || path === Path.VPC_PEERING)) return 'zone_local';
  return undefined;
}

const zoneLocalAction = (near: string, remote: string, remoteZone: string): string =>
  `keep traffic between ${near} and ${remote}${remoteZone ? ` (${remoteZone})` : ''} in one zone: zone-aware routing (a Kubernetes Service's trafficDistribution: PreferClose, a client that prefers its zone's replica), or a replica in each zone`;

interface Plan {
  action: string;
  assumes: string;
  /** what the new path charges per GB of these bytes */
  newPerGb: number;
  /** its fixed fees per hour; null where unknown */
  fixedPerHour: number | null;
}

function planOf(e: Entry, zones: string[], prices: Prices, line: (rest: string) => string): Plan {
  const price = (usageType: string): number => usagePriceOf(prices, usageType) ?? 0;
  const where = zones.length === 0 ? 'the hosts\' zone' : zones.length === 1 ? zones[0] : `each of ${zones.join(', ')}`;
  switch (e.suggestion) {
    case 'gateway_endpoint':
      return {
        action: `add ${SERVICE_NAMES[e.service] ?? e.service} gateway endpoint to the route tables of the hosts' subnets (no hourly or per-GB charge)`,
        assumes: '',
        newPerGb: 0,
        fixedPerHour: 0,
      };
    case 'interface_endpoint': {
      const n = Math.max(1, zones.length);
      return {
        action: `add an interface endpoint for ${e.remote} in ${where} (${n} zone${n === 1 ? '' : 's'}), with private DNS on`,
        assumes: '',
        newPerGb: price(line('VpcEndpoint-Bytes')),
        fixedPerHour: n * price(line('VpcEndpoint-Hours')),
      };
    }
    case 'nat_same_zone': {
      // remote="other" (past the ledger's bound) stands for several gateways and zones
      const zone = e.nat?.zone || "the hosts' zone";
      return {
        action: `add a NAT gateway in ${zone} and point the default route of that zone's subnets at it (now ${e.nat?.via ?? 'NAT gateways'}, in another zone)`,
        assumes: '',
        newPerGb: 0,
        fixedPerHour: price(line('NatGateway-Hours')),
      };
    }
    case 'private_address': {
      // the private path is free within a zone, a cross-zone leg otherwise: counted unless every host is in the remote's zone
      const sameZone = e.remote_az !== '' && zones.length > 0 && zones.every((z) => z === e.remote_az);
      return {
        action: `reach ${e.remote} by its private address (it is a public or Elastic IP of this VPC or a peered one)`,
        assumes: '',
        newPerGb: sameZone ? 0 : price(line('DataTransfer-Regional-Bytes')),
        fixedPerHour: 0,
      };
    }
    case 'zone_cache':
      return {
        action: `serve what the hosts pull from ${e.remote} from a cache or mirror in ${where} (a caching proxy, or a mirror in S3 through the gateway endpoint)`,
        assumes: "estimate: the cache serves every byte from inside the zone; its own fetches (once per object, not per host) and its instance's cost are not counted",
        newPerGb: 0,
        fixedPerHour: null,
      };
    case 'zone_local':
      return {
        action: zoneLocalAction(`the hosts in ${zones.join(', ') || 'their zone'}`, e.remote, e.remote_az),
        assumes: 'estimate: every request can be served by a replica in the caller\'s zone',
        newPerGb: 0,
        fixedPerHour: 0,
      };
  }
}
