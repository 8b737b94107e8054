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
