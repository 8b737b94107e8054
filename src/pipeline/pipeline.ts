// decode → count for one frame at a time: sources call frame(); the link, IP and port headers are
// decoded into one reused PacketMeta, DNS answers (to this host's own questions) name remotes, and the
// counting engine classifies and counts. Nothing here allocates per packet except for DNS messages.
import { DnsBudget, DnsQueries, NameCache, parseDnsAnswers, portIdOf, type DnsAnswer } from '../decode/dns.js';
import { Decoded, decodeFrame, DECODE_ERROR_REASONS, PacketMeta } from '../decode/packet.js';
import { RecentPackets } from '../engine/duplicates.js';
import { Engine, type EngineCounts } from '../engine/engine.js';
import type { RemoteEntries, RemoteTable } from '../engine/remote-table.js';
import type { LiveSink } from '../sources/frame-sink.js';
import { ipv6WordsToString } from '../net/ip.js';
import type { Topology } from '../topology/topology.js';


export interface PipelineOptions {
  /** Distinct (remote, port, direction, category) tracked between two flushes. */
  remoteTableSize?: number;
  nameCache?: NameCache;
}

/** Distinct interface names with their own series; more share OTHER_INTERFACE. */
export const MAX_INTERFACES = 64;
export const OTHER_INTERFACE = 'other';

/** Frames, per interface, and what the capture reported lost. */
export class CaptureStats {
  readonly interfaces: string[] = [];
  /** Frames seen per interface (before decoding). */
  packets = new Float64Array(8);
  /** Latest drop totals the source reported per interface (kernel, interface); -1: never reported. */
  dropsKernel = new Float64Array(8).fill(-1);
  dropsInterface = new Float64Array(8).fill(-1);
  private readonly index = new Map<string, number>();

  /**
   * The index of a named capture interface. A file may declare any number of them (pcapng IDBs): the
   * first MAX_INTERFACES names get their own series, the rest share "other".
   */
  add(name: string): number {
    let i = this.index.get(name);
    if (i !== undefined) return i;
    if (this.interfaces.length >= MAX_INTERFACES && name !== OTHER_INTERFACE) return this.add(OTHER_INTERFACE);
    i = this.interfaces.push(name) - 1;
    this.index.set(name, i);
    if (i >= this.packets.length) {
      const grow = (a: Float64Array, fill: number): Float64Array<ArrayBuffer> => {
        const g = new Float64Array(a.length * 2).fill(fill);
        g.set(a);
        return g;
      };
      this.packets = grow(this.packets, 0);
      this.dropsKernel = grow(this.dropsKernel, -1);
      this.dropsInterface = grow(this.dropsInterface, -1);
    }
    return i;
  }
}

/** Answers held for their question, at most, and for how long (seconds of the pipeline's clock). */
const MAX_EARLY = 256;
const EARLY_SECONDS = 2;

/**
 * Seconds between two splits of the counts at a renaming: an address named anew within this of the
 * last (a CDN's addresses rotating through names) takes the new name for those moments' bytes.
 */
export const RENAME_GAP = 0.1;

/** Counts of frames that were not counted as traffic, and why. */
export class DecodeStats {
  /** By decodeFrame result code (DECODE_ERROR_REASONS). */
  readonly errors = new Float64Array(DECODE_ERROR_REASONS.length);
  nonIp = 0;
  /** Copies of one packet seen on two interfaces of `any` (bridge and port, veth and ENI), dropped. */
  duplicates = 0;
  dnsMalformed = 0;
  /** DNS messages cut by the capture's snaplen: their names are lost. */
  dnsCut = 0;
  /** DNS responses to no query this host sent: their names are not learned. */
  dnsUnsolicited = 0;
  /** DNS messages past the decoding budget (Pipeline.dnsBudget): dropped, their names not learned. */
  dnsOverBudget = 0;
  /** Answers that named an address anew: the bytes before kept the old name (split), or, within RENAME_GAP of the last split, took the new one (merged). */
  renamesSplit = 0;
  renamesMerged = 0;

  reset(): void {
    this.errors.fill(0);
    this.nonIp = this.duplicates = this.dnsMalformed = this.dnsCut = this.dnsUnsolicited = this.dnsOverBudget = 0;
    this.renamesSplit = this.renamesMerged = 0;
  }
}

/**
 * What a pipeline counted, to be added to another's (a worker's part of a file): the engine's counts and
 * remote entries, frames and last-reported drops per capture interface (by name), decode errors and the
 * clock. DNS frames are not in it (the worker keeps them for the merging pipeline to learn from), nor
 * duplicates (a pipeline that drops them reads in one thread).
 */
export interface PipelineCounts {
  engine: EngineCounts;
  remotes: RemoteEntries;
  interfaces: string[];
  packets: Float64Array;
  /** -1: never reported. */
  dropsKernel: Float64Array;
  dropsInterface: Float64Array;
  decodeErrors: Float64Array;
  nonIp: number;
  now: number;
  first: number;
}

export class Pipeline implements LiveSink {
  readonly meta = new PacketMeta();
  readonly names: NameCache;
  readonly engine: Engine;
  readonly capture = new CaptureStats();
  readonly decode = new DecodeStats();
  /** Set on the `any` pseudo-interface: drop the second capture of a bridged packet. */
  dedupe: RecentPackets | undefined;

  dedupeAcrossInterfaces(): void {
    this.dedupe = new RecentPackets();
  }
  /** Learn names from DNS in counted frames (off when a separate DNS capture does it). */
  learnDnsInline = true;
  /**
   * Live capture's second handle takes only the DNS frames the counting handle cuts (longer than its
   * snapshot): those are not said to be cut here, and an answer of that handle that comes before its
   * question (the counting handle hands its packets over in blocks, up to 50 ms later) waits for it.
   */
  longDnsElsewhere = false;
  /**
   * Hand DNS frames to this instead of learning from them (a worker counting part of a file: names
   * are learned in file order by whoever merges its counts, through dnsFrame).
   */
  deferDns: ((linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number, now: number) => void) | undefined;
  /** Time of the newest packet (seconds): the clock for DNS name expiry. */
  now = 0;
  /** Time of the oldest packet with a timestamp (seconds); Infinity before any. */
  first = Infinity;

  constructor(topology: Topology, opts: PipelineOptions = {}) {
    this.names = opts.nameCache ?? new NameCache();
    this.engine = new Engine(topology, opts.remoteTableSize ?? 65536);
  }

  get topology(): Topology {
    return this.engine.topology;
  }

  get remotes(): RemoteTable {
    return this.engine.remotes;
  }

  get localIps(): readonly string[] {
    return this.engine.localIps;
  }

  /** Decode errors by result code (tests and file sources add corrupt records here). */
  get decodeErrors(): Float64Array {
    return this.decode.errors;
  }

  get dnsUnsolicited(): number {
    return this.decode.dnsUnsolicited;
  }

  setTopology(t: Topology): void {
    this.engine.setTopology(t);
  }

  setLocalIps(ips: readonly string[]): void {
    this.engine.setLocalIps(ips);
  }

  addInterface(name: string): number {
    return this.capture.add(name);
  }

  interfaceDrops(iface: number, kernel: number | undefined, ifdrop: number | undefined): void {
    if (kernel !== undefined) this.capture.dropsKernel[iface] = kernel;
    if (ifdrop !== undefined) this.capture.dropsInterface[iface] = ifdrop;
  }

  frame(linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number, ts: number, iface: number): void {
    this.capture.packets[iface]++;
    if (ts > this.now) this.now = this.engine.now = ts;
    if (ts < this.first && ts > 0) this.first = ts;
    const m = this.meta;
    const r = decodeFrame(linkType, buf, off, capLen, wireLen, m);
    if (r !== Decoded.OK) {
      if (r === Decoded.NOT_IP) this.decode.nonIp++;
      else this.decode.errors[r]++;
      return;
    }
    if (this.dedupe !== undefined && this.dedupe.seen(buf, m, off + capLen, ts)) {
      this.decode.duplicates++;
      return;
    }
    if (this.learnDnsInline && (m.srcPort === 53 || m.dstPort === 53) && m.payloadLength > 0) {
      if (this.deferDns === undefined) this.learnNames(buf, m);
      else this.deferDns(linkType, buf, off, capLen, wireLen, this.now);
    }
    this.engine.count(m);
  }

  /** Forget every count and the clock, as a new pipeline would (a worker's next part of a file). */
  resetCounts(): void {
    this.engine.resetCounts();
    this.capture.packets.fill(0);
    this.capture.dropsKernel.fill(-1);
    this.capture.dropsInterface.fill(-1);
    this.decode.reset();
    this.now = this.engine.now = 0;
    this.first = Infinity;
  }

  /** What was counted (since the last drain or reset), for mergeCounts of another pipeline. */
  exportCounts(): PipelineCounts {
    const n = this.capture.interfaces.length;
    return {
      engine: this.engine.exportCounts(),
      remotes: this.remotes.exportEntries(),
      interfaces: [...this.capture.interfaces],
      packets: this.capture.packets.slice(0, n),
      dropsKernel: this.capture.dropsKernel.slice(0, n),
      dropsInterface: this.capture.dropsInterface.slice(0, n),
      decodeErrors: this.decode.errors.slice(),
      nonIp: this.decode.nonIp,
      now: this.now,
      first: this.first,
    };
  }

  /**
   * Add another pipeline's counts as if its frames had come after this one's (check engine.canMerge and
   * remotes.mergesWithoutFilling first: the remote table is not drained here).
   */
  mergeCounts(c: PipelineCounts): void {
    this.engine.mergeCounts(c.engine);
    this.remotes.merge(c.remotes);
    c.interfaces.forEach((name, i) => {
      const mine = this.addInterface(name);
      this.capture.packets[mine] += c.packets[i];
      // the last statistics of an interface say its drops: the later frames'
      this.interfaceDrops(mine, c.dropsKernel[i] >= 0 ? c.dropsKernel[i] : undefined, c.dropsInterface[i] >= 0 ? c.dropsInterface[i] : undefined);
    });
    for (let i = 0; i < c.decodeErrors.length; i++) this.decode.errors[i] += c.decodeErrors[i];
    this.decode.nonIp += c.nonIp;
    if (c.now > this.now) this.now = c.now;
    this.engine.now = this.now;
    if (c.first < this.first) this.first = c.first;
  }

  /** A frame from the DNS-only capture: learn names, count nothing. */
  dnsFrame(linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number, ts: number): void {
    if (ts > this.now) this.now = ts;
    const m = this.dnsMeta;
    if (decodeFrame(linkType, buf, off, capLen, wireLen, m) === Decoded.OK && (m.srcPort === 53 || m.dstPort === 53) && m.payloadLength > 0) {
      this.learnNames(buf, m, this.longDnsElsewhere ? (portId) => this.holdEarly(portId, linkType, buf, off, capLen, wireLen) : undefined);
    }
  }

  /** Answers of the second handle whose question the counting handle has not handed over yet, by client port and id. */
  private readonly early = new Map<number, { linkType: number; frame: Buffer; wireLen: number; at: number }>();
  private readonly earlyMeta = new PacketMeta();

  private holdEarly(portId: number, linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number): void {
    // the oldest go first (a question comes within a block's 50 ms, or it never will): unsolicited
    for (const [k, e] of this.early) {
      if (this.early.size < MAX_EARLY && this.now - e.at <= EARLY_SECONDS) break;
      this.early.delete(k);
      this.decode.dnsUnsolicited++;
    }
    const held = this.early.get(portId);
    if (held !== undefined) {
      // another answer to the same port and id: the newer waits, the older answers nothing
      this.early.delete(portId);
      this.decode.dnsUnsolicited++;
    }
    this.early.set(portId, { linkType, frame: Buffer.from(buf.subarray(off, off + capLen)), wireLen, at: this.now });
  }

  private releaseEarly(portId: number): void {
    const e = this.early.get(portId);
    if (e === undefined) return;
    this.early.delete(portId);
    const m = this.earlyMeta;
    if (decodeFrame(e.linkType, e.frame, 0, e.frame.length, e.wireLen, m) === Decoded.OK) this.learnNames(e.frame, m);
  }

  private readonly dnsMeta = new PacketMeta();
  private readonly dnsQueries = new DnsQueries();
  /**
   * Called when an answer gives an address another name than it had, before it takes it (serve flushes,
   * analyze drains the remote table: the bytes counted so far keep the name they flowed under); at most
   * once per RENAME_GAP seconds of the pipeline's clock, the renames between counted as merged.
   */
  onRename: (() => void) | undefined;
  private lastRename = -Infinity;
  /** DNS messages decoded per second, at most (serve); none: every one (a file is read at its own pace). */
  dnsBudget: DnsBudget | undefined;

  private renamed(): void {
    if (this.now - this.lastRename < RENAME_GAP) {
      this.decode.renamesMerged++;
      return;
    }
    this.lastRename = this.now;
    this.decode.renamesSplit++;
    this.onRename!();
  }

  /**
   * Whether learning from these DNS frames (another thread's, in file order) would name an address
   * anew: then their part's bytes cannot be added as one, and this thread reads it itself. Errs on the
   * side of yes (an answer to no question of this host's counts too).
   */
  wouldRename(frames: Iterable<{ linkType: number; buf: Buffer; off: number; capLen: number; wireLen: number }>): boolean {
    if (this.onRename === undefined) return false;
    const m = this.dnsMeta;
    const named = new Map<string, string>();
    for (const f of frames) {
      if (decodeFrame(f.linkType, f.buf, f.off, f.capLen, f.wireLen, m) !== Decoded.OK || m.srcPort !== 53 || !this.dnsMessage(f.buf, m)) continue;
      const { start, len } = this.dnsSpan;
      if (len < 12) continue;
      let answers: DnsAnswer[];
      try {
        answers = parseDnsAnswers(f.buf.subarray(start, start + len));
      } catch {
        continue;
      }
      for (const a of answers) {
        const before = named.get(a.ip) ?? this.names.get(a.ip, this.now);
        if (before !== undefined && before !== a.name) return true;
        named.set(a.ip, a.name);
      }
    }
    return false;
  }

  /** Where the DNS message of a decoded UDP or TCP packet is (dnsSpan, reused: nothing allocated), if it holds a whole one. */
  private readonly dnsSpan = { start: 0, len: 0 };

  private dnsMessage(buf: Buffer, m: PacketMeta): boolean {
    let start = m.payloadOffset;
    let len = m.payloadLength;
    if (m.proto === 6) {
      // DNS over TCP: 2-byte length prefix; only whole messages within one segment are read
      if (len < 2) return false;
      const msgLen = (buf[start] << 8) | buf[start + 1];
      if (msgLen + 2 > len) return false;
      start += 2;
      len = msgLen;
    } else if (m.proto !== 17) {
      return false;
    }
    this.dnsSpan.start = start;
    this.dnsSpan.len = len;
    return true;
  }

  /** Whether the packet's source (or destination) is an address of this host. */
  private isLocal(m: PacketMeta, source: boolean): boolean {
    if (m.family === 4) return this.engine.localIndex4(source ? m.src4 : m.dst4) >= 0;
    return this.engine.localIndex6(source ? m.src6 : m.dst6) >= 0;
  }

  private learnNames(buf: Buffer, m: PacketMeta, early?: (portId: number) => void): void {
    if (m.cut) {
      if (!this.longDnsElsewhere) this.decode.dnsCut++;
      return;
    }
    if (!this.dnsMessage(buf, m)) return;
    const { start, len } = this.dnsSpan;
    // only answers to questions this host asked: who is the client, who the server
    let fromClient: boolean;
    if (m.dstPort === 53 && this.isLocal(m, true)) fromClient = true;
    else if (m.srcPort === 53 && this.isLocal(m, false)) fromClient = false;
    else return;
    if (len < 12) {
      this.decode.dnsMalformed++;
      return;
    }
    // the message's id is its first two bytes; this host's port is the client's
    const id = (buf[start] << 8) | buf[start + 1];
    const clientPort = fromClient ? m.srcPort : m.dstPort;
    if (!fromClient) {
      // from the header's bytes first: a query from port 53 is no answer, and an answer that matches no
      // pending question (port and id) is unsolicited, before any text or view is made
      if ((buf[start + 2] & 0x80) === 0) return;
      if (!this.dnsQueries.mayAnswer(clientPort, id)) {
        if (early !== undefined) early(portIdOf(clientPort, id));
        else this.decode.dnsUnsolicited++;
        return;
      }
    }
    if (this.dnsBudget !== undefined && !this.dnsBudget.take(this.now)) {
      this.decode.dnsOverBudget++;
      return;
    }
    // IPv4 addresses as numbers: no text made for a question
    const src = m.family === 4 ? m.src4 : ipv6WordsToString(m.src6);
    const dst = m.family === 4 ? m.dst4 : ipv6WordsToString(m.dst6);
    try {
      const seen = fromClient
        ? this.dnsQueries.see(buf, start, len, true, src, clientPort, dst, this.now)
        : this.dnsQueries.see(buf, start, len, false, dst, clientPort, src, this.now);
      // a longer answer that came first (the second handle's) is read now, in its question's place
      if (seen.kind === 'query' && this.early.size > 0) this.releaseEarly(portIdOf(clientPort, id));
      if (seen.kind === 'answers') {
        // an address that had another name (CloudFront, S3 and load balancers share addresses): what was
        // counted until now is handed over under the old one first
        if (this.onRename !== undefined && seen.answers.some((a) => (this.names.get(a.ip, this.now) ?? a.name) !== a.name)) this.renamed();
        for (const a of seen.answers) this.names.set(a.ip, a.name, a.ttl, this.now);
      }
      else if (seen.kind === 'unsolicited') this.decode.dnsUnsolicited++;
    } catch {
      this.decode.dnsMalformed++;
    }
  }
}
