// The sockets of a host as `ss -tunapH --cgroup` prints them, taken beside a capture: who held each
// flow's socket when the capture was made. The demo's bundled capture comes with one, so that its page
// shows the workloads (apt-daily.service pulling from the mirror) the live exporter finds in /proc.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { parseCidr, wordsToBigInt } from '../net/ip.js';
import { describeCgroup, type Owner, type SocketKey } from './sockets.js';

interface Entry {
  proto: number;
  local: string;
  remote: string | undefined;
  owner: Owner;
}

/** "10.0.0.5:443", "[2600::15]:443", "*:123", "0.0.0.0:123", "10.0.0.5%eth0:68" → its address and port. */
function endpoint(text: string): { addr: string; port: number } | undefined {
  const m = /^\[?([^\]%]*?)(?:%[^\]:]+)?\]?:(\d+|\*)$/.exec(text);
  if (!m) return undefined;
  const port = m[2] === '*' ? 0 : Number(m[2]);
  const addr = m[1] === '*' || m[1] === '' ? '' : m[1].replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return { addr, port };
}

function addrKey(addr: string): string {
  if (addr === '' || addr === '0.0.0.0' || addr === '::') return '*';
  try {
    return String(parseCidr(addr).start);
  } catch {
    return addr;
  }
}

/** The sockets of `ss -tunapH --cgroup` output: each flow's owner by its 5-tuple, else by its local port. */
export class SocketList {
  private readonly exact = new Map<string, Owner>();
  private readonly bound = new Map<string, Owner>();

  constructor(entries: readonly Entry[]) {
    for (const e of entries) {
      if (e.remote !== undefined) this.exact.set(`${e.proto}|${e.local}|${e.remote}`, e.owner);
      else this.bound.set(`${e.proto}|${e.local}`, e.owner);
    }
  }

  get size(): number {
    return this.exact.size + this.bound.size;
  }

  ownerOf(k: SocketKey): Owner | undefined {
    const local = `${wordsKey(k.local, k.family)}:${k.localPort}`;
    return (
      this.exact.get(`${k.proto}|${local}|${wordsKey(k.remote, k.family)}:${k.remotePort}`) ??
      this.bound.get(`${k.proto}|${local}`) ??
      this.bound.get(`${k.proto}|*:${k.localPort}`)
    );
  }
}

/** A flow's address as addrKey keys the text ss prints. */
function wordsKey(w: ArrayLike<number>, family: 4 | 6): string {
  const v = wordsToBigInt(w, family);
  return v === 0n ? '*' : String(v);
}

/** Lines of `ss -tunapH --cgroup` (with or without its header); a line that is no socket is an error. */
export function parseSocketList(text: string, name = 'sockets'): SocketList {
  const entries: Entry[] = [];
  text.split('\n').forEach((line, i) => {
    const f = line.trim().split(/\s+/);
    if (f.length < 2 || f[0] === 'Netid' || f[0] === '') return;
    const proto = f[0] === 'tcp' ? 6 : f[0] === 'udp' ? 17 : undefined;
    if (proto === undefined) {
      if (/^(raw|p_raw|p_dgr|u_\w+|nl|mptcp|sctp|tipc|xdp|v_\w+|icmp6?)$/.test(f[0])) return; // not a flow's socket
      throw new ConfigError(`${name}:${i + 1}: not a line of \`ss -tunapH --cgroup\`: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const local = endpoint(f[4] ?? '');
    const peer = endpoint(f[5] ?? '');
    if (!local || !peer) throw new ConfigError(`${name}:${i + 1}: no local and peer address: ${JSON.stringify(line.slice(0, 80))}`);
    const users = /users:\(\("((?:[^"\\]|\\.)*)",pid=(\d+)/.exec(line);
    const cgroup = /cgroup:(\S+)/.exec(line);
    if (!users && !cgroup) return; // nobody holds it (TIME_WAIT) or ss could not see whose
    const c = cgroup ? describeCgroup(`0::${cgroup[1]}`) : {};
    const owner: Owner = c.unit ? { kind: 'systemd_unit', namespace: '', name: c.unit } : { kind: 'process', namespace: '', name: users ? users[1] : (cgroup?.[1] ?? '') };
    const listening = f[1] === 'LISTEN' || f[1] === 'UNCONN' || peer.port === 0;
    entries.push({ proto, local: `${addrKey(local.addr)}:${local.port}`, remote: listening ? undefined : `${addrKey(peer.addr)}:${peer.port}`, owner });
  });
  return new SocketList(entries);
}

export function readSocketList(file: string): SocketList {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`${file}: ${(e as Error).message}`);
  }
  return parseSocketList(text, file);
}
