// On the `any` pseudo-interface one packet can be captured more than once: a bridged packet on the port
// and on the bridge; a pod's packet on its veth and again on the ENI after the node routed it (TTL and
// header checksum changed), or after the CNI's SNAT (source address, port and checksums changed). A
// short memory of recent packets' fingerprints drops the copies. The fingerprint skips what routing and
// NAT rewrite (TTL/hop limit, addresses, ports, checksums) and keeps what they never touch: the IP
// length, protocol and IPv4 ID, TCP sequence, acknowledgement, flags and window, UDP length and the
// first payload bytes. A direct-mapped table over typed arrays: O(1), nothing allocated per packet.
import type { PacketMeta } from '../decode/packet.js';

const SLOTS = 4096; // power of two
const PAYLOAD_BYTES = 16;

function mix(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193);
}

export class RecentPackets {
  private readonly hashes = new Uint32Array(SLOTS);
  private readonly times = new Float64Array(SLOTS).fill(-Infinity);

  constructor(private readonly windowSeconds = 0.05) {}

  /** True when the same packet was seen within the window; otherwise remembers it. */
  seen(b: Buffer, m: PacketMeta, capEnd: number, now: number): boolean {
    let h = Math.imul(0x811c9dc5 ^ m.ipBytes, 0x01000193);
    h = mix(h, m.proto);
    const ip = m.ipOffset;
    if (m.family === 4) {
      h = mix(h, b[ip + 4]);
      h = mix(h, b[ip + 5]);
      h = mix(h, b[ip + 6]); // fragment offset and flags
      h = mix(h, b[ip + 7]);
    } else {
      for (let i = ip + 1; i < ip + 4; i++) h = mix(h, b[i]); // flow label
    }
    const l4 = m.l4Offset;
    if (l4 >= 0) {
      if (m.proto === 6 && l4 + 16 <= capEnd) {
        for (let i = l4 + 4; i < l4 + 16; i++) h = mix(h, b[i]);
      } else if (l4 + 6 <= capEnd) {
        h = mix(h, b[l4 + 4]);
        h = mix(h, b[l4 + 5]);
      }
      const p = m.payloadOffset;
      const end = m.payloadLength > 0 ? Math.min(capEnd, p + PAYLOAD_BYTES, p + m.payloadLength) : p;
      for (let i = p; i < end; i++) h = mix(h, b[i]);
    } else {
      // no transport header: the IP payload's first bytes (ICMP identifier and sequence, fragments)
      const start = ip + (m.family === 4 ? (b[ip] & 15) << 2 : 40);
      for (let i = start + 4; i < Math.min(capEnd, start + 4 + PAYLOAD_BYTES); i++) h = mix(h, b[i]);
    }
    h >>>= 0;
    const slot = h & (SLOTS - 1);
    if (this.hashes[slot] === h && now - this.times[slot] <= this.windowSeconds) return true;
    this.hashes[slot] = h;
    this.times[slot] = now;
    return false;
  }
}
