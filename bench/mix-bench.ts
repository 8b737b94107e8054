// `npm run bench:mix`: the realistic mix (bench/mix.ts: IPv4 and IPv6, TCP and UDP, ~2,900 remotes,
// 17% DNS, new connections) against tcpdump on the same file, whole command and reading alone,
// interleaved; the friendly capture of `npm run bench` as a second row; in process, µs per packet of
// the mix, of the mix without DNS, at 64, 512 and 1,500-byte frames, and what 10k new connections a
// second cost with attribution on.
//   npm run bench:mix                     # 1 M packets, 5 interleaved rounds
//   BENCH_PACKETS=100000 BENCH_ROUNDS=1 npm run bench:mix   # a quick check that it runs
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inProcess, IP_RANGES, TOPOLOGY, type Attributing } from './hot-loop.js';
import { makeMix, type MixOptions } from './mix.js';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench-out');
const CLI = join(ROOT, 'dist', 'cli.js');
const PACKETS = Number(process.env.BENCH_PACKETS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function capture(name: string, packets: number, o: MixOptions = {}): string {
  mkdirSync(OUT, { recursive: true });
  const f = join(OUT, `mix-${name}-${packets}.pcap`);
  if (!existsSync(f)) makeMix(f, packets, o);
  return f;
}

function seconds(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  execFileSync(cmd, args, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Reading and counting alone, as analyze times it itself (debug log). */
function counting(file: string): number {
  const r = spawnSync('node', [CLI, ...analyzeArgs(file), '--log.level', 'debug', '--log.format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = r.stderr.split('\n').find((l) => l.includes('frames_per_second'));
  return line ? (JSON.parse(line) as { frames_per_second: number }).frames_per_second : NaN;
}

const analyzeArgs = (file: string): string[] => ['analyze', file, '--topology.file', TOPOLOGY, '--ip-ranges.file', IP_RANGES, '--format', 'json', '--cache.dir', join(OUT, 'cache')];

function hot(file: string, attributing: Attributing = 'off'): number {
  const runs: number[] = [];
  for (let i = 0; i < Math.max(1, Math.min(ROUNDS, 3)); i++) runs.push(inProcess(file, attributing).pps);
  return Math.max(...runs);
}

async function main(): Promise<void> {
  const mix = capture('realistic', PACKETS);
  const friendly = join(OUT, PACKETS === 1_000_000 ? 'bench-1m.pcap' : `bench-${PACKETS}.pcap`);
  const rows: [string, string][] = [['realistic mix', mix]];
  if (existsSync(friendly)) rows.push(['friendly capture (npm run bench)', friendly]);
  // the compiled topology cached first, as for every run after a user's first
  seconds('node', [CLI, ...analyzeArgs(mix)]);
  const runs = new Map<string, { analyze: number[]; tcpdump: number[]; counting: number[] }>();
  for (const [name] of rows) runs.set(name, { analyze: [], tcpdump: [], counting: [] });
  const node0: number[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    node0.push(seconds('node', ['-e', '0']));
    for (const [name, file] of rows) {
      const r = runs.get(name)!;
      r.tcpdump.push(seconds('tcpdump', ['-r', file, '-w', '/dev/null']));
      r.analyze.push(seconds('node', [CLI, ...analyzeArgs(file)]));
      r.counting.push(counting(file));
    }
  }
  console.log(`\n${fmt(PACKETS)} packets each, ${ROUNDS} interleaved rounds (median; best); node ${process.version}; node -e 0: ${(1000 * median(node0)).toFixed(0)} ms\n`);
  console.log('| capture | MB | analyze s | tcpdump -r FILE -w /dev/null s | analyze ÷ tcpdump | reading and counting packets/s (inside analyze) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, file] of rows) {
    const r = runs.get(name)!;
    console.log(
      `| ${name} | ${fmt(statSync(file).size / 1e6, 1)} | ${median(r.analyze).toFixed(3)}; ${Math.min(...r.analyze).toFixed(3)} | ${median(r.tcpdump).toFixed(3)}; ${Math.min(...r.tcpdump).toFixed(3)} | ` +
        `${(median(r.analyze) / median(r.tcpdump)).toFixed(2)}× | ${fmt(median(r.counting))}; ${fmt(Math.max(...r.counting))} |`,
    );
  }

  // in process: µs per packet (best of 3)
  const n = Math.min(PACKETS, 200_000);
  const cases: [string, string][] = [
    ['realistic mix (17% DNS)', capture('realistic', PACKETS)],
    ['the mix without DNS', capture('no-dns', n, { dnsShare: 0 })],
    ['the mix, DNS alone (every packet a question or its answer)', capture('dns-only', n, { dnsShare: 1, connectionsPerSecond: 0 })],
    ['64-byte frames', capture('64', n, { dnsShare: 0, connectionsPerSecond: 0, frameSize: 64 })],
    ['512-byte frames', capture('512', n, { dnsShare: 0, connectionsPerSecond: 0, frameSize: 512 })],
    ['1,500-byte frames', capture('1500', n, { dnsShare: 0, connectionsPerSecond: 0, frameSize: 1500 })],
  ];
  console.log('\nthe hot loop in process (decode → classify → aggregate, DNS learnt inline as analyze does), best of 3:');
  console.log('| capture | packets/s | µs per packet | % of a core per 100k packets/s |');
  console.log('|---|---:|---:|---:|');
  for (const [name, file] of cases) {
    const pps = hot(file);
    console.log(`| ${name} | ${fmt(pps)} | ${(1e6 / pps).toFixed(3)} | ${((100 * 100_000) / pps).toFixed(2)}% |`);
  }

  // new connections with attribution on (serve: processes by flow; every new flow enters the flow table)
  const calm = capture('conn-0', n, { dnsShare: 0, connectionsPerSecond: 0 });
  const busy = capture('conn-10k', n, { dnsShare: 0, connectionsPerSecond: 10_000 });
  const a = hot(calm, 'processes');
  const b = hot(busy, 'processes');
  // a second of capture is 100k packets: the extra time of the busy second is what 10k connections cost
  const extra = 100_000 / b - 100_000 / a;
  console.log(`\n10k new connections/s at 100k packets/s, attribution on (processes): ${fmt(a)} packets/s without them, ${fmt(b)} with; they cost ${(100 * extra).toFixed(2)}% of a core`);
  console.log(`\nmachine: ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores`);
}

await main();
