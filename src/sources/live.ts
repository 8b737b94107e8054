// Live capture with `cap` (libpcap). One handle counts: it copies only the first `snaplen` bytes of each
// packet (headers) into one reused buffer — a port 53 packet up to 576 bytes, by the kernel filter's
// verdict — and names are learned from the DNS messages that fit, in packet order. A second handle
// copies whole the DNS packets longer than that (`port 53 and greater N`;
// all of port 53 where a capture filter could leave questions out of the counting handle), one at a
// time, so that names can be learned from them too. A capture that fails is retried with backoff; the
// process lives.
import { createRequire } from 'node:module';
import { LinkType } from '../decode/packet.js';
import type { Logger } from '../config/log.js';
import type { LiveSink } from './frame-sink.js';
import { interfaceExists, mayCapture } from './interfaces.js';

/** The DNS handle's snapshot: a 9,001-byte jumbo frame and its link header. */
const DNS_SNAPLEN = 9216;
/**
 * What the counting handle keeps of a port 53 packet (when it learns names and has no filter): a DNS
 * message over UDP of the classic 512 bytes, most answers with CNAME chains among them, whole; the
 * DNS handle takes only what is longer.
 */
const PORT53_SNAPLEN = 512 + 64;
/**
 * The least base snapshot that holds what the port 53 test reads: a link header (SLL2's 20 bytes at
 * most), IPv4's longest header (60) and the ports. libpcap runs that test again in user space on the
 * ring's first block, against the bytes kept: a packet cut shorter would be dropped there.
 */
const PORT53_MIN_BASE = 96;

interface CapHandle {
  /** `batchSnaplen` (this project's patch of cap, patches/): pack packets into `buffer` and emit 'packets'. */
  open(device: string, filter: string, bufSize: number, buffer: Buffer, batchSnaplen?: number, port53Snaplen?: number): string;
  close(): void;
  setMinBytes?(n: number): void;
  /** `wireLen` comes from the patch too; unpatched cap passes two arguments. */
  on(event: 'packet', cb: (nbytes: number, truncated: boolean, wireLen?: number) => void): void;
  /** Batch mode: `count` records of [caplen u32 LE][wire length u32 LE][caplen bytes] in the buffer. */
  on(event: 'packets', cb: (count: number, used: number) => void): void;
  /** This project's patch: the capture failed (its descriptor or libpcap's read), e.g. the interface went away. */
  on(event: 'error', cb: (e: Error) => void): void;
}

const BATCH_BUFFER = 1 << 20;
interface CapModule {
  Cap: new () => CapHandle;
  /** This project's patch: the BPF compiler's error for a filter, or undefined when it compiles. */
  checkFilter?(filter: string, linkType: number): string | undefined;
  /** This project's patch: open() takes a snaplen of its own for port 53 (batch mode, no filter). */
  port53Snaplen?: boolean;
}

export class CaptureUnavailableError extends Error {}

let capModule: CapModule | undefined;

/** Load the optional `cap` addon, or say in words how to get it. */
export function loadCap(): CapModule {
  if (capModule) return capModule;
  try {
    capModule = createRequire(import.meta.url)('cap') as CapModule;
    return capModule;
  } catch (e) {
    throw new CaptureUnavailableError(
      `live capture needs libpcap: apt-get install libpcap-dev (or libpcap0.8) and npm rebuild cap (${(e as Error).message.split('\n')[0]})`,
    );
  }
}

/**
 * A filter that can never compile is a usage error, found before anything starts (libpcap compiles
 * without an interface or privilege). Without cap nothing captures, so nothing is checked.
 */
export function captureFilterError(filter: string, iface: string): string | undefined {
  if (filter === '') return undefined;
  let cap: CapModule;
  try {
    cap = loadCap();
  } catch {
    return undefined;
  }
  return cap.checkFilter?.(filter, iface === 'any' ? LinkType.LINUX_SLL : LinkType.ETHERNET);
}

const LINK_TYPES: Record<string, number> = {
  ETHERNET: LinkType.ETHERNET,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
  RAW: LinkType.RAW,
  NULL: LinkType.NULL,
};

/** libpcap's words, turned into what to do about them. */
export function explainCaptureError(iface: string, message: string): string {
  if (/permitted|permission|EPERM|EACCES/i.test(message)) {
    return `no permission to capture on ${iface}: the exporter needs the CAP_NET_RAW capability (setcap cap_net_raw+ep on the node binary, AmbientCapabilities=CAP_NET_RAW in systemd, or docker run --cap-add NET_RAW) (${message})`;
  }
  if (/no such device|doesn't exist|not found|No such/i.test(message)) return `interface ${iface} does not exist (${message})`;
  if (/not up/i.test(message)) return `interface ${iface} is down (${message})`;
  return `capture on ${iface} failed: ${message}`;
}

export interface LiveOptions {
  iface: string;
  filter: string;
  bufferBytes: number;
  snaplen: number;
  /** Kernel buffer of the DNS handle. */
  dnsBufferBytes: number;
  learnDns: boolean;
}

const MAX_WIRE = 65535 + 64; // libpcap snaplen plus room for any link header

/**
 * A packet's wire length: patched cap reports it; unpatched, a cut packet's is unknown but at most
 * 64 KiB, and the IP length field (what is billed) is then taken as it says.
 */
function wireOf(nbytes: number, truncated: boolean, wireLen: number | undefined): number {
  return wireLen ?? (truncated ? MAX_WIRE : nbytes);
}

export type CaptureState = 'starting' | 'running' | 'failed' | 'stopped';

/** Coarse clock for packet times: Date.now() per packet would cost more than the packet. */
class Clock {
  now = Date.now() / 1000;
  private readonly timer = setInterval(() => (this.now = Date.now() / 1000), 100);
  constructor() {
    this.timer.unref();
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

export class LiveCapture {
  state: CaptureState = 'starting';
  lastError = '';
  failures = 0;
  private handles: CapHandle[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private backoffMs = 1000;
  private readonly clock = new Clock();
  private readonly ifaceIndex: number;

  constructor(
    private readonly o: LiveOptions,
    private readonly pipeline: LiveSink,
    private readonly log: Logger,
    /** Every change of state, with the failure's words when it failed. */
    private readonly onState: (state: CaptureState, message?: string) => void = () => {},
  ) {
    this.ifaceIndex = pipeline.addInterface(o.iface);
    if (o.iface === 'any') pipeline.dedupeAcrossInterfaces();
    // names from the counting handle's own DNS packets, in order, unless its filter may leave some out
    const inline = o.learnDns && o.filter.trim() === '';
    pipeline.learnDnsInline = inline;
    pipeline.longDnsElsewhere = inline;
  }

  start(): void {
    if (this.state === 'stopped') return;
    this.state = 'starting';
    try {
      this.open();
      this.state = 'running';
      this.onState('running');
      this.backoffMs = 1000;
      this.log.info(`capturing on ${this.o.iface}`, { interface: this.o.iface, filter: this.o.filter, buffer_bytes: this.o.bufferBytes, snaplen: this.o.snaplen });
      // libpcap does not notice an interface that goes away: look for it
      this.watchdog = setInterval(() => {
        if (!interfaceExists(this.o.iface)) this.fail(`interface ${this.o.iface} disappeared`);
      }, 2000);
      this.watchdog.unref();
    } catch (e) {
      const msg = e instanceof CaptureUnavailableError ? e.message : explainCaptureError(this.o.iface, (e as Error).message);
      this.fail(msg);
    }
  }

  private open(): void {
    const cap = loadCap();
    if (!interfaceExists(this.o.iface)) throw new Error(`No such device exists: ${this.o.iface}`);
    // without CAP_NET_RAW libpcap would fail anyway, and its failed open closes descriptor numbers it
    // no longer owns (by then a scrape's connection): not tried, the same error said
    if (mayCapture() === false) throw new Error('socket: Operation not permitted');
    const counting = new cap.Cap();
    // one JavaScript call per batch of packets, not per packet: cap's per-packet callback costs more
    // than decoding, classifying and counting the packet
    const buf = Buffer.alloc(BATCH_BUFFER);
    // names learned here: port 53's packets kept longer than the rest (the kernel cuts each by its own
    // verdict), so that only answers past that wake the DNS handle
    const port53 = this.pipeline.longDnsElsewhere && cap.port53Snaplen === true && this.o.snaplen >= PORT53_MIN_BASE && PORT53_SNAPLEN > this.o.snaplen ? PORT53_SNAPLEN : 0;
    const name = counting.open(this.o.iface, this.o.filter, this.o.bufferBytes, buf, this.o.snaplen, port53);
    const linkType = LINK_TYPES[name];
    if (linkType === undefined) {
      counting.close();
      throw new Error(`unsupported link type ${name}`);
    }
    counting.setMinBytes?.(0);
    this.handles.push(counting);
    this.log.debug('counting handle open', { interface: this.o.iface, link_type: name, batch_buffer_bytes: BATCH_BUFFER, port53_snaplen: port53 || this.o.snaplen });
    counting.on('error', (e: Error) => this.fail(explainCaptureError(this.o.iface, e.message)));
    const p = this.pipeline;
    const clock = this.clock;
    const iface = this.ifaceIndex;
    counting.on('packets', (count: number) => {
      const now = clock.now;
      let o = 0;
      for (let i = 0; i < count; i++) {
        const capLen = buf.readUInt32LE(o);
        p.frame(linkType, buf, o + 8, capLen, buf.readUInt32LE(o + 4), now, iface);
        o += 8 + capLen;
      }
    });
    // unpatched cap (no batches): one event per packet, at the start of the buffer
    counting.on('packet', (nbytes: number, truncated: boolean, wireLen?: number) => {
      p.frame(linkType, buf, 0, nbytes, wireOf(nbytes, truncated, wireLen), clock.now, iface);
    });
    if (this.o.learnDns) {
      const dns = new cap.Cap();
      // the buffer's length is the handle's snapshot length (patches/), and with immediate mode on each
      // ring slot is that long: 65,535 gave a 4 MiB ring 64 slots, and a burst of answers overran them.
      // A jumbo frame (9,001 bytes on EC2) holds any DNS message that can be read (unfragmented): ~450 slots
      const dnsBuf = Buffer.alloc(DNS_SNAPLEN);
      // what the counting handle cuts (wire length past its snapshot): each such packet is a wakeup and a
      // call, where the counting handle's blocks are one for many packets (the realistic mix live, 17%
      // DNS: 24% of a core per 100k packets/s with every DNS packet here, 16–19% with only these; DNS
      // alone 34% → 15%). With a capture filter, all of port 53, questions too: an answer names a remote
      // only when it answers a question this host asked
      const filter = this.pipeline.longDnsElsewhere ? `port 53 and greater ${Math.max(port53, this.o.snaplen) + 1}` : 'port 53';
      dns.open(this.o.iface, filter, this.o.dnsBufferBytes, dnsBuf);
      dns.setMinBytes?.(0);
      dns.on('error', (e: Error) => this.fail(explainCaptureError(this.o.iface, e.message)));
      dns.on('packet', (nbytes: number, truncated: boolean, wireLen?: number) =>
        p.dnsFrame(linkType, dnsBuf, 0, nbytes, wireOf(nbytes, truncated, wireLen), clock.now),
      );
      this.handles.push(dns);
    }
  }

  private closeHandles(): void {
    for (const h of this.handles) {
      try {
        h.close();
      } catch {
        // already closed
      }
    }
    this.handles = [];
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private fail(message: string): void {
    this.closeHandles();
    // both handles, or the watchdog and a handle, may report one failure: one retry
    if (this.state === 'stopped' || this.state === 'failed') return;
    this.state = 'failed';
    this.failures++;
    this.lastError = message;
    this.onState('failed', message);
    this.log.error(message, { interface: this.o.iface, retry_in_seconds: this.backoffMs / 1000 });
    this.retryTimer = setTimeout(() => this.start(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 30_000);
  }

  stop(): void {
    this.state = 'stopped';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.closeHandles();
    this.clock.stop();
  }
}
