// decode → classify → aggregate for one frame at a time. Sources call frame(); the metrics registry
// drains the counters on scrape. Nothing here allocates per packet except for DNS responses.
import { CATEGORY_COUNT, Direction } from './classify/categories.js';
import { DnsQueries, NameCache } from './decode/dns.js';
import { Decoded, decodeFrame, DECODE_ERROR_REASONS, PacketMeta } from './decode/packet.js';
import { RecentPackets } from './capture/duplicates.js';
import { RemoteTable } from './metrics/remote-table.js';
import { ipv4ToString, ipv6BigIntToWords, ipv6WordsToString, parseCidr } from './topology/ip.js';
import { SLOTS_PER_PAIR, ZonePairs } from './metrics/zone-pairs.js';
import type { FrameSink } from './capture/file-reader.js';
import type { Topology } from './topology/topology.js';

export interface PipelineOptions {
  /** Distinct (remote, port, direction, category) tracked between two flushes. */
  remoteTableSize?: number;
  nameCache?: NameCache;
}

const EPHEMERAL_MIN = 32768;
/** Distinct interface names with their own series; more share OTHER_INTERFACE. */
export const MAX_INTERFACES = 64;
export const OTHER_INTERFACE = 'other';

/** The service side's port: the well-known one, else the one that is not ephemeral, else the lower. */
export function servicePort(a: number, b: number): number {
  if (a < 0 || b < 0) return -1;
  const aLow = a < 1024;
  if (aLow !== b < 1024) return aLow ? a : b;
  const aEph = a >= EPHEMERAL_MIN;
  if (aEph !== b >= EPHEMERAL_MIN) return aEph ? b : a;
  return a < b ? a : b;
}

export class Pipeline implements FrameSink {
  readonly meta = new PacketMeta();
  readonly names: NameCache;
  topology!: Topology;

  // counters, indexed ZonePairs.slot(pair, dir, cat); they grow with the zone pairs seen
  bytes = new Float64Array(0);
  packets = new Float64Array(0);
  pairs!: ZonePairs;
  remotes!: RemoteTable;
  readonly decodeErrors = new Float64Array(DECODE_ERROR_REASONS.length);
  dnsErrors = 0;
  /** DNS responses cut by the capture's snaplen: their names are lost. */
  dnsCut = 0;
  /** DNS responses to no query this host sent: their names are not learned. */
  dnsUnsolicited = 0;
  nonIpPackets = 0;
  transitPackets = 0;
  transitBytes = 0;
  /** Copies of one packet seen on two interfaces of `any` (bridge and port), dropped. */
  duplicatePackets = 0;
  /** Set on the `any` pseudo-interface: drop the second capture of a bridged packet. */
  dedupe: RecentPackets | undefined;
  /** Learn names from DNS answers in counted frames (off when a separate DNS capture does it). */
  learnDnsInline = true;
  /** Packets seen per registered interface (before decoding). */
  capturePackets = new Float64Array(8);
  /** Latest drop totals the source reported per interface (kernel, interface); -1: never reported. */
  dropsKernel = new Float64Array(8).fill(-1);
  dropsInterface = new Float64Array(8).fill(-1);
  readonly interfaces: string[] = [];
  private readonly interfaceIndex = new Map<string, number>();
  /** Time of the newest packet (seconds): the clock for DNS name expiry. */
  now = 0;
  /** Drains the remote table when it fills, instead of spilling into "other" (see drainRemotesWhenFull). */
  private onRemotesFull: (() => void) | undefined;
  /** Time of the oldest packet with a timestamp (seconds); Infinity before any. */
  first = Infinity;

  private zoneCount = 1;
  private local4 = new Uint32Array(0);
  private local6 = new Uint32Array(0);
  // per local address: its category row (remote class → category) and its zone's pair row
  // (remote zone → zone pair, -1 until seen)
  private local4Cat: Uint8Array[] = [];
  private local4Pairs: Int32Array[] = [];
  private local4Zone = new Int32Array(0);
  private local6Cat: Uint8Array[] = [];
  private local6Pairs: Int32Array[] = [];
  private local6Zone = new Int32Array(0);
  private localIpTexts: string[] = [];
  private readonly remoteTableSize: number;

  constructor(topology: Topology, opts: PipelineOptions = {}) {
    this.remoteTableSize = opts.remoteTableSize ?? 65536;
    this.names = opts.nameCache ?? new NameCache();
    this.setTopology(topology);
  }

  get zones(): number {
    return this.zoneCount;
  }

  get localIps(): readonly string[] {
    return this.localIpTexts;
  }

  /** Swap in a new topology snapshot. Counts not yet flushed are dropped: flush first (ExporterMetrics.swapTopology). */
  setTopology(t: Topology): void {
    this.topology = t;
    this.zoneCount = t.zones.length;
    this.pairs = new ZonePairs(this.zoneCount);
    this.bytes = new Float64Array(16 * SLOTS_PER_PAIR);
    this.packets = new Float64Array(16 * SLOTS_PER_PAIR);
    this.remotes = new RemoteTable(this.remoteTableSize, this.zoneCount, this.onRemotesFull);
    this.setLocalIps(this.localIpTexts);
  }

  /** From now on a full remote table is handed to `drain` (which empties it) instead of spilling. */
  drainRemotesWhenFull(drain: () => void): void {
    this.onRemotesFull = drain;
    this.remotes = new RemoteTable(this.remoteTableSize, this.zoneCount, drain);
  }

  setLocalIps(ips: readonly string[]): void {
    this.localIpTexts = [...ips];
    const t = this.topology;
    const v4: number[] = [];
    const v6: number[] = [];
    const z4: number[] = [];
    const z6: number[] = [];
    this.local4Cat = [];
    this.local4Pairs = [];
    this.local6Cat = [];
    this.local6Pairs = [];
    for (const ip of ips) {
      const c = parseCidr(ip);
      const cls = t.classIndexOf(ip);
      const zone = t.classZone[cls];
      if (c.family === 4) {
        v4.push(Number(c.start));
        z4.push(zone);
        this.local4Cat.push(t.categoryRow(cls));
        this.local4Pairs.push(this.pairs.row(zone));
      } else {
        v6.push(...ipv6BigIntToWords(c.start));
        z6.push(zone);
        this.local6Cat.push(t.categoryRow(cls));
        this.local6Pairs.push(this.pairs.row(zone));
      }
    }
    this.local4 = Uint32Array.from(v4);
    this.local4Zone = Int32Array.from(z4);
    this.local6 = Uint32Array.from(v6);
    this.local6Zone = Int32Array.from(z6);
  }

  /**
   * The index of a named capture interface. A file may declare any number of them (pcapng IDBs): the
   * first MAX_INTERFACES names get their own series, the rest share "other".
   */
  addInterface(name: string): number {
    let i = this.interfaceIndex.get(name);
    if (i !== undefined) return i;
    if (this.interfaces.length >= MAX_INTERFACES && name !== OTHER_INTERFACE) return this.addInterface(OTHER_INTERFACE);
    i = this.interfaces.push(name) - 1;
    this.interfaceIndex.set(name, i);
    if (i >= this.capturePackets.length) {
      const grow = (a: Float64Array, fill: number): Float64Array<ArrayBuffer> => {
        const g = new Float64Array(a.length * 2).fill(fill);
        g.set(a);
        return g;
      };
      this.capturePackets = grow(this.capturePackets, 0);
      this.dropsKernel = grow(this.dropsKernel, -1);
      this.dropsInterface = grow(this.dropsInterface, -1);
    }
    return i;
  }

  interfaceDrops(iface: number, kernel: number | undefined, ifdrop: number | undefined): void {
    if (kernel !== undefined) this.dropsKernel[iface] = kernel;
    if (ifdrop !== undefined) this.dropsInterface[iface] = ifdrop;
  }

  private localIndex4(a: number): number {
    const l = this.local4;
    for (let i = 0; i < l.length; i++) if (l[i] === a) return i;
    return -1;
  }

  private localIndex6(w: Uint32Array): number {
    const l = this.local6;
    for (let i = 0, k = 0; k < l.length; i++, k += 4) {
      if (l[k] === w[0] && l[k + 1] === w[1] && l[k + 2] === w[2] && l[k + 3] === w[3]) return i;
    }
    return -1;
  }

  frame(linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number, ts: number, iface: number): void {
    this.capturePackets[iface]++;
    if (ts > this.now) this.now = ts;
    if (ts < this.first && ts > 0) this.first = ts;
    const m = this.meta;
    const r = decodeFrame(linkType, buf, off, capLen, wireLen, m);
    if (r !== Decoded.OK) {
      if (r === Decoded.NOT_IP) this.nonIpPackets++;
      else this.decodeErrors[r]++;
      return;
    }
    if (this.dedupe !== undefined && this.dedupe.seen(buf, m.ipOffset, off + capLen - m.ipOffset, m.ipBytes, ts)) {
      this.duplicatePackets++;
      return;
    }
    if (this.learnDnsInline && (m.srcPort === 53 || m.dstPort === 53) && m.payloadLength > 0) this.learnNames(buf, m);

    const t = this.topology;
    let dir: number;
    let local: number;
    let remoteClass: number;
    let v6 = false;
    if (m.family === 4) {
      local = this.localIndex4(m.src4);
      if (local >= 0) {
        dir = Direction.EGRESS;
        remoteClass = t.table4.lookup(m.dst4);
      } else {
        local = this.localIndex4(m.dst4);
        if (local < 0) {
          this.transitPackets++;
          this.transitBytes += m.ipBytes;
          return;
        }
        dir = Direction.INGRESS;
        remoteClass = t.table4.lookup(m.src4);
      }
    } else {
      v6 = true;
      local = this.localIndex6(m.src6);
      if (local >= 0) {
        dir = Direction.EGRESS;
        remoteClass = t.table6.lookup(m.dst6);
      } else {
        local = this.localIndex6(m.dst6);
        if (local < 0) {
          this.transitPackets++;
          this.transitBytes += m.ipBytes;
          return;
        }
        dir = Direction.INGRESS;
        remoteClass = t.table6.lookup(m.src6);
      }
    }
    const cat = v6 ? this.local6Cat[local][remoteClass] : this.local4Cat[local][remoteClass];
    const remoteZone = t.classZone[remoteClass];
    let pair = v6 ? this.local6Pairs[local][remoteZone] : this.local4Pairs[local][remoteZone];
    if (pair < 0) pair = this.newPair(v6 ? this.local6Zone[local] : this.local4Zone[local], remoteZone);
    const idx = pair * SLOTS_PER_PAIR + dir * CATEGORY_COUNT + cat;
    this.bytes[idx] += m.ipBytes;
    this.packets[idx]++;
    const port = servicePort(m.srcPort, m.dstPort);
    if (m.family === 4) {
      this.remotes.add4(dir === Direction.EGRESS ? m.dst4 : m.src4, port, dir, cat, remoteZone, m.ipBytes);
    } else {
      this.remotes.add6(dir === Direction.EGRESS ? m.dst6 : m.src6, port, dir, cat, remoteZone, m.ipBytes);
    }
  }

  /** A zone pair seen for the first time: number it, and make room for its counters. */
  private newPair(localZone: number, remoteZone: number): number {
    const pair = this.pairs.add(localZone, remoteZone);
    const need = (pair + 1) * SLOTS_PER_PAIR;
    if (need > this.bytes.length) {
      const size = Math.max(need, this.bytes.length * 2);
      const b = new Float64Array(size);
      b.set(this.bytes);
      this.bytes = b;
      const p = new Float64Array(size);
      p.set(this.packets);
      this.packets = p;
    }
    return pair;
  }

  /** A frame from the DNS-only capture: learn names, count nothing. */
  dnsFrame(linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number, ts: number): void {
    if (ts > this.now) this.now = ts;
    const m = this.dnsMeta;
    if (decodeFrame(linkType, buf, off, capLen, wireLen, m) === Decoded.OK && (m.srcPort === 53 || m.dstPort === 53) && m.payloadLength > 0) {
      this.learnNames(buf, m);
    }
  }

  private readonly dnsMeta = new PacketMeta();
  private readonly dnsQueries = new DnsQueries();

  /** Whether the packet's source (or destination) is an address of this host. */
  private isLocal(m: PacketMeta, source: boolean): boolean {
    if (m.family === 4) return this.localIndex4(source ? m.src4 : m.dst4) >= 0;
    return this.localIndex6(source ? m.src6 : m.dst6) >= 0;
  }

  private learnNames(buf: Buffer, m: PacketMeta): void {
    if (m.cut) {
      this.dnsCut++;
      return;
    }
    let start = m.payloadOffset;
    let len = m.payloadLength;
    if (m.proto === 6) {
      // DNS over TCP: 2-byte length prefix; only whole messages within one segment are read
      if (len < 2) return;
      const msgLen = (buf[start] << 8) | buf[start + 1];
      if (msgLen + 2 > len) return;
      start += 2;
      len = msgLen;
    } else if (m.proto !== 17) {
      return;
    }
    // only answers to questions this host asked: who is the client, who the server
    let fromClient: boolean;
    if (m.dstPort === 53 && this.isLocal(m, true)) fromClient = true;
    else if (m.srcPort === 53 && this.isLocal(m, false)) fromClient = false;
    else return;
    const src = m.family === 4 ? ipv4ToString(m.src4) : ipv6WordsToString(m.src6);
    const dst = m.family === 4 ? ipv4ToString(m.dst4) : ipv6WordsToString(m.dst6);
    try {
      const seen = fromClient
        ? this.dnsQueries.see(buf.subarray(start, start + len), true, src, m.srcPort, dst, this.now)
        : this.dnsQueries.see(buf.subarray(start, start + len), false, dst, m.dstPort, src, this.now);
      if (seen.kind === 'answers') for (const a of seen.answers) this.names.set(a.ip, a.name, a.ttl, this.now);
      else if (seen.kind === 'unsolicited') this.dnsUnsolicited++;
    } catch {
      this.dnsErrors++;
    }
  }
}
