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

/** Parse "a.b.c.d/n" or "x::/n" (host bits ignored); a bare address is a /32 or /128. Throws on bad input. */
export function parseCidr(text: string): Cidr {
  const [addr, len] = text.includes('/') ? ipaddr.parseCIDR(text) : [ipaddr.parse(text), -1];
  const family = addr.kind() === 'ipv4' ? 4 : 6;
  const bits = family === 4 ? 32 : 128;
  const length = len === -1 ? bits : len;
  const value = bytesToBigInt(addr.toByteArray());
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

export function isValidIp(text: string): boolean {
  return ipaddr.isValid(text);
}

export function ipv4ToString(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

export function ipv6WordsToString(w: ArrayLike<number>): string {
  const bytes: number[] = [];
  for (let i = 0; i < 4; i++) bytes.push(w[i] >>> 24, (w[i] >>> 16) & 255, (w[i] >>> 8) & 255, w[i] & 255);
  return ipaddr.fromByteArray(bytes).toString();
}

export function ipv6BigIntToWords(v: bigint): [number, number, number, number] {
  return [
    Number((v >> 96n) & 0xffffffffn),
    Number((v >> 64n) & 0xffffffffn),
    Number((v >> 32n) & 0xffffffffn),
    Number(v & 0xffffffffn),
  ];
}
