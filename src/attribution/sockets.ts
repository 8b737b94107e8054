// Socket → owner, as `ss -p` and nethogs find it: the flow's 5-tuple in /proc/net/{tcp,udp}{,6} gives
// the socket's inode, /proc/PID/fd/* links name the process holding "socket:[inode]", and its comm
// and cgroup say what it is (a systemd unit, a container of a pod, or a process by name). Runs off the
// hot path, once per new flow, in batches.
import { endianness } from 'node:os';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { WorkloadKind } from './workloads.js';

export interface SocketKey {
  family: 4 | 6;
  proto: number;
  /** Addresses as four 32-bit words in network order (IPv4: word 0). */
  local: Uint32Array;
  remote: Uint32Array;
  localPort: number;
  remotePort: number;
}

export interface Owner {
  kind: WorkloadKind;
  namespace: string;
  name: string;
}

const LITTLE = endianness() === 'LE';

/** A /proc/net address word (host byte order, hex) as a network-order number. */
function word(hex: string): number {
  const v = parseInt(hex, 16) >>> 0;
  return LITTLE ? (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0 : v;
}

function addrKey(family: 4 | 6, w: ArrayLike<number>, port: number): string {
  return family === 4 ? `${w[0] >>> 0}:${port}` : `${w[0] >>> 0},${w[1] >>> 0},${w[2] >>> 0},${w[3] >>> 0}:${port}`;
}

/** Parse "0100007F:1F90" or a 32-digit IPv6 form; IPv4-mapped IPv6 becomes IPv4. */
function parseAddr(text: string): { family: 4 | 6; words: number[]; port: number } {
  const [hex, portHex] = text.split(':');
  const port = parseInt(portHex, 16);
  if (hex.length === 8) return { family: 4, words: [word(hex)], port };
  const words = [0, 1, 2, 3].map((i) => word(hex.slice(i * 8, i * 8 + 8)));
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return { family: 4, words: [words[3]], port };
  return { family: 6, words, port };
}

/** The sockets of this network namespace: 5-tuple → inode, with listeners and unconnected UDP apart. */
export class SocketTable {
  private readonly exact = new Map<string, number>();
  private readonly bound = new Map<string, number>();

  constructor(procNet = '/proc/self/net') {
    for (const [file, proto] of [
      ['tcp', 6],
      ['tcp6', 6],
      ['udp', 17],
      ['udp6', 17],
    ] as const) {
      let text: string;
      try {
        text = readFileSync(`${procNet}/${file}`, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split('\n').slice(1)) {
        const f = line.trim().split(/\s+/);
        if (f.length < 10) continue;
        const inode = Number(f[9]);
        if (!inode) continue; // TIME_WAIT: nobody holds it
        const l = parseAddr(f[1]);
        const r = parseAddr(f[2]);
        if (r.port === 0) {
          this.bound.set(`${proto}|${l.family}|${addrKey(l.family, l.words, l.port)}`, inode);
        } else {
          this.exact.set(`${proto}|${addrKey(l.family, l.words, l.port)}|${addrKey(r.family, r.words, r.port)}`, inode);
        }
      }
    }
  }

  /** The inode of the socket of a flow: its connected socket, else the listener or unconnected socket of its local port. */
  inodeOf(k: SocketKey): number | undefined {
    const exact = this.exact.get(`${k.proto}|${addrKey(k.family, k.local, k.localPort)}|${addrKey(k.family, k.remote, k.remotePort)}`);
    if (exact !== undefined) return exact;
    const any = k.family === 4 ? [0] : [0, 0, 0, 0];
    return (
      this.bound.get(`${k.proto}|${k.family}|${addrKey(k.family, k.local, k.localPort)}`) ??
      this.bound.get(`${k.proto}|${k.family}|${addrKey(k.family, any, k.localPort)}`) ??
      // a dual-stack listener on [::] takes IPv4 too
      (k.family === 4 ? this.bound.get(`${k.proto}|6|${addrKey(6, [0, 0, 0, 0], k.localPort)}`) : undefined)
    );
  }
}

/**
 * Which process holds each socket inode, by one walk of /proc/PID/fd: the `first` processes (those
 * that held the last sockets found: a process that opens one connection opens more), then every
 * other unless `full` is false.
 */
export function socketHolders(wanted: ReadonlySet<number>, proc = '/proc', first: readonly number[] = [], full = true): Map<number, number> {
  const found = new Map<number, number>();
  // a process of another network namespace (a pod's, a container's) holds none of this one's sockets:
  // one link read instead of all its descriptors'
  const ours = netnsOf(`${proc}/self`);
  const look = (pid: string): boolean => {
    const ns = ours === undefined ? undefined : netnsOf(`${proc}/${pid}`);
    if (ns !== undefined && ns !== ours) return false;
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${pid}/fd`);
    } catch {
      return false; // gone, or not ours to read
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`${proc}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!link.startsWith('socket:[')) continue;
      const inode = Number(link.slice(8, -1));
      if (wanted.has(inode) && !found.has(inode)) {
        found.set(inode, Number(pid));
        if (found.size === wanted.size) return true;
      }
    }
    return false;
  };
  for (const pid of first) if (look(String(pid))) return found;
  if (!full) return found;
  let pids: string[];
  try {
    // newest first: the process of a new connection is most often a new one (apt's methods, curl, a
    // job's worker), and a short one may exit while the walk reads the others
    pids = readdirSync(proc).filter((d) => /^\d+$/.test(d));
  } catch {
    return found;
  }
  // the last PID is read after the listing: every PID listed was handed out at or before it
  for (const pid of newestFirst(pids.map(Number), lastPid(proc))) if (look(String(pid))) return found;
  return found;
}

/** The PID the kernel handed out last (the fifth field of loadavg), or undefined. */
export function lastPid(proc = '/proc'): number | undefined {
  try {
    const last = Number(readFileSync(`${proc}/loadavg`, 'latin1').trim().split(' ')[4]);
    return Number.isInteger(last) && last > 0 ? last : undefined;
  } catch {
    return undefined;
  }
}

/**
 * PIDs, newest first. PIDs wrap (at 32,768 by default): the newest are those at or below the last one
 * handed out, highest first, then those above it, highest first. By number alone, a host whose PIDs
 * have wrapped would be read oldest first. Without the last PID, by number.
 */
export function newestFirst(pids: number[], last: number | undefined): number[] {
  const l = last ?? Infinity;
  return pids.sort((a, b) => Number(a > l) - Number(b > l) || b - a);
}

function netnsOf(dir: string): string | undefined {
  try {
    return readlinkSync(`${dir}/ns/net`);
  } catch {
    return undefined;
  }
}

const CONTAINER_ID = /([0-9a-f]{64})/;

/** The cgroup v2 path of a /proc/PID/cgroup text (its `0::` line), unless it is the root. */
export function cgroup2Path(text: string): string | undefined {
  const path = /^0::(.*)$/m.exec(text)?.[1];
  return path === '/' ? undefined : path;
}

/** The cgroup path that says what a process runs in: cgroup v2's, else v1's systemd hierarchy. */
export function cgroupPath(text: string): string {
  const v2 = cgroup2Path(text);
  if (v2 !== undefined) return v2;
  let v1 = '';
  let any = '';
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[2] === 'name=systemd') v1 = m[3];
    if (m[3] !== '/' && any === '') any = m[3];
  }
  return v1 !== '' && v1 !== '/' ? v1 : any;
}

/** What the cgroup says: a container ID (64 hex digits in the path) and the systemd service, if any. */
export function describeCgroup(text: string): { containerId?: string; unit?: string } {
  const path = cgroupPath(text);
  const out: { containerId?: string; unit?: string } = {};
  for (const line of text.split('\n')) {
    const m = CONTAINER_ID.exec(line);
    if (m) {
      out.containerId = m[1];
      break;
    }
  }
  const units = path.split('/').filter((c) => c.endsWith('.service'));
  if (units.length > 0) out.unit = units[units.length - 1];
  return out;
}

export interface ProcessInfo {
  comm: string;
  containerId?: string;
  unit?: string;
  /** Its cgroup v2 path (the `0::` line), when not the root: what a socket cgroup id of it names. */
  cgroup2?: string;
}

export function processInfo(pid: number, proc = '/proc'): ProcessInfo | undefined {
  try {
    const comm = readFileSync(`${proc}/${pid}/comm`, 'utf8').trim();
    let cgroup = '';
    try {
      cgroup = readFileSync(`${proc}/${pid}/cgroup`, 'utf8');
    } catch {
      // no cgroup file: name only
    }
    const v2 = cgroup2Path(cgroup);
    return { comm, ...describeCgroup(cgroup), ...(v2 ? { cgroup2: v2 } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * The owner of a process: the pod of its container when the API server
 * knows it, else its systemd service, else its name.
 */
export function ownerOf(p: ProcessInfo, podOfContainer: (id: string) => Owner | undefined): Owner {
  if (p.containerId) {
    const pod = podOfContainer(p.containerId);
    if (pod) return pod;
  }
  if (p.unit) return { kind: 'systemd_unit', namespace: '', name: p.unit };
  return { kind: 'process', namespace: '', name: p.comm };
}

/**
 * Why sockets of other processes cannot be named here, or undefined: not in the host's PID namespace
 * (a container without --pid host: PID 1 is this process or its init), or no right to read another
 * process's fd links (CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH).
 */
export function socketOwnersProblem(proc = '/proc', selfPid = process.pid): string | undefined {
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((d) => /^\d+$/.test(d) && Number(d) !== selfPid);
  } catch {
    return `${proc} cannot be read`;
  }
  if (pids.length < 3) return `only ${pids.length + 1} processes are visible in ${proc}: not in the host's PID namespace (containers: --pid host; Kubernetes: hostPID)`;
  let denied = 0;
  let read = 0;
  for (const pid of pids.slice(0, 64)) {
    try {
      for (const fd of readdirSync(`${proc}/${pid}/fd`).slice(0, 1)) readlinkSync(`${proc}/${pid}/fd/${fd}`);
      read++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EACCES' || (e as NodeJS.ErrnoException).code === 'EPERM') denied++;
    }
  }
  if (read === 0 && denied > 0) return `other processes' ${proc}/PID/fd cannot be read: the exporter needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (or root with both)`;
  return undefined;
}
