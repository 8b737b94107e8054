// Network namespaces for capture tests: every address lives inside namespaces (or on a veth) that the
// test creates, and all of it is removed afterwards, even when a test fails.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function ip(...args: string[]): void {
  sh('ip', args);
}

export function canUseNetns(): boolean {
  try {
    const probe = `azt-probe-${process.pid}`;
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return true;
  } catch {
    return false;
  }
}

export class Lab {
  readonly namespaces: string[] = [];
  readonly hostLinks: string[] = [];
  readonly children: ChildProcess[] = [];

  constructor(readonly id: string) {}

  ns(name: string): string {
    const full = `azt-${name}-${this.id}`;
    try {
      ip('netns', 'del', full); // a leftover of an aborted run
    } catch {
      // none
    }
    ip('netns', 'add', full);
    ip('-n', full, 'link', 'set', 'lo', 'up');
    this.namespaces.push(full);
    return full;
  }

  /** A veth pair: `a` in namespace nsA (or the host when undefined), `b` in nsB. */
  veth(a: string, nsA: string | undefined, b: string, nsB: string): void {
    ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    if (nsA) ip('link', 'set', a, 'netns', nsA);
    else this.hostLinks.push(a);
    ip('link', 'set', b, 'netns', nsB);
    ip(...(nsA ? ['-n', nsA] : []), 'link', 'set', a, 'up');
    ip('-n', nsB, 'link', 'set', b, 'up');
  }

  /** A host and a remote on a veth (h0 ↔ s0), each with a route to the other's address only. */
  hostAndRemote(host: string, hostIp: string, remote: string, remoteIp: string): void {
    this.veth('h0', host, 's0', remote);
    ip('-n', host, 'addr', 'add', `${hostIp}/24`, 'dev', 'h0');
    ip('-n', remote, 'addr', 'add', `${remoteIp}/32`, 'dev', 's0');
    ip('-n', host, 'route', 'add', remoteIp, 'dev', 'h0');
    ip('-n', remote, 'route', 'add', `${hostIp}/32`, 'dev', 's0');
  }

  /**
   * A pod as the VPC CNI plumbs it: `eth0` in its namespace (made under a temporary name: the host may
   * have an eth0), its address as a /32, a default route through the link-local gateway whose
   * neighbour is the node's end of the veth (`nodeLink`), and the node's /32 route back to it.
   */
  pod(node: string, nodeLink: string, pod: string, podIp: string): void {
    const temp = `pe${this.id}`;
    this.veth(nodeLink, node, temp, pod);
    ip('-n', pod, 'link', 'set', temp, 'down');
    ip('-n', pod, 'link', 'set', temp, 'name', 'eth0');
    ip('-n', pod, 'link', 'set', 'eth0', 'up');
    ip('-n', pod, 'addr', 'add', `${podIp}/32`, 'dev', 'eth0');
    ip('-n', pod, 'route', 'add', '169.254.1.1', 'dev', 'eth0', 'scope', 'link');
    ip('-n', pod, 'route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0');
    const mac = this.exec(node, 'cat', [`/sys/class/net/${nodeLink}/address`]).trim();
    ip('-n', pod, 'neigh', 'add', '169.254.1.1', 'lladdr', mac, 'dev', 'eth0', 'nud', 'permanent');
    ip('-n', node, 'route', 'add', `${podIp}/32`, 'dev', nodeLink, 'scope', 'link');
  }

  exec(ns: string, cmd: string, args: string[]): string {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
  }

  spawn(ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const c = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.children.push(c);
    return c;
  }

  cleanup(): void {
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const l of this.hostLinks) {
      try {
        ip('link', 'del', l);
      } catch {
        // gone with its namespace
      }
    }
    for (const n of this.namespaces) {
      try {
        ip('netns', 'del', n);
      } catch {
        // already gone
      }
    }
  }
}

/** Resolve with the first match of `pattern` in the child's stderr+stdout, or reject after `ms`. */
export function waitForOutput(c: ChildProcess, pattern: RegExp, ms = 15_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${seen}`)), ms);
    const on = (d: Buffer): void => {
      seen += d.toString();
      const m = pattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    c.stdout?.on('data', on);
    c.stderr?.on('data', on);
    c.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ${pattern}; output:\n${seen}`));
    });
  });
}

export async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000, every = 250): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out: ${what}${last ? ` (${String(last)})` : ''}`);
}

/** Parse a Prometheus text exposition into name{labels} → value. */
export function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}
