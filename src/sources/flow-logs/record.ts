// One VPC Flow Logs record as the readers hand it on: the fields the engine counts (the shape of its
// FlowView) and the ones that say from which side and through what it was logged. One object, refilled
// for every record: readers allocate nothing per record.

/** log-status */
export const LogStatus = { OK: 0, NODATA: 1, SKIPDATA: 2 } as const;
/** action */
export const Action = { NONE: 0, ACCEPT: 1, REJECT: 2 } as const;
/** flow-direction: which side is the interface's */
export const FlowDirection = { UNKNOWN: -1, INGRESS: 0, EGRESS: 1 } as const;

export class FlowRecord {
  family = 4;
  src4 = 0;
  dst4 = 0;
  readonly src6 = new Uint32Array(4);
  readonly dst6 = new Uint32Array(4);
  /** The record's bytes (IP layer, as the counting rule bills). */
  ipBytes = 0;
  packets = 0;
  proto = -1;
  srcPort = -1;
  dstPort = -1;
  /** The logging interface's number (InterfaceIds), -1 where the format has none. */
  eni = -1;
  /** Seconds since the epoch; 0 where absent. */
  start = 0;
  end = 0;
  action: number = Action.NONE;
  status: number = LogStatus.OK;
  direction: number = FlowDirection.UNKNOWN;
  /** pkt-srcaddr/pkt-dstaddr: the packet's own addresses (behind a NAT gateway: the host that used it). */
  pktFamily = 0;
  pktSrc4 = 0;
  pktDst4 = 0;
  readonly pktSrc6 = new Uint32Array(4);
  readonly pktDst6 = new Uint32Array(4);
  /** traffic-path (1–8), -1 where absent. */
  trafficPath = -1;
  /** How many log records this one stands for: 1, or a group's count where records were summed first (the SQL engines). */
  records = 1;

  reset(): void {
    this.records = 1;
    this.family = 4;
    this.ipBytes = 0;
    this.packets = 0;
    this.proto = -1;
    this.srcPort = -1;
    this.dstPort = -1;
    this.eni = -1;
    this.start = 0;
    this.end = 0;
    this.action = Action.NONE;
    this.status = LogStatus.OK;
    this.direction = FlowDirection.UNKNOWN;
    this.pktFamily = 0;
    this.trafficPath = -1;
  }
}

/**
 * Interface ids (eni-…) as small numbers: a record's id is looked up from its bytes, so that a known
 * interface costs no string. A new one is copied once.
 */
export class InterfaceIds {
  private readonly names: string[] = [];
  private keys = new Int32Array(1024).fill(-1);
  private hashes = new Int32Array(1024);
  /** Each name's bytes, one after another (compared with a record's bytes: no string read per record). */
  private bytes = new Uint8Array(32 * 1024);
  private offsets = new Int32Array(1025);

  get size(): number {
    return this.names.length;
  }

  name(i: number): string {
    return this.names[i];
  }

  /** The number of the id in buf[start, end). */
  ofBytes(buf: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    return this.ofHashed(buf, start, end, h);
  }

  /** ofBytes, its FNV-1a hash of the bytes already taken (while the field's end was sought). */
  ofHashed(buf: Uint8Array, start: number, end: number, h: number): number {
    const mask = this.keys.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const k = this.keys[s];
      if (k < 0) return this.add(String.fromCharCode(...buf.subarray(start, end)), h, s);
      if (this.hashes[s] === h && this.same(k, buf, start, end)) return k;
    }
  }

  /** The number of an id given as text (Parquet columns are strings already). */
  of(text: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    const mask = this.keys.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const k = this.keys[s];
      if (k < 0) return this.add(text, h, s);
      if (this.hashes[s] === h && this.names[k] === text) return k;
    }
  }

  private same(k: number, buf: Uint8Array, start: number, end: number): boolean {
    const o = this.offsets[k];
    if (this.offsets[k + 1] - o !== end - start) return false;
    const b = this.bytes;
    for (let i = start; i < end; i++) if (b[o + i - start] !== buf[i]) return false;
    return true;
  }

  private add(name: string, h: number, slot: number): number {
    const i = this.names.push(name) - 1;
    const o = this.offsets[i];
    if (o + name.length > this.bytes.length) {
      const g = new Uint8Array(Math.max(2 * this.bytes.length, o + name.length));
      g.set(this.bytes);
      this.bytes = g;
    }
    for (let c = 0; c < name.length; c++) this.bytes[o + c] = name.charCodeAt(c) & 0xff;
    if (i + 2 > this.offsets.length) {
      const g = new Int32Array(2 * this.offsets.length);
      g.set(this.offsets);
      this.offsets = g;
    }
    this.offsets[i + 1] = o + name.length;
    this.keys[slot] = i;
    this.hashes[slot] = h;
    if (2 * this.names.length > this.keys.length) this.grow();
    return i;
  }

  private grow(): void {
    const keys = new Int32Array(this.keys.length * 2).fill(-1);
    const hashes = new Int32Array(keys.length);
    const mask = keys.length - 1;
    for (let s = 0; s < this.keys.length; s++) {
      const k = this.keys[s];
      if (k < 0) continue;
      let t = this.hashes[s] & mask;
      while (keys[t] >= 0) t = (t + 1) & mask;
      keys[t] = k;
      hashes[t] = this.hashes[s];
    }
    this.keys = keys;
    this.hashes = hashes;
  }
}
