// DNS answers seen on the wire name the remotes: "which component" is usually clearer from the name
// the host asked for (us-east-1.ec2.archive.ubuntu.com) than from an IP. Runs only for DNS responses,
// so it may allocate.
import dnsPacket from 'dns-packet';
import ipaddr from 'ipaddr.js';

export interface DnsAnswer {
  ip: string; // canonical text form (RFC 5952 for IPv6)
  name: string; // the name the client asked for, after following CNAMEs back
  ttl: number;
}

const MAX_LABEL_LENGTH = 128;

/** Label-safe form of a name learned from the wire: lower case, [a-z0-9.-_], bounded length. */
export function sanitizeName(raw: string): string {
  let s = raw.toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  s = s.replace(/[^a-z0-9._-]/g, '_');
  // keep the end: the registered domain says more than the first labels
  if (s.length > MAX_LABEL_LENGTH) s = '~' + s.slice(s.length - MAX_LABEL_LENGTH + 1);
  return s;
}

export function canonicalIp(text: string): string | undefined {
  try {
    return ipaddr.parse(text).toString();
  } catch {
    return undefined;
  }
}

/**
 * Parse a DNS message; returns the A/AAAA answers of a response, each named by the question
 * (CNAME chains followed back). Throws on a malformed message.
 */
export function parseDnsAnswers(msg: Buffer): DnsAnswer[] {
  const pkt = dnsPacket.decode(msg);
  if (pkt.type !== 'response' || !pkt.answers || pkt.answers.length === 0) return [];
  // target → owner, to walk a chain backwards
  const cnameOwner = new Map<string, string>();
  for (const a of pkt.answers) {
    if (a.type === 'CNAME' && typeof a.data === 'string') {
      cnameOwner.set(a.data.toLowerCase(), a.name.toLowerCase());
    }
  }
  const out: DnsAnswer[] = [];
  for (const a of pkt.answers) {
    if ((a.type !== 'A' && a.type !== 'AAAA') || typeof a.data !== 'string') continue;
    const ip = canonicalIp(a.data);
    if (!ip) continue;
    let name = a.name.toLowerCase();
    for (let hops = 0; hops < 16; hops++) {
      const owner = cnameOwner.get(name);
      if (owner === undefined || owner === name) break;
      name = owner;
    }
    out.push({ ip, name: sanitizeName(name), ttl: a.ttl ?? 0 });
  }
  return out;
}

/**
 * IP → name, bounded in size, expiring by packet time. Entries live at least `minTtlSeconds`:
 * connections outlive DNS TTLs of 60 s by far, and the name should stay with them.
 */
export class NameCache {
  private readonly map = new Map<string, { name: string; expires: number }>();

  constructor(
    readonly capacity = 100_000,
    readonly minTtlSeconds = 3600,
  ) {}

  get size(): number {
    return this.map.size;
  }

  set(ip: string, name: string, ttl: number, now: number): void {
    // re-insert so that Map order is least-recently-learned first
    this.map.delete(ip);
    this.map.set(ip, { name, expires: now + Math.max(ttl, this.minTtlSeconds) });
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
  }

  get(ip: string, now: number): string | undefined {
    const e = this.map.get(ip);
    if (e === undefined) return undefined;
    if (e.expires < now) {
      this.map.delete(ip);
      return undefined;
    }
    return e.name;
  }
}
