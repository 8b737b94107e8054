// On the `any` pseudo-interface a packet that crosses a bridge is captured once per interface it
// passes (the port, then the bridge). Bridging does not change a packet, so a short memory of recent
// packets' fingerprints drops the copies. A direct-mapped table over typed arrays: O(1), and nothing
// allocated per packet.
const SLOTS = 4096; // power of two

export class RecentPackets {
  private readonly hashes = new Uint32Array(SLOTS);
  private readonly times = new Float64Array(SLOTS).fill(-Infinity);

  constructor(private readonly windowSeconds = 0.05) {}

  /** True when the same IP packet was seen within the window; otherwise remembers it. */
  seen(b: Buffer, ipOffset: number, capturedIpBytes: number, ipBytes: number, now: number): boolean {
    // FNV-1a over the first 64 bytes of the IP packet: addresses, IDs, checksums, ports, sequence
    let h = 0x811c9dc5;
    const end = ipOffset + (capturedIpBytes < 64 ? capturedIpBytes : 64);
    for (let i = ipOffset; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
    h = (h ^ ipBytes) >>> 0;
    const slot = h & (SLOTS - 1);
    if (this.hashes[slot] === h && now - this.times[slot] <= this.windowSeconds) return true;
    this.hashes[slot] = h;
    this.times[slot] = now;
    return false;
  }
}
