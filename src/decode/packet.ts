// Hot-path decoder: reads header fields straight from the Buffer into one reused PacketMeta.
// Never throws on packet content and never allocates per packet.
import { indexOf } from '../net/names.js';
import { readU32BE, readU32LE } from '../net/bytes.js';

/** Link-layer header types (LINKTYPE_* values as written in pcap/pcapng files). */
export const LinkType = {
  NULL: 0,
  ETHERNET: 1,
  RAW_BSD12: 12,
  RAW_BSD14: 14,
  RAW: 101,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/**
 * Results of decodeFrame, each with the `reason` label of aztraffic_decode_errors_total it counts under
 * ('' for OK and NOT_IP, which are not errors). One list: codes and reasons cannot drift apart.
 */
const DECODE_RESULTS = [
  ['ok', ''],
  ['not_ip', ''],
  ['unknown_link_type', 'unknown_link_type'],
  ['truncated_link', 'truncated_link_header'],
  ['truncated_ip', 'truncated_ip_header'],
  ['bad_ip_version', 'bad_ip_version'],
  ['bad_ihl', 'bad_ipv4_header_length'],
  ['bad_ip_length', 'bad_ip_length'],
  ['bad_ipv6_ext', 'bad_ipv6_extension_header'],
  // counted by file sources, not by decodeFrame: a record cut short or corrupt
  ['corrupt_record', 'corrupt_capture_record'],
] as const;

/** Decoded.OK, Decoded.NOT_IP, Decoded.TRUNCATED_IP, …: result codes of decodeFrame. */
export const Decoded = indexOf(DECODE_RESULTS.map(([name]) => name) as (typeof DECODE_RESULTS)[number][0][]);

/** `reason` label of aztraffic_decode_errors_total, indexed by result code. */
export const DECODE_ERROR_REASONS: readonly string[] = DECODE_RESULTS.map(([, reason]) => reason);

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
const IPPROTO_SCTP = 132;
const IPPROTO_UDPLITE = 136;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_OLD = 0x9100;

/** Linux packet type of SLL/SLL2 headers: the host sent this packet. */
export const PACKET_OUTGOING = 4;

export class PacketMeta {
  family = 0; // 4 or 6
  src4 = 0; // IPv4 addresses as unsigned 32-bit numbers
  dst4 = 0;
  readonly src6 = new Uint32Array(4); // IPv6 addresses as four big-endian words
  readonly dst6 = new Uint32Array(4);
  proto = 0;
  srcPort = -1; // -1: no ports (non-first fragment, other protocol, or cut by snaplen)
  dstPort = -1;
  ipBytes = 0; // what the counting rule bills
  /** A decoded frame is one packet (flow records, which share the engine, carry more). */
  readonly packets = 1;
  ipOffset = 0; // where the IP header starts in the buffer
  payloadOffset = 0; // start of the TCP/UDP payload in the buffer
  l4Offset = -1; // start of the TCP/UDP header in the buffer; -1 where there is none
  payloadLength = 0; // captured payload bytes (capped at the IP end)
  /** The capture ended before the IP packet did (snaplen): the payload is incomplete. */
  cut = false;
  /** SLL/SLL2 packet type (PACKET_OUTGOING …), -1 where the link layer has none. */
  linuxPacketType = -1;
}

/**
 * Decode one frame. `off`/`capLen` delimit the captured bytes, `wireLen` is the original length.
 * Returns a Decoded code; on OK, `m` holds the packet's addresses, ports and billed bytes.
 */
export function decodeFrame(
  linkType: number,
  b: Buffer,
  off: number,
  capLen: number,
  wireLen: number,
  m: PacketMeta,
): number {
  const end = off + capLen;
  let p = off;
  let ethType = 0;
  m.linuxPacketType = -1;
  switch (linkType) {
    case LinkType.ETHERNET:
      if (capLen < 14) return Decoded.TRUNCATED_LINK;
      ethType = (b[p + 12] << 8) | b[p + 13];
      p += 14;
      break;
    case LinkType.LINUX_SLL:
      if (capLen < 16) return Decoded.TRUNCATED_LINK;
      m.linuxPacketType = (b[p] << 8) | b[p + 1];
      ethType = (b[p + 14] << 8) | b[p + 15];
      p += 16;
      break;
    case LinkType.LINUX_SLL2:
      if (capLen < 20) return Decoded.TRUNCATED_LINK;
      ethType = (b[p] << 8) | b[p + 1];
      m.linuxPacketType = b[p + 10];
      p += 20;
      break;
    case LinkType.RAW:
    case LinkType.RAW_BSD12:
    case LinkType.RAW_BSD14:
    case LinkType.IPV4:
    case LinkType.IPV6:
      if (capLen < 1) return Decoded.TRUNCATED_IP;
      ethType = b[p] >> 4 === 6 ? ETH_IPV6 : ETH_IPV4;
      break;
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (capLen < 4) return Decoded.TRUNCATED_LINK;
      // NULL holds the address family in the capturing host's byte order, LOOP in network order
      let af = linkType === LinkType.LOOP ? readU32BE(b, p) : readU32LE(b, p);
      if (af > 0xffff) af = readU32BE(b, p);
      p += 4;
      if (af === 2) ethType = ETH_IPV4;
      else if (af === 10 || af === 24 || af === 28 || af === 30) ethType = ETH_IPV6;
      else return Decoded.NOT_IP;
      break;
    }
    default:
      return Decoded.UNKNOWN_LINK_TYPE;
  }
  // 802.1Q, 802.1ad (QinQ) and the pre-standard 0x9100 tag, any depth
  while (ethType === ETH_VLAN || ethType === ETH_QINQ || ethType === ETH_QINQ_OLD) {
    if (p + 4 > end) return Decoded.TRUNCATED_LINK;
    ethType = (b[p + 2] << 8) | b[p + 3];
    p += 4;
  }
  const linkLen = p - off;
  m.ipOffset = p;
  if (ethType === ETH_IPV4) return decodeIPv4(b, p, end, wireLen - linkLen, m);
  if (ethType === ETH_IPV6) return decodeIPv6(b, p, end, wireLen - linkLen, m);
  return Decoded.NOT_IP;
}

function decodeIPv4(b: Buffer, p: number, end: number, wireIpLen: number, m: PacketMeta): number {
  if (p + 20 > end) return Decoded.TRUNCATED_IP;
  const vihl = b[p];
  if (vihl >> 4 !== 4) return Decoded.BAD_IP_VERSION;
  const ihl = (vihl & 15) << 2;
  if (ihl < 20) return Decoded.BAD_IHL;
  let total = (b[p + 2] << 8) | b[p + 3];
  if (total === 0) {
    total = wireIpLen; // TSO super-packet: the length field is not filled in
    if (total < ihl) return Decoded.BAD_IP_LENGTH;
  } else if (total < ihl || total > wireIpLen) {
    return Decoded.BAD_IP_LENGTH;
  }
  m.family = 4;
  m.ipBytes = total;
  m.cut = p + total > end;
  m.proto = b[p + 9];
  m.src4 = readU32BE(b, p + 12);
  m.dst4 = readU32BE(b, p + 16);
  m.srcPort = -1;
  m.dstPort = -1;
  m.payloadOffset = 0;
  m.payloadLength = 0;
  m.l4Offset = -1;
  const fragOffset = ((b[p + 6] & 0x1f) << 8) | b[p + 7];
  if (fragOffset !== 0) return Decoded.OK; // later fragments carry no ports
  const l4 = p + ihl;
  const ipEnd = p + total < end ? p + total : end;
  readPorts(b, l4, ipEnd, m);
  return Decoded.OK;
}

function decodeIPv6(b: Buffer, p: number, end: number, wireIpLen: number, m: PacketMeta): number {
  if (p + 40 > end) return Decoded.TRUNCATED_IP;
  if (b[p] >> 4 !== 6) return Decoded.BAD_IP_VERSION;
  const payloadLen = (b[p + 4] << 8) | b[p + 5];
  let total = 40 + payloadLen;
  if (payloadLen === 0) {
    total = wireIpLen; // jumbogram or TSO: the length field is 0
    if (total < 40) return Decoded.BAD_IP_LENGTH;
  } else if (total > wireIpLen) {
    return Decoded.BAD_IP_LENGTH;
  }
  m.family = 6;
  m.ipBytes = total;
  m.cut = p + total > end;
  const s = m.src6;
  const d = m.dst6;
  s[0] = readU32BE(b, p + 8);
  s[1] = readU32BE(b, p + 12);
  s[2] = readU32BE(b, p + 16);
  s[3] = readU32BE(b, p + 20);
  d[0] = readU32BE(b, p + 24);
  d[1] = readU32BE(b, p + 28);
  d[2] = readU32BE(b, p + 32);
  d[3] = readU32BE(b, p + 36);
  m.srcPort = -1;
  m.dstPort = -1;
  m.payloadOffset = 0;
  m.payloadLength = 0;
  m.l4Offset = -1;
  const ipEnd = p + total;
  const capEnd = ipEnd < end ? ipEnd : end;
  let next = b[p + 6];
  let q = p + 40;
  // walk extension headers; each step advances at least 8 bytes, so the loop is bounded
  while (true) {
    if (next === 0 || next === 43 || next === 60 || next === 51 || next === 44) {
      if (q + 8 > ipEnd) return Decoded.BAD_IPV6_EXT; // runs past the declared payload
      if (q + 8 > capEnd) break; // cut by snaplen: counted, no ports
      if (next === 44) {
        const fragOffset = ((b[q + 2] << 8) | b[q + 3]) >> 3;
        next = b[q];
        q += 8;
        if (fragOffset !== 0) {
          m.proto = next;
          return Decoded.OK;
        }
        continue;
      }
      const len = next === 51 ? (b[q + 1] + 2) << 2 : (b[q + 1] + 1) << 3;
      if (q + len > ipEnd) return Decoded.BAD_IPV6_EXT;
      next = b[q];
      q += len;
      continue;
    }
    break;
  }
  m.proto = next;
  readPorts(b, q, capEnd, m);
  return Decoded.OK;
}

function readPorts(b: Buffer, l4: number, end: number, m: PacketMeta): void {
  const proto = m.proto;
  if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP && proto !== IPPROTO_SCTP && proto !== IPPROTO_UDPLITE) {
    return;
  }
  if (l4 + 4 > end) return;
  m.l4Offset = l4;
  m.srcPort = (b[l4] << 8) | b[l4 + 1];
  m.dstPort = (b[l4 + 2] << 8) | b[l4 + 3];
  let hdr = 8;
  if (proto === IPPROTO_TCP) {
    if (l4 + 13 > end) return;
    hdr = (b[l4 + 12] >> 4) << 2;
    if (hdr < 20) return;
  } else if (proto === IPPROTO_SCTP) {
    return;
  }
  if (l4 + hdr <= end) {
    m.payloadOffset = l4 + hdr;
    m.payloadLength = end - (l4 + hdr);
  }
}
