// The kernel's exact answers about one flow (native/netlink.c): its socket at the flow's first packet
// (inet_diag, as `ss` asks: no scan of /proc/net, so a connection of a few milliseconds is still
// found; a connection this host opens is asked about by the addon's own thread the moment its SYN
// leaves, with its holder), and the address a connection had before NAT (conntrack: a pod's traffic
// that leaves with the node's address). The addon is optional: without it, sockets are found by
// scanning /proc/net.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moduleFileExists } from '../config/module-file.js';
import type { SocketKey } from './sockets.js';

interface NetlinkAddon {
  socketOf(proto: number, family: number, local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, out: Float64Array): number;
  conntrackOther(asReply: boolean, proto: number, family: number, src: Uint8Array, srcPort: number, dst: Uint8Array, dstPort: number, out: Uint8Array): number;
  socketHolders(wanted: Float64Array, first: Int32Array, full: boolean, holders: Int32Array): number;
  /** Start the first-packets thread: 0, or -errno. */
  firstStart?(): number;
  /** Move the thread's answers into `out` (FIRST_FIELDS each); `counts`: SYNs looked up, past the budget, answers lost, its CPU seconds. */
  firstTake?(out: Float64Array, counts: Float64Array): number;
  /** The numbers in one of firstTake's answers (an addon built for another layout is not read). */
  firstFields?: number;
}

/** A record of the first-packets thread: family, ports, the socket (4), PID, the addresses' words (8),
 * the holder's name (3 numbers of 6 bytes). */
const FIRST_FIELDS = 19;

/** A socket and its holder, found by the first-packets thread as the connection's SYN left. */
export interface FirstAnswer {
  socket: FlowSocket;
  /** 0: no holder found among the last holders and the newest processes. */
  pid: number;
  /** The holder's name as the SYN left ('' without a holder): it names a holder that has exited since. */
  comm: string;
  at: number;
}

/** A name of up to 18 bytes, 6 in each of three numbers (as the addon packs it); '' for none. */
export function commOf(words: ArrayLike<number>, at: number): string {
  const bytes = Buffer.alloc(18);
  for (let i = 0; i < 3; i++) {
    let v = words[at + i];
    for (let j = 5; j >= 0; j--) {
      bytes[i * 6 + j] = v % 256;
      v = Math.floor(v / 256);
    }
  }
  const end = bytes.indexOf(0);
  return bytes.toString('utf8', 0, end < 0 ? 18 : end);
}

/** The key of a connection in first-packet answers: what FlowTable.tuple gives, as one string. */
export function connectionKey(family: 4 | 6, local: ArrayLike<number>, localPort: number, remote: ArrayLike<number>, remotePort: number): string {
  const n = family === 4 ? 1 : 4;
  let k = `${family}:${localPort}:${remotePort}`;
  for (let i = 0; i < n; i++) k += `:${local[i] >>> 0}:${remote[i] >>> 0}`;
  return k;
}

const ADDON = 'native/build/Release/aztraffic_netlink.node';

/** The addon, or why it cannot be used. Looked for from dist/ (a chunk or a module) and from src/. */
export function loadNetlink(): { addon?: NetlinkAddon; problem?: string } {
  for (const up of ['../', '../../', '../../../']) {
    const url = new URL(up + ADDON, import.meta.url);
    if (!moduleFileExists(url)) continue;
    const path = fileURLToPath(url);
    try {
      return { addon: createRequire(import.meta.url)(path) as NetlinkAddon };
    } catch (e) {
      return { problem: `the netlink addon does not load (${(e as Error).message.split('\n')[0]}): npm rebuild az-traffic-exporter` };
    }
  }
  return { problem: 'the netlink addon is not built (it needs python3, make and g++ at install)' };
}

const E = constants.errno;

export interface FlowSocket {
  inode: number;
  uid: number;
  /** The socket's cgroup (v2) id: the inode of its directory in the cgroup2 file system. */
  cgroup: number;
  /** The kernel's TCP state number (UDP: 1 connected, 7 not). */
  state: number;
}

/** TCP states whose socket nobody holds (yet or any more): TIME_WAIT, and a connection not yet accepted. */
export const TCP_TIME_WAIT = 6;
export const TCP_NEW_SYN_RECV = 12;

/** Why a lookup failed for good: every later one would fail the same way. */
function permanent(code: number): string | undefined {
  if (code === -E.EPERM || code === -E.EACCES) return 'no permission (CAP_NET_ADMIN)';
  if (code === -E.EPROTONOSUPPORT || code === -E.EOPNOTSUPP || code === -E.EAFNOSUPPORT || code === -E.EINVAL) return 'not in this kernel';
  return undefined;
}

/** Exact lookups of one flow at a time, into buffers made once. */
export class KernelLookups {
  private readonly local = new Uint8Array(16);
  private readonly remote = new Uint8Array(16);
  private readonly out = new Float64Array(4);
  private readonly before = new Uint8Array(16);
  /** Set at the first failure that every later lookup would repeat; the lookup is then not tried again. */
  socketProblem: string | undefined;
  conntrackProblem: string | undefined;

  /** SYNs the first-packets thread looked up, past its budget, answers lost, and its CPU seconds. */
  readonly firstCounts = new Float64Array(4);
  firstProblem: string | undefined = 'not started';
  private firstOut: Float64Array | undefined;

  constructor(private readonly addon: NetlinkAddon) {}

  /**
   * Start the thread that looks up each connection this host opens as its SYN leaves (a packet socket:
   * needs CAP_NET_RAW, as capture does). Undefined when it runs, else why not.
   */
  startFirst(): string | undefined {
    if (!this.addon.firstStart || this.addon.firstFields !== FIRST_FIELDS) return (this.firstProblem = 'the netlink addon is older than this exporter: npm rebuild az-traffic-exporter');
    const r = this.addon.firstStart();
    const why = r === -E.EPERM || r === -E.EACCES ? 'no permission (CAP_NET_RAW)' : (permanent(r) ?? `error ${-r}`);
    this.firstProblem = r === 0 ? undefined : `connections' first packets (a packet socket): ${why}`;
    if (r === 0) this.firstOut = new Float64Array(FIRST_FIELDS * 1024);
    return this.firstProblem;
  }

  /** Move the thread's answers into `into`, keyed by connectionKey. */
  takeFirst(into: Map<string, FirstAnswer>, now: number): void {
    const out = this.firstOut;
    if (!out || !this.addon.firstTake) return;
    for (;;) {
      const n = this.addon.firstTake(out, this.firstCounts);
      for (let i = 0; i < n; i++) {
        const o = i * FIRST_FIELDS;
        const family = out[o] === 4 ? 4 : 6;
        const key = connectionKey(family, out.subarray(o + 8, o + 12), out[o + 1], out.subarray(o + 12, o + 16), out[o + 2]);
        into.set(key, { socket: { inode: out[o + 3], uid: out[o + 4], cgroup: out[o + 5], state: out[o + 6] }, pid: out[o + 7], comm: commOf(out, o + 16), at: now });
      }
      if (n * FIRST_FIELDS < out.length) return;
    }
  }

  /** Ask once about a connection that does not exist: a lookup that cannot work here says so at start. */
  probe(): void {
    const loopback = new Uint32Array([0x7f000001, 0, 0, 0]);
    const k: SocketKey = { family: 4, proto: 6, local: loopback, remote: loopback, localPort: 1, remotePort: 1 };
    this.socket(k);
    this.beforeNat(k);
  }

  /** The flow's socket in this network namespace, or undefined (none now, or cannot ask). */
  socket(k: SocketKey): FlowSocket | undefined {
    if (this.socketProblem) return undefined;
    this.fill(k);
    let r = this.addon.socketOf(k.proto, k.family, this.local, k.localPort, this.remote, k.remotePort, this.out);
    // closed already (or TIME_WAIT, held by nobody): a server's connection is still its listener's.
    // Not UDP's: its one question, asked as a received packet, already takes a socket bound to the port
    if (k.proto !== 17 && ((r === 0 && this.out[0] === 0) || r === -E.ENOENT)) {
      const closed = r === 0 ? this.read() : undefined;
      this.remote.fill(0);
      r = this.addon.socketOf(k.proto, k.family, this.local, k.localPort, this.remote, 0, this.out);
      if (r === 0 && this.out[0] > 0) return this.read();
      if (closed) return closed;
    }
    if (r === 0) return this.read();
    const why = permanent(r);
    if (why) this.socketProblem = `the kernel's socket lookup (inet_diag): ${why}`;
    return undefined;
  }

  private read(): FlowSocket {
    return { inode: this.out[0], uid: this.out[1], cgroup: this.out[2], state: this.out[3] };
  }

  /**
   * Where a flow of this host's address came from before NAT: the original sender of a connection
   * the host masqueraded (SNAT), or where an inbound one was forwarded to (DNAT). Undefined when
   * conntrack has no such connection or it was not translated.
   */
  beforeNat(k: SocketKey): { words: Uint32Array; port: number } | undefined {
    if (this.conntrackProblem) return undefined;
    this.fill(k);
    // the tuple as the remote sends it: the reply direction of a masqueraded connection, the original one of a forwarded one
    for (const asReply of [true, false]) {
      const r = this.addon.conntrackOther(asReply, k.proto, k.family, this.remote, k.remotePort, this.local, k.localPort, this.before);
      if (r >= 0) {
        const words = toWords(this.before, k.family);
        if (!sameWords(words, k.local, k.family)) return { words, port: r };
        continue;
      }
      const why = permanent(r);
      if (why) {
        this.conntrackProblem = `connection tracking (ctnetlink): ${why}`;
        return undefined;
      }
    }
    return undefined;
  }

  /**
   * Which process holds each socket inode (the `first` PIDs read before the rest, the rest only when
   * `full`): what sockets.ts's socketHolders does, natively, at a tenth of its cost.
   */
  holders(wanted: ReadonlySet<number>, first: readonly number[], full: boolean): Map<number, number> {
    const inodes = Float64Array.from(wanted);
    const pids = new Int32Array(inodes.length);
    const found = new Map<number, number>();
    if (this.addon.socketHolders(inodes, Int32Array.from(first), full, pids) > 0) inodes.forEach((inode, i) => pids[i] > 0 && found.set(inode, pids[i]));
    return found;
  }

  private fill(k: SocketKey): void {
    toBytes(k.local, k.family, this.local);
    toBytes(k.remote, k.family, this.remote);
  }
}

function toBytes(words: ArrayLike<number>, family: 4 | 6, into: Uint8Array): void {
  const n = family === 4 ? 1 : 4;
  for (let i = 0; i < n; i++) {
    const w = words[i] >>> 0;
    into[i * 4] = w >>> 24;
    into[i * 4 + 1] = (w >>> 16) & 0xff;
    into[i * 4 + 2] = (w >>> 8) & 0xff;
    into[i * 4 + 3] = w & 0xff;
  }
}

function toWords(bytes: Uint8Array, family: 4 | 6): Uint32Array {
  const words = new Uint32Array(4);
  for (let i = 0; i < (family === 4 ? 1 : 4); i++) words[i] = ((bytes[i * 4] << 24) | (bytes[i * 4 + 1] << 16) | (bytes[i * 4 + 2] << 8) | bytes[i * 4 + 3]) >>> 0;
  return words;
}

function sameWords(a: ArrayLike<number>, b: ArrayLike<number>, family: 4 | 6): boolean {
  for (let i = 0; i < (family === 4 ? 1 : 4); i++) if (a[i] >>> 0 !== b[i] >>> 0) return false;
  return true;
}

/**
 * cgroup (v2) ids → their paths, from one walk of the cgroup2 file system (a directory's inode is its
 * cgroup's id), walked again on a miss at most once a second. It names the unit or container of a
 * socket whose process exited before the walk of /proc found it. In a network namespace made by
 * `ip netns exec` /sys is mounted anew and empty: PID 1's view (/proc/1/root) is the host's.
 */
export class CgroupPaths {
  private readonly paths = new Map<number, string>();
  private walkedAt = -Infinity;
  readonly root: string | undefined;

  constructor(roots = cgroup2Roots()) {
    this.root = roots.find((r) => existsSync(join(r, 'cgroup.procs')));
  }

  pathOf(id: number, now = Date.now()): string | undefined {
    if (!this.root || id === 0) return undefined;
    const known = this.paths.get(id);
    if (known !== undefined || now - this.walkedAt < 1000) return known;
    this.walkedAt = now;
    this.paths.clear();
    this.walk(this.root, '', 0);
    return this.paths.get(id);
  }

  /**
   * What a process's cgroup v2 path says of a socket cgroup id, kept when it is that directory: its
   * sockets are still named after it exits, without a walk (at most one a second).
   */
  learn(id: number, path: string): void {
    if (!this.root || id === 0 || this.paths.has(id)) return;
    try {
      if (statSync(join(this.root, path)).ino === id) this.paths.set(id, path);
    } catch {
      // removed since, or not ours to read
    }
  }

  /**
   * The processes in a socket's cgroup (not the root's: that is every process): where its holder is
   * looked for first, so that a new process of a unit or container is found without a walk of /proc.
   */
  processesOf(id: number, now = Date.now()): number[] {
    const path = this.pathOf(id, now);
    if (path === undefined || path === '/' || !this.root) return [];
    try {
      return readFileSync(join(this.root, path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number).reverse();
    } catch {
      return [];
    }
  }

  private walk(dir: string, rel: string, depth: number): void {
    if (depth > 12 || this.paths.size > 100_000) return;
    try {
      this.paths.set(statSync(dir).ino, rel === '' ? '/' : rel);
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) this.walk(join(dir, e.name), `${rel}/${e.name}`, depth + 1);
    } catch {
      // removed while walked, or not ours to read
    }
  }
}

/** Where cgroup2 may be mounted: this mount namespace's own mount, then the host's usual places. */
function cgroup2Roots(): string[] {
  const roots: string[] = [];
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const f = line.split(' ');
      const dash = f.indexOf('-');
      if (dash > 0 && f[dash + 1] === 'cgroup2') roots.push(f[4]);
    }
  } catch {
    // no /proc
  }
  return [...roots, '/proc/1/root/sys/fs/cgroup/unified', '/proc/1/root/sys/fs/cgroup'];
}
