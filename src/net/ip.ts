// Address conversions for building lookup tables and printing labels; not used per packet.
import ipaddr from 'ipaddr.js';

export interface Cidr {
  family: 4 | 6;
  start: bigint;
  end: bigint;
  length: number;
}

function bytesToBigInt(bytes: number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseIPv4(text: string): bigint | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255 || (m[i].length > 1 && m[i][0] === '0')) return undefined;
    v = v * 256 + o;
  }
  return BigInt(v);
}

function parseIPv6(text: string): bigint | undefined {
  // embedded IPv4 and zone IDs are rare in prefixes: leave them to ipaddr.js
  if (text.includes('.') || text.includes('%')) {
    return ipaddr.IPv6.isValid(text) ? bytesToBigInt(ipaddr.IPv6.parse(text).toByteArray()) : undefined;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  let v = 0n;
  for (const g of [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    v = (v << 16n) | BigInt(parseInt(g, 16));
  }
  return v;
}

/** Parse "a.b.c.d/n" or "x::/n" (host bits ignored); a bare address is a /32 or /128. Throws on bad input. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = addr.includes(':') ? 6 : 4;
  const value = family === 4 ? parseIPv4(addr) : parseIPv6(addr);
  const bits = family === 4 ? 32 : 128;
  const lenText = slash < 0 ? String(bits) : text.slice(slash + 1);
  const length = /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
  if (value === undefined || !(length <= bits)) throw new Error(`${JSON.stringify(text)} is not a valid CIDR`);
  const hostBits = BigInt(bits - length);
  const start = (value >> hostBits) << hostBits;
  return { family, start, end: start + (1n << hostBits) - 1n, length };
}

export function isValidCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

/** An address as people write it: four decimal octets or IPv6 ("10.1" and "0x7f.1" are not addresses here). */
export function isValidIp(text: string): boolean {
  return text.includes(':') ? ipaddr.IPv6.isValid(text) && !text.includes('/') : parseIPv4(text) !== undefined;
}

export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function ipv6WordsToString(w: ArrayLike<number>): string {
  const bytes: number[] = [];
  for (let i = 0; i < 4; i++) bytes.push(w[i] >>> 24, (w[i] >>> 16) & 255, (w[i] >>> 8) & 255, w[i] & 255);
  return ipaddr.fromByteArray(bytes).toString();
}

/** An address as four 32-bit words in network order (IPv4: word 0) as the number parseCidr gives its start. */
export function wordsToBigInt(w: ArrayLike<number>, family: 4 | 6): bigint {
  if (family === 4) return BigInt(w[0] >>> 0);
  return (BigInt(w[0] >>> 0) << 96n) | (BigInt(w[1] >>> 0) << 64n) | (BigInt(w[2] >>> 0) << 32n) | BigInt(w[3] >>> 0);
}

export function ipv6BigIntToWords(v: bigint): [number, number, number, number] {
  return [
    Number((v >> 96n) & 0xffffffffn),
    Number((v >> 64n) & 0xffffffffn),
    Number((v >> 32n) & 0xffffffffn),
    Number(v & 0xffffffffn),
  ];
}
