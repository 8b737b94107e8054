// Frame builders and pcap/pcapng writers for the demo capture, the benchmark and tests.
import { closeSync, openSync, writeSync } from 'node:fs';
import ipaddr from 'ipaddr.js';

export function ipBytes(ip: string): number[] {
  return ipaddr.parse(ip).toByteArray();
}

function checksum(b: Buffer, off: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len - 1; i += 2) sum += (b[off + i] << 8) | b[off + i + 1];
  if (len % 2) sum += b[off + len - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface L4 {
  proto: number; // 6 TCP, 17 UDP, other: raw payload
  sport?: number;
  dport?: number;
  /** TCP flags byte (default ACK) */
  flags?: number;
  payload?: Buffer;
  /** zero bytes of payload, when no explicit payload */
  payloadLen?: number;
}

export function l4Bytes(l: L4): Buffer {
  const payload = l.payload ?? Buffer.alloc(l.payloadLen ?? 0);
  if (l.proto === 6) {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(l.sport ?? 0, 0);
    h.writeUInt16BE(l.dport ?? 0, 2);
    h.writeUInt32BE(1, 4);
    h[12] = 5 << 4;
    h[13] = l.flags ?? 0x10;
    h.writeUInt16BE(65535, 14);
    return Buffer.concat([h, payload]);
  }
  if (l.proto === 17) {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(l.sport ?? 0, 0);
    h.writeUInt16BE(l.dport ?? 0, 2);
    h.writeUInt16BE(8 + payload.length, 4);
    return Buffer.concat([h, payload]);
  }
  return payload;
}

export interface IPv4Opts {
  src: string;
  dst: string;
  l4: L4;
  options?: Buffer; // multiple of 4 bytes
  id?: number;
  fragOffset8?: number; // fragment offset in 8-byte units
  moreFragments?: boolean;
  /** override the total-length field (e.g. 0 for TSO) */
  totalLength?: number;
  /** replace the L4 bytes (for later fragments) */
  rawPayload?: Buffer;
}

export function ipv4(o: IPv4Opts): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const ihl = 20 + opts.length;
  const body = o.rawPayload ?? l4Bytes(o.l4);
  const h = Buffer.alloc(ihl);
  h[0] = 0x40 | (ihl >> 2);
  h.writeUInt16BE(o.totalLength ?? ihl + body.length, 2);
  h.writeUInt16BE(o.id ?? 1, 4);
  h.writeUInt16BE(((o.moreFragments ? 1 : 0) << 13) | (o.fragOffset8 ?? 0), 6);
  h[8] = 64;
  h[9] = o.l4.proto;
  Buffer.from(ipBytes(o.src)).copy(h, 12);
  Buffer.from(ipBytes(o.dst)).copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(checksum(h, 0, ihl), 10);
  return Buffer.concat([h, body]);
}

export interface IPv6Opts {
  src: string;
  dst: string;
  l4: L4;
  /** extension headers in order: [next-header-type, body bytes (without the 2 first bytes for 0/43/60)] */
  ext?: { type: number; data: Buffer }[];
  payloadLength?: number;
  rawPayload?: Buffer;
}

export function ipv6(o: IPv6Opts): Buffer {
  const body = o.rawPayload ?? l4Bytes(o.l4);
  const exts = o.ext ?? [];
  const extBufs: Buffer[] = [];
  for (let i = 0; i < exts.length; i++) {
    const next = i + 1 < exts.length ? exts[i + 1].type : o.l4.proto;
    const e = exts[i];
    if (e.type === 44) {
      const f = Buffer.alloc(8);
      f[0] = next;
      e.data.copy(f, 2, 0, Math.min(6, e.data.length));
      extBufs.push(f);
    } else {
      const len = Math.ceil((e.data.length + 2) / 8) * 8;
      const f = Buffer.alloc(len);
      f[0] = next;
      f[1] = len / 8 - 1;
      e.data.copy(f, 2);
      extBufs.push(f);
    }
  }
  const payload = Buffer.concat([...extBufs, body]);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(o.payloadLength ?? payload.length, 4);
  h[6] = exts.length > 0 ? exts[0].type : o.l4.proto;
  h[7] = 64;
  Buffer.from(ipBytes(o.src)).copy(h, 8);
  Buffer.from(ipBytes(o.dst)).copy(h, 24);
  return Buffer.concat([h, payload]);
}

const MAC_A = Buffer.from([0x02, 0, 0, 0, 0, 1]);
const MAC_B = Buffer.from([0x02, 0, 0, 0, 0, 2]);

/** Ethernet II, with optional VLAN tags (outer first): [tpid, vid]. */
export function ethernet(ip: Buffer, vlans: [number, number][] = [], etherType?: number): Buffer {
  const type = etherType ?? (ip[0] >> 4 === 6 ? 0x86dd : 0x0800);
  const tags = vlans.map(([tpid, vid]) => {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(tpid, 0);
    t.writeUInt16BE(vid, 2);
    return t;
  });
  const et = Buffer.alloc(2);
  et.writeUInt16BE(type, 0);
  const frame = Buffer.concat([MAC_B, MAC_A, ...tags, et, ip]);
  // Ethernet pads to 60 bytes: the IP length field, not the frame, says what was sent
  return frame.length < 60 ? Buffer.concat([frame, Buffer.alloc(60 - frame.length)]) : frame;
}

export function sll(ip: Buffer, packetType = 0): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(packetType, 0);
  h.writeUInt16BE(1, 2);
  h.writeUInt16BE(6, 4);
  MAC_A.copy(h, 6);
  h.writeUInt16BE(ip[0] >> 4 === 6 ? 0x86dd : 0x0800, 14);
  return Buffer.concat([h, ip]);
}

export function sll2(ip: Buffer, packetType = 0): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(ip[0] >> 4 === 6 ? 0x86dd : 0x0800, 0);
  h.writeUInt32BE(2, 4); // ifindex
  h.writeUInt16BE(1, 8);
  h[10] = packetType;
  h[11] = 6;
  MAC_A.copy(h, 12);
  return Buffer.concat([h, ip]);
}

/** BSD loopback: address family in the capturing host's byte order (little-endian here). */
export function nullLink(ip: Buffer, bigEndian = false): Buffer {
  const h = Buffer.alloc(4);
  const af = ip[0] >> 4 === 6 ? 30 : 2;
  if (bigEndian) h.writeUInt32BE(af, 0);
  else h.writeUInt32LE(af, 0);
  return Buffer.concat([h, ip]);
}

export function arp(): Buffer {
  return ethernet(Buffer.alloc(28), [], 0x0806);
}

export interface Record {
  ts: number; // seconds
  frame: Buffer;
  iface?: number;
  /** original length, default frame length */
  wireLen?: number;
}

/** Streams classic pcap records to a file. */
export class PcapWriter {
  private readonly fd: number;
  private buf = Buffer.alloc(1 << 20);
  private n = 0;

  constructor(
    path: string,
    private readonly linkType: number,
    private readonly snapLen = 262144,
    private readonly opts: { nanos?: boolean; bigEndian?: boolean } = {},
  ) {
    this.fd = openSync(path, 'w');
    const h = Buffer.alloc(24);
    const w32 = (v: number, o: number): number => (opts.bigEndian ? h.writeUInt32BE(v, o) : h.writeUInt32LE(v, o));
    const w16 = (v: number, o: number): number => (opts.bigEndian ? h.writeUInt16BE(v, o) : h.writeUInt16LE(v, o));
    w32(opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    w16(2, 4);
    w16(4, 6);
    w32(snapLen, 16);
    w32(linkType, 20);
    writeSync(this.fd, h);
  }

  write(r: Record): void {
    const cap = Math.min(r.frame.length, this.snapLen);
    if (this.n + 16 + cap > this.buf.length) this.drain();
    if (16 + cap > this.buf.length) this.buf = Buffer.alloc(16 + cap);
    const b = this.buf;
    const o = this.n;
    const sec = Math.floor(r.ts);
    const frac = Math.round((r.ts - sec) * (this.opts.nanos ? 1e9 : 1e6));
    const be = this.opts.bigEndian;
    const w = (v: number, at: number): number => (be ? b.writeUInt32BE(v, at) : b.writeUInt32LE(v, at));
    w(sec, o);
    w(frac, o + 4);
    w(cap, o + 8);
    w(r.wireLen ?? r.frame.length, o + 12);
    r.frame.copy(b, o + 16, 0, cap);
    this.n += 16 + cap;
  }

  private drain(): void {
    if (this.n > 0) writeSync(this.fd, this.buf, 0, this.n);
    this.n = 0;
  }

  close(): void {
    this.drain();
    closeSync(this.fd);
  }
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function option(code: number, value: Buffer): Buffer {
  const b = Buffer.alloc(4 + pad4(value.length));
  b.writeUInt16LE(code, 0);
  b.writeUInt16LE(value.length, 2);
  value.copy(b, 4);
  return b;
}

/** A pcapng block: type, total length, body, total length again (little-endian unless said). */
export function block(type: number, body: Buffer, bigEndian = false): Buffer {
  const len = 12 + body.length;
  const b = Buffer.alloc(len);
  const w = (v: number, o: number): number => (bigEndian ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o));
  w(type, 0);
  w(len, 4);
  body.copy(b, 8);
  w(len, len - 4);
  return b;
}

/** Streams little-endian pcapng: SHB, one IDB per interface, EPBs (microsecond resolution). */
export class PcapngWriter {
  private readonly fd: number;
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    path: string,
    interfaces: { linkType: number; name?: string; snapLen?: number }[],
  ) {
    this.fd = openSync(path, 'w');
    const shb = Buffer.alloc(16);
    shb.writeUInt32LE(0x1a2b3c4d, 0);
    shb.writeUInt16LE(1, 4);
    shb.writeBigInt64LE(-1n, 8);
    this.push(block(0x0a0d0d0a, shb));
    for (const i of interfaces) {
      const fixed = Buffer.alloc(8);
      fixed.writeUInt16LE(i.linkType, 0);
      fixed.writeUInt32LE(i.snapLen ?? 262144, 4);
      const opts = i.name ? Buffer.concat([option(2, Buffer.from(i.name)), option(9, Buffer.from([6])), Buffer.alloc(4)]) : Buffer.alloc(0);
      this.push(block(1, Buffer.concat([fixed, opts])));
    }
    this.snapLens = interfaces.map((i) => i.snapLen ?? 262144);
  }

  private readonly snapLens: number[];

  private push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    if (this.size > 1 << 20) this.drain();
  }

  write(r: Record): void {
    const iface = r.iface ?? 0;
    const cap = Math.min(r.frame.length, this.snapLens[iface]);
    const body = Buffer.alloc(20 + pad4(cap));
    body.writeUInt32LE(iface, 0);
    const us = BigInt(Math.round(r.ts * 1e6));
    body.writeUInt32LE(Number(us >> 32n), 4);
    body.writeUInt32LE(Number(us & 0xffffffffn), 8);
    body.writeUInt32LE(cap, 12);
    body.writeUInt32LE(r.wireLen ?? r.frame.length, 16);
    r.frame.copy(body, 20, 0, cap);
    this.push(block(6, body));
  }

  /** Interface Statistics Block with drop counters. */
  writeStats(iface: number, ts: number, osDrop: number, ifDrop: number): void {
    const fixed = Buffer.alloc(12);
    fixed.writeUInt32LE(iface, 0);
    const us = BigInt(Math.round(ts * 1e6));
    fixed.writeUInt32LE(Number(us >> 32n), 4);
    fixed.writeUInt32LE(Number(us & 0xffffffffn), 8);
    const u64 = (v: number): Buffer => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(v));
      return b;
    };
    this.push(block(5, Buffer.concat([fixed, option(5, u64(ifDrop)), option(6, u64(osDrop)), Buffer.alloc(4)])));
  }

  private drain(): void {
    for (const c of this.chunks) writeSync(this.fd, c);
    this.chunks = [];
    this.size = 0;
  }

  close(): void {
    this.drain();
    closeSync(this.fd);
  }
}
