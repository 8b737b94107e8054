/** What count() takes: a decoded packet (PacketMeta) or a flow record. */
export interface FlowView {
  family: number;
  src4: number;
  dst4: number;
  src6: Uint32Array;
  dst6: Uint32Array;
  /** IP-layer bytes (what the counting rule bills). */
  ipBytes: number;
  packets: number;
  /** IP protocol number (6 TCP, 17 UDP, ...): part of a flow's key for attribution. */
  proto: number;
  srcPort: number;
  dstPort: number;
}
