// `npm run bench:live`: tcpreplay into a veth between two namespaces at increasing rates; the exporter
// and `tcpdump -w /dev/null` capture the receiving end at the same time. Reports, per rate, packets
// sent, captured by each, and the exporter's CPU. Needs root (namespaces), tcpreplay, tcpdump.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ethernet, ipv4, PcapWriter } from '../scripts/lib/frames.js';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench-out');
const CLI = join(ROOT, 'dist', 'cli.js');
const SRC = 'aztb-src';
const DST = 'aztb-dst';
const RATES = (process.env.RATES ?? '100000,200000,300000,400000,500000,700000').split(',').map(Number);
const SECONDS = 3;

const ip = (...a: string[]): string => execFileSync('ip', a, { encoding: 'utf8' });
const inNsQuiet = (ns: string, cmd: string, args: string[]): string =>
  execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const inNs = (ns: string, cmd: string, args: string[]): string => execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' });

function setUp(): void {
  tearDown();
  for (const ns of [SRC, DST]) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  ip('link', 'add', 'aztb-s0', 'type', 'veth', 'peer', 'name', 'aztb-d0');
  ip('link', 'set', 'aztb-s0', 'netns', SRC);
  ip('link', 'set', 'aztb-d0', 'netns', DST);
  ip('-n', SRC, 'link', 'set', 'aztb-s0', 'up');
  ip('-n', DST, 'link', 'set', 'aztb-d0', 'up');
  ip('-n', DST, 'addr', 'add', '172.31.51.15/20', 'dev', 'aztb-d0');
}

function tearDown(): void {
  for (const ns of [SRC, DST]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // not there
    }
  }
}

/** Whole frames (the wire length is the frame length): ACK-sized and 590-byte packets, both ways. */
function makeReplayFile(path: string, n: number): void {
  const frames = [];
  for (let i = 0; i < 256; i++) {
    const remote = `172.31.${16 + (i % 40)}.${1 + (i % 250)}`;
    const egress = i % 2 === 0;
    const l4 = { proto: 6, sport: egress ? 40000 + i : 5432, dport: egress ? 5432 : 40000 + i, payloadLen: i % 10 < 7 ? 0 : 536 };
    frames.push(ethernet(ipv4({ src: egress ? '172.31.51.15' : remote, dst: egress ? remote : '172.31.51.15', l4 })));
  }
  const w = new PcapWriter(path, 1);
  for (let i = 0; i < n; i++) w.write({ ts: i * 1e-6, frame: frames[i % frames.length] });
  w.close();
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

async function scrape(port: number): Promise<number> {
  const text = inNs(DST, process.execPath, ['-e', `fetch('http://127.0.0.1:${port}/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))`]);
  const m = /^aztraffic_capture_packets_total\{interface="aztb-d0"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

function waitFor(c: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${pattern}: ${seen}`)), 15_000);
    const on = (d: Buffer): void => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(t);
        resolve();
      }
    };
    c.stdout?.on('data', on);
    c.stderr?.on('data', on);
  });
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const maxPackets = Math.max(...RATES) * SECONDS;
  const file = join(OUT, 'replay.pcap');
  makeReplayFile(file, maxPackets);
  setUp();
  const port = 19977;
  const exporter = spawn('ip', ['netns', 'exec', DST, process.execPath, CLI, '--interface', 'aztb-d0', '--web.listen-address', `127.0.0.1:${port}`, '--web.shutdown-grace', '0', '--capture.dns', 'false', ...(process.env.BUFFER ? ['--capture.buffer-bytes', process.env.BUFFER] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await waitFor(exporter, /serving metrics/);
    console.log(`replaying ${SECONDS} s per rate into a veth; exporter (snaplen 192, 64 MiB buffer) and tcpdump -w /dev/null capture the far end\n`);
    console.log('| target packets/s | sent | exporter captured | exporter lost | exporter CPU % | tcpdump captured | tcpdump dropped by kernel |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|');
    // warm the exporter's JIT up first, as a long-running exporter is; not reported
    inNsQuiet(SRC, 'tcpreplay', ['-i', 'aztb-s0', '--pps=50000', '--limit=100000', '--preload-pcap', file]);
    await new Promise((r) => setTimeout(r, 1000));
    for (const rate of [...RATES, 0]) {
      const n = (rate || Math.max(...RATES)) * SECONDS;
      // NO_TCPDUMP=1: the exporter alone, so that the sender is not slowed by a second capture
      const td = spawn('ip', ['netns', 'exec', DST, ...(process.env.NO_TCPDUMP ? ['sleep', '3600'] : ['tcpdump', '-i', 'aztb-d0', '-n', '-B', '65536', '-w', '/dev/null'])], { stdio: ['ignore', 'pipe', 'pipe'] });
      if (!process.env.NO_TCPDUMP) await waitFor(td, /listening on/);
      const before = await scrape(port);
      const cpu0 = cpuSeconds(exporter.pid!);
      const t0 = Date.now();
      const speed = rate ? `--pps=${rate}` : '--topspeed';
      const out = inNsQuiet(SRC, 'tcpreplay', ['-i', 'aztb-s0', speed, `--limit=${n}`, '--preload-pcap', file]);
      const wall = (Date.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 1000));
      const cpu = cpuSeconds(exporter.pid!) - cpu0;
      const after = await scrape(port);
      td.kill('SIGINT');
      const tdOut = await new Promise<string>((resolve) => {
        let s = '';
        td.stderr.on('data', (d: Buffer) => (s += d.toString()));
        td.on('exit', () => resolve(s));
      });
      const sent = Number(/Actual: (\d+) packets/.exec(out)?.[1] ?? n);
      const actualRate = Number(/Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps/.exec(out)?.[1] ?? 0);
      const captured = after - before;
      const tdCaptured = Number(/(\d+) packets captured/.exec(tdOut)?.[1] ?? 0);
      const tdDropped = Number(/(\d+) packets dropped by kernel/.exec(tdOut)?.[1] ?? 0);
      console.log(
        `| ${rate ? rate.toLocaleString('en-US') : 'top speed'} (actual ${Math.round(actualRate).toLocaleString('en-US')}) | ${sent.toLocaleString('en-US')} | ${captured.toLocaleString('en-US')} | ${(sent - captured).toLocaleString('en-US')} | ${Math.round((100 * cpu) / wall)} | ${tdCaptured.toLocaleString('en-US')} | ${tdDropped.toLocaleString('en-US')} |`,
      );
    }
  } finally {
    exporter.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    tearDown();
  }
}

await main();
