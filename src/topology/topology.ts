// An immutable Topology snapshot: every address range the rules know, compiled into prefix tables whose
// values are small "address classes" (kind + zone). Category is then a function of the local address's
// class and the remote's, precomputed into one row per local class, so the hot path does two lookups
// and one index.
import { AddressKind, categorize, type AddressClass } from '../classify/rules.js';
import { ConfigError } from '../config/errors.js';

export { AddressKind, type AddressClass };
import { ipv6BigIntToWords, parseCidr, type Cidr } from './ip.js';
import type { IpRanges, TopologyFile } from './model.js';
import { PrefixTable4, PrefixTable6, type RankedPrefix } from './prefix-table.js';


// rule order of the README ("Categories and prices"), highest first
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
  /** Category rows by local class, made when first asked for (only local addresses' classes are). */
  private readonly categoryRows = new Map<number, Uint8Array>();
  /** remote_az label index per class */
  readonly classZone: Int32Array;
  readonly subnetCount: number;
  readonly publicIpCount: number;
  readonly ipRangePrefixCount: number;
  readonly localIps: string[];

  private readonly classIndex = new Map<string, number>();
  private readonly zoneIndex = new Map<string, number>([['', 0]]);

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
    // a loop, not push(...spread): a spread of 125k+ arguments overflows the stack
    for (const p of ipRangePrefixes) prefixes.push(p);

    this.subnetCount = file?.subnets.length ?? 0;
    this.publicIpCount = file?.public_ips.length ?? 0;
    this.ipRangePrefixCount = ipRangePrefixes.length;
    this.localIps = file?.local_ips ?? [];
    this.table4 = new PrefixTable4(prefixes);
    this.table6 = new PrefixTable6(prefixes);

    this.classZone = Int32Array.from(this.classes, (c) => this.zoneIndex.get(c.zone)!);
  }

  /**
   * category[remoteClass] for traffic of a local address of class `localClass`. Rows, not a whole
   * classes × classes matrix: thousands of zones make thousands of classes, and a host has few local ones.
   */
  categoryRow(localClass: number): Uint8Array {
    let row = this.categoryRows.get(localClass);
    if (row === undefined) {
      const local = this.classes[localClass];
      row = Uint8Array.from(this.classes, (remote) => categorize(local, remote));
      this.categoryRows.set(localClass, row);
    }
    return row;
  }

  private classOf(kind: number, zone: string, zoneId: string): number {
    const key = `${kind}|${zone}|${zoneId}`;
    let i = this.classIndex.get(key);
    if (i === undefined) {
      i = this.classes.length;
      this.classes.push({ kind, zone, zoneId });
      this.classIndex.set(key, i);
      if (!this.zoneIndex.has(zone)) this.zoneIndex.set(zone, this.zones.push(zone) - 1);
      if (zone !== '' && zoneId !== '' && !this.zoneIds.has(zone)) this.zoneIds.set(zone, zoneId);
    }
    return i;
  }

  private ipRangePrefixes(ranges: IpRanges | undefined): RankedPrefix[] {
    if (!ranges) return [];
    // a prefix's services are the union of its entries; what decides its kind are three facts about
    // them, kept as bits (not sets: a million prefixes must fit)
    const IN_REGION = 1;
    const EC2_IN_REGION = 2;
    const GLOBAL = 4;
    const byPrefix = new Map<string, number>();
    const note = (prefix: string, region: string, service: string): void => {
      let f = byPrefix.get(prefix) ?? 0;
      if (region === this.region) f |= service === 'EC2' ? IN_REGION | EC2_IN_REGION : IN_REGION;
      else if (region === 'GLOBAL') f |= GLOBAL;
      byPrefix.set(prefix, f);
    };
    for (const p of ranges.prefixes) note(p.ip_prefix, p.region, p.service);
    for (const p of ranges.ipv6_prefixes) note(p.ipv6_prefix, p.region, p.service);
    const out: RankedPrefix[] = [];
    for (const [prefix, f] of byPrefix) {
      let kind: number = AddressKind.AWS_OTHER_REGION;
      if (f & IN_REGION) {
        kind = f & EC2_IN_REGION ? AddressKind.EC2_REGION : AddressKind.AWS_SERVICE;
      } else if (f & GLOBAL) {
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

  /** Class of an address given as text (config time, tests). */
  classify(ip: string): AddressClass {
    return this.classes[this.classIndexOf(ip)];
  }

  classIndexOf(ip: string): number {
    const c = parseCidr(ip);
    if (c.family === 4) return this.table4.lookup(Number(c.start));
    return this.table6.lookup(Uint32Array.from(ipv6BigIntToWords(c.start)));
  }

  /** Category of traffic between a local address and a remote one (both as text). */
  categoryOf(localIp: string, remoteIp: string): number {
    return this.categoryRow(this.classIndexOf(localIp))[this.classIndexOf(remoteIp)];
  }
}
