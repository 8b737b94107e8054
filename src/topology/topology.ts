// An immutable Topology snapshot: every address range the rules know, compiled into prefix tables whose
// values are small "address classes" (kind + zone). Category is then a function of the local address's
// class and the remote's, precomputed into a matrix, so the hot path does two lookups and one index.
import { Category } from '../classify/categories.js';
import { ConfigError } from '../config/errors.js';
import { parseCidr, type Cidr } from './ip.js';
import type { IpRanges, TopologyFile } from './model.js';
import { PrefixTable4, PrefixTable6, type RankedPrefix } from './prefix-table.js';

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

// rule order of DESIGN.md, highest first
const PRIORITY_INTERNAL = 6;
const PRIORITY_SUBNET = 5;
const PRIORITY_PUBLIC_IP = 4;
const PRIORITY_IP_RANGES = 3;
const PRIORITY_PRIVATE = 2;

const rank = (priority: number, c: Cidr): number => priority * 256 + c.length;

const INTERNAL_RANGES = [
  '0.0.0.0/8',
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local: IMDS .254, DNS .253, Time Sync .123
  '224.0.0.0/4',
  '255.255.255.255/32',
  '::/128',
  '::1/128',
  'fe80::/10',
  'ff00::/8',
  'fd00:ec2::123/128',
  'fd00:ec2::253/128',
  'fd00:ec2::254/128',
];

const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'];

export interface AddressClass {
  kind: number;
  zone: string; // zone name, '' where none
  zoneId: string;
}

export interface TopologySources {
  file?: TopologyFile;
  ipRanges?: IpRanges;
  region: string;
}

export class Topology {
  readonly region: string;
  readonly classes: AddressClass[] = [{ kind: AddressKind.INTERNET, zone: '', zoneId: '' }];
  /** Zone names; index 0 is '' (no zone). Label index of local_az/remote_az. */
  readonly zones: string[] = [''];
  /** zone name → zone ID, where known. */
  readonly zoneIds = new Map<string, string>();
  readonly table4: PrefixTable4;
  readonly table6: PrefixTable6;
  /** category[localClass * classes + remoteClass] */
  readonly categoryMatrix: Uint8Array;
  /** remote_az label index per class */
  readonly classZone: Int32Array;
  readonly subnetCount: number;
  readonly publicIpCount: number;
  readonly ipRangePrefixCount: number;
  readonly localIps: string[];

  private readonly classIndex = new Map<string, number>();

  constructor(src: TopologySources) {
    this.region = src.region;
    const prefixes: RankedPrefix[] = [];
    const add = (text: string, priority: number, cls: number): void => {
      const c = parseCidr(text);
      prefixes.push({ cidr: c, rank: rank(priority, c), value: cls });
    };
    const internal = this.classOf(AddressKind.INTERNAL, '', '');
    for (const r of INTERNAL_RANGES) add(r, PRIORITY_INTERNAL, internal);
    const priv = this.classOf(AddressKind.PRIVATE, '', '');
    for (const r of PRIVATE_RANGES) add(r, PRIORITY_PRIVATE, priv);

    const file = src.file;
    for (const s of file?.subnets ?? []) {
      const c = parseCidr(s.cidr);
      const zone = s.zone ?? '';
      const zoneId = s.zone_id ?? '';
      prefixes.push({ cidr: c, rank: rank(PRIORITY_SUBNET, c), value: this.classOf(AddressKind.SUBNET, zone, zoneId) });
      // AWS reserves base+1 (router), +2 (DNS), +3 of every subnet: never billed
      const reserved = this.classOf(AddressKind.INTERNAL, zone, zoneId);
      const bits = BigInt(c.family === 4 ? 32 : 128);
      for (let k = 1n; k <= 3n && c.start + k <= c.end; k++) {
        const host: Cidr = { family: c.family, start: c.start + k, end: c.start + k, length: Number(bits) };
        prefixes.push({ cidr: host, rank: rank(PRIORITY_INTERNAL, host), value: reserved });
      }
    }
    for (const p of file?.public_ips ?? []) {
      add(p.ip, PRIORITY_PUBLIC_IP, this.classOf(AddressKind.PUBLIC_IP, p.zone ?? '', p.zone_id ?? ''));
    }
    const ipRangePrefixes = this.ipRangePrefixes(src.ipRanges);
    prefixes.push(...ipRangePrefixes);

    this.subnetCount = file?.subnets.length ?? 0;
    this.publicIpCount = file?.public_ips.length ?? 0;
    this.ipRangePrefixCount = ipRangePrefixes.length;
    this.localIps = file?.local_ips ?? [];
    this.table4 = new PrefixTable4(prefixes);
    this.table6 = new PrefixTable6(prefixes);

    const n = this.classes.length;
    this.classZone = Int32Array.from(this.classes, (c) => this.zones.indexOf(c.zone));
    this.categoryMatrix = new Uint8Array(n * n);
    for (let l = 0; l < n; l++) {
      for (let r = 0; r < n; r++) this.categoryMatrix[l * n + r] = this.categorize(this.classes[l], this.classes[r]);
    }
  }

  private classOf(kind: number, zone: string, zoneId: string): number {
    const key = `${kind}|${zone}|${zoneId}`;
    let i = this.classIndex.get(key);
    if (i === undefined) {
      i = this.classes.length;
      this.classes.push({ kind, zone, zoneId });
      this.classIndex.set(key, i);
      if (zone !== '' && !this.zones.includes(zone)) this.zones.push(zone);
      if (zone !== '' && zoneId !== '' && !this.zoneIds.has(zone)) this.zoneIds.set(zone, zoneId);
    }
    return i;
  }

  private ipRangePrefixes(ranges: IpRanges | undefined): RankedPrefix[] {
    if (!ranges) return [];
    // a prefix's services are the union of its entries
    const byPrefix = new Map<string, { regions: Set<string>; services: Set<string> }>();
    const note = (prefix: string, region: string, service: string): void => {
      let e = byPrefix.get(prefix);
      if (!e) byPrefix.set(prefix, (e = { regions: new Set(), services: new Set() }));
      e.regions.add(region);
      e.services.add(service);
    };
    for (const p of ranges.prefixes) note(p.ip_prefix, p.region, p.service);
    for (const p of ranges.ipv6_prefixes) note(p.ipv6_prefix, p.region, p.service);
    const out: RankedPrefix[] = [];
    for (const [prefix, e] of byPrefix) {
      let kind: number = AddressKind.AWS_OTHER_REGION;
      if (e.regions.has(this.region)) {
        kind = e.services.has('EC2') ? AddressKind.EC2_REGION : AddressKind.AWS_SERVICE;
      } else if (e.regions.has('GLOBAL')) {
        kind = AddressKind.AWS_SERVICE;
      }
      let c: Cidr;
      try {
        c = parseCidr(prefix);
      } catch {
        throw new ConfigError(`prefix ${JSON.stringify(prefix)} is not a valid CIDR`);
      }
      out.push({ cidr: c, rank: rank(PRIORITY_IP_RANGES, c), value: this.classOf(kind, '', '') });
    }
    return out;
  }

  /** Zone comparison by zone ID whenever both sides have one: names differ between accounts. */
  private sameZone(a: AddressClass, b: AddressClass): boolean {
    if (a.zoneId !== '' && b.zoneId !== '') return a.zoneId === b.zoneId;
    return a.zone !== '' && a.zone === b.zone;
  }

  private categorize(local: AddressClass, remote: AddressClass): number {
    switch (remote.kind) {
      case AddressKind.INTERNAL:
        return Category.INTERNAL;
      case AddressKind.SUBNET:
        // without the local zone, same vs cross AZ is unknowable: say so instead of guessing
        if (local.kind !== AddressKind.SUBNET || (local.zone === '' && local.zoneId === '')) return Category.UNCLASSIFIED;
        if (remote.zone === '' && remote.zoneId === '') return Category.UNCLASSIFIED;
        return this.sameZone(local, remote) ? Category.SAME_AZ : Category.CROSS_AZ;
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

  /** Class of an address given as text (config time, tests). */
  classify(ip: string): AddressClass {
    const c = parseCidr(ip);
    if (c.family === 4) return this.classes[this.table4.lookup(Number(c.start))];
    const w = new Uint32Array(4);
    for (let i = 0; i < 4; i++) w[i] = Number((c.start >> BigInt(96 - 32 * i)) & 0xffffffffn);
    return this.classes[this.table6.lookup(w)];
  }

  classIndexOf(ip: string): number {
    return this.classes.indexOf(this.classify(ip));
  }

  /** Category of traffic between a local address and a remote one (both as text). */
  categoryOf(localIp: string, remoteIp: string): number {
    return this.categoryMatrix[this.classIndexOf(localIp) * this.classes.length + this.classIndexOf(remoteIp)];
  }
}
