// `npm run bench`: throughput of `analyze` on a generated capture, next to tcpdump and tshark on the
// same file in the same run; garbage collections in the hot loop (the zero-allocation check); the hot
// loop with workload attribution off and on; peak RSS under a flood of distinct remotes and DNS names; and
// peak RSS on a 10 M-packet capture (memory must stay flat).
//   npm run bench                 # 1 M packets, plus the 10 M memory run
//   npm run bench -- --quick      # 1 M packets only
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inProcess, IP_RANGES, POD, TOPOLOGY, type Attributing } from './hot-loop.js';
import { ethernet, ipv4, ipv6, PcapWriter } from '../scripts/lib/frames.js';
import { makeFlood } from './flood.js';

/** Runs of a measurement: `n`, or fewer with BENCH_ROUNDS. */
function rounds(n: number): number {
  const most = Number(process.env.BENCH_ROUNDS ?? 0);
  return most > 0 ? Math.min(n, most) : n;
}

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench-out');
// BENCH_PACKETS: a smaller capture, for a quick check that the benchmark still runs (the test suite's);
// BENCH_ROUNDS: at most this many runs of each interleaved measurement (the test suite's 1: it checks
// that every table prints, not what it says)
const PACKETS = Number(process.env.BENCH_PACKETS ?? 1_000_000);
const CLI = join(ROOT, 'dist', 'cli.js');
const SNAPLEN = 128;

let seed = 42;
const rand = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
};
const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
const octet = (): number => 1 + Math.floor(rand() * 250);

/** 4096 distinct frames over every category, IPv4 and IPv6, sizes from ACKs to jumbo frames. */
function templates(): Buffer[] {
  const local4 = '172.31.51.15';
  const local6 = '2600:1f18:1234:5600::15';
  const remotes4: (() => string)[] = [
    () => `172.31.${48 + Math.floor(rand() * 16)}.${octet()}`, // same_az
    () => `172.31.${16 + Math.floor(rand() * 16)}.${octet()}`, // cross_az
    () => `54.144.${octet()}.${octet()}`, // EC2 us-east-1: regional_public
    () => `52.216.${octet()}.${octet()}`, // S3
    () => `52.48.${octet()}.${octet()}`, // eu-west-1
    () => `${140 + Math.floor(rand() * 20)}.${octet()}.${octet()}.${octet()}`, // internet
    () => `10.200.${octet()}.${octet()}`, // unclassified
  ];
  const sizes = [40, 52, 52, 576, 1500, 1500, 1500, 9001];
  const out: Buffer[] = [];
  for (let i = 0; i < 4096; i++) {
    const size = pick(sizes);
    const egress = rand() < 0.5;
    const port = pick([443, 80, 5432, 9092, 6379]);
    const eph = 32768 + Math.floor(rand() * 28000);
    const v6 = rand() < 0.2;
    const remote = v6 ? `2600:1f18:1234:${pick(['5600', '5700'])}::${octet().toString(16)}` : pick(remotes4)();
    const local = v6 ? local6 : local4;
    const l4 = { proto: 6, sport: egress ? eph : port, dport: egress ? port : eph, payloadLen: Math.max(0, size - (v6 ? 60 : 40)) };
    const [src, dst] = egress ? [local, remote] : [remote, local];
    out.push(ethernet(v6 ? ipv6({ src, dst, l4 }) : ipv4({ src, dst, l4 })));
  }
  return out;
}

function makeCapture(path: string, packets: number): void {
  if (existsSync(path)) return;
  const t = templates();
  const w = new PcapWriter(path, 1, SNAPLEN);
  const start = 1_767_225_600;
  for (let i = 0; i < packets; i++) w.write({ ts: start + i * 1e-5, frame: t[Math.floor(rand() * t.length)] });
  w.close();
}

function timed(cmd: string, args: string[]): { seconds: number; maxRssMb: number; stdout: string } {
  // python's getrusage gives the child's peak RSS, which Node does not report
  const py = `import resource,subprocess,sys,time
t=time.perf_counter(); r=subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL); s=time.perf_counter()-t
sys.stdout.write(f"{s} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} {r.returncode}\\n"); sys.stdout.write(r.stdout.decode(errors='replace'))`;
  const out = execFileSync('python3', ['-c', py, cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const [head, ...rest] = out.split('\n');
  const [s, rss, rc] = head.split(' ').map(Number);
  if (rc !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${rc}`);
  return { seconds: s, maxRssMb: rss / 1024, stdout: rest.join('\n') };
}

function best<T extends { seconds: number }>(runs: number, f: () => T): T {
  let b: T | undefined;
  for (let i = 0; i < runs; i++) {
    const r = f();
    if (!b || r.seconds < b.seconds) b = r;
  }
  return b!;
}

const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  mkdirSync(OUT, { recursive: true });
  const file1 = join(OUT, PACKETS === 1_000_000 ? 'bench-1m.pcap' : `bench-${PACKETS}.pcap`);
  console.log(`generating ${file1} (${fmt(PACKETS)} packets, snaplen ${SNAPLEN}) …`);
  makeCapture(file1, PACKETS);
  const mb = statSync(file1).size / 1e6;
  // the compiled-topology cache of this run's own (a user's second and later runs hit theirs)
  const cacheDir = join(OUT, 'cache');
  const args = ['analyze', file1, '--topology.file', TOPOLOGY, '--ip-ranges.file', IP_RANGES, '--format', 'json', '--cache.dir', cacheDir];

  const ours = best(3, () => timed('node', [CLI, ...args]));
  // fixed start-up (imports, loading the topology and ip-ranges): analyze on one packet, against Node's
  // own start (`node -e 0`), with the compiled topology cached and without the cache; interleaved
  const file0 = join(OUT, 'bench-1.pcap');
  makeCapture(file0, 1);
  const startupRuns: Record<'node' | 'cached' | 'compiling', number[]> = { node: [], cached: [], compiling: [] };
  for (let i = 0; i < rounds(11); i++) {
    startupRuns.node.push(timed('node', ['-e', '0']).seconds);
    startupRuns.cached.push(timed('node', [CLI, 'analyze', file0, ...args.slice(2)]).seconds);
    startupRuns.compiling.push(timed('node', [CLI, 'analyze', file0, ...args.slice(2, -2), '--cache.dir', 'none']).seconds);
  }
  // reading and counting alone, as analyze itself times it (debug log), best of 3
  let streaming = 0;
  for (let i = 0; i < rounds(3); i++) {
    const r = spawnSync('node', [CLI, ...args, '--log.level', 'debug', '--log.format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const line = r.stderr.split('\n').find((l) => l.includes('frames_per_second'));
    if (line) streaming = Math.max(streaming, (JSON.parse(line) as { frames_per_second: number }).frames_per_second);
  }
  const report = JSON.parse(ours.stdout.slice(ours.stdout.indexOf('{'))) as { categories: { packets: number }[] };
  const counted = report.categories?.reduce((s, c) => s + c.packets, 0);
  const tcpdump = best(3, () => timed('tcpdump', ['-r', file1, '-w', '/dev/null']));
  const tshark = best(1, () => timed('tshark', ['-q', '-z', 'conv,ip', '-r', file1]));
  const hot = inProcess(file1);
  // attribution on and off, interleaved (5 rounds, median), so that a busy machine does not favour one
  const attributionRuns: Record<Attributing, number[]> = { off: [], pods: [], processes: [] };
  for (let i = 0; i < rounds(7); i++) for (const mode of ['off', 'pods', 'processes'] as const) attributionRuns[mode].push(inProcess(file1, mode).pps);
  const podsFile = join(OUT, 'bench-pods.json');
  writeFileSync(
    podsFile,
    JSON.stringify({
      kind: 'List',
      items: [{ metadata: { name: POD.name, namespace: 'shop', labels: { 'pod-template-hash': '7d4b9c' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d4b9c', controller: true }] }, status: { hostIP: POD.hostIp, podIP: POD.ips[0] } }],
    }),
  );
  const wholeRuns: { off: number[]; pods: number[] } = { off: [], pods: [] };
  for (let i = 0; i < rounds(5); i++) {
    wholeRuns.off.push(timed('node', [CLI, ...args]).seconds);
    wholeRuns.pods.push(timed('node', [CLI, ...args, '--pods', podsFile]).seconds);
  }

  const rows: [string, number, number][] = [
    ['az-traffic-exporter analyze (whole command)', ours.seconds, ours.maxRssMb],
    ['tcpdump -r FILE -w /dev/null', tcpdump.seconds, tcpdump.maxRssMb],
    ['tshark -q -z conv,ip -r FILE', tshark.seconds, tshark.maxRssMb],
  ];
  console.log(`\nfile: ${fmt(PACKETS)} packets, ${fmt(mb, 1)} MB; ip-ranges: ${IP_RANGES.includes('shared') ? "AWS's real file" : 'demo fixture'}; node ${process.version}`);
  console.log(`analyze counted ${counted === undefined ? '?' : fmt(counted)} IP packets\n`);
  console.log('| command | seconds | packets/s | MB/s | peak RSS MB | vs analyze |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, s, rss] of rows) {
    console.log(`| ${name} | ${s.toFixed(3)} | ${fmt(PACKETS / s)} | ${fmt(mb / s)} | ${fmt(rss)} | ${(s / ours.seconds).toFixed(2)}× |`);
  }
  console.log(`\nreading and counting (timed inside analyze): ${fmt(streaming)} packets/s, ${fmt((streaming * mb) / PACKETS)} MB/s`);
  const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  console.log('\nstart-up: analyze of a one-packet capture with the real ip-ranges.json, interleaved, 11 runs each:');
  console.log('| start | median ms | best ms | above node -e 0 (median) ms |');
  console.log('|---|---:|---:|---:|');
  const base = median(startupRuns.node);
  for (const [name, runs] of [
    ['node -e 0', startupRuns.node],
    ['analyze, compiled topology cached', startupRuns.cached],
    ['analyze, --cache.dir none (compiles)', startupRuns.compiling],
  ] as const) {
    console.log(`| ${name} | ${(1000 * median(runs)).toFixed(0)} | ${(1000 * Math.min(...runs)).toFixed(0)} | ${(1000 * (median(runs) - base)).toFixed(0)} |`);
  }
  console.log(
    `hot loop in process (decode → classify → aggregate, ${fmt(hot.packets)} packets): ${fmt(hot.pps)} packets/s, ` +
      `${hot.gcs} garbage collections, heap growth ${fmt(hot.heapGrowthKb)} KiB`,
  );

  console.log('\nworkload attribution, interleaved: hot loop 7 runs each, whole analyze 5 runs each (median; best):');
  console.log('| attribution | hot loop packets/s | vs off | whole analyze s |');
  console.log('|---|---:|---:|---:|');
  const pct = (a: number, b: number): string => `${((100 * (a - b)) / b).toFixed(1)}%`;
  for (const mode of ['off', 'pods', 'processes'] as const) {
    const r = attributionRuns[mode];
    const off = attributionRuns.off;
    const whole = mode === 'off' ? wholeRuns.off : mode === 'pods' ? wholeRuns.pods : undefined;
    console.log(
      `| ${mode} | ${fmt(median(r))}; ${fmt(Math.max(...r))} | ${pct(median(r), median(off))}; ${pct(Math.max(...r), Math.max(...off))} | ${whole === undefined ? '(serve only)' : `${median(whole).toFixed(3)}; ${Math.min(...whole).toFixed(3)}`} |`,
    );
  }

  // memory under a flood of distinct remotes and DNS names (FLOOD_REMOTES, FLOOD_NAMES: smaller floods)
  const floodRemotes = Number(process.env.FLOOD_REMOTES ?? 1_000_000);
  const floodNames = Number(process.env.FLOOD_NAMES ?? 200_000);
  const floodFile = join(OUT, `flood-${floodRemotes}-${floodNames}.pcap`);
  makeFlood(floodFile, floodRemotes, floodNames);

  // BASELINE_CLI=/path/to/an/older/dist/cli.js: the same measures of another build, interleaved with
  // this one's in the same run, so that a change can be shown not to slow analyze down
  // BASELINE_TOPOLOGY: the topology file for that build, where it predates keys of today's
  const baseline = process.env.BASELINE_CLI;
  if (baseline) {
    // a build before the compiled-topology cache has no --cache.dir
    const caches = spawnSync('node', [baseline, 'analyze', '--help'], { encoding: 'utf8' }).stdout.includes('--cache.dir');
    const baseArgs = ['analyze', file1, '--topology.file', process.env.BASELINE_TOPOLOGY ?? TOPOLOGY, '--ip-ranges.file', IP_RANGES, '--format', 'json', ...(caches ? ['--cache.dir', cacheDir] : [])];
    const argsOf = (cli: string): string[] => (cli === CLI ? args : baseArgs);
    const rate = (cli: string): number => {
      const r = spawnSync('node', [cli, ...argsOf(cli), '--log.level', 'debug', '--log.format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
      const line = r.stderr.split('\n').find((l) => l.includes('frames_per_second'));
      return line ? (JSON.parse(line) as { frames_per_second: number }).frames_per_second : NaN;
    };
    const runs: Record<'this' | 'baseline', { whole: number[]; rate: number[]; startup: number[] }> = { this: { whole: [], rate: [], startup: [] }, baseline: { whole: [], rate: [], startup: [] } };
    for (let i = 0; i < rounds(5); i++) {
      for (const [which, cli] of [['baseline', baseline], ['this', CLI]] as const) {
        runs[which].whole.push(timed('node', [cli, ...argsOf(cli)]).seconds);
        runs[which].rate.push(rate(cli));
        runs[which].startup.push(timed('node', [cli, 'analyze', file0, ...argsOf(cli).slice(2)]).seconds);
      }
    }
    const floodRss = (cli: string): number => timed('node', [cli, 'analyze', floodFile, ...argsOf(cli).slice(2)]).maxRssMb;
    console.log('\nthis build against BASELINE_CLI, interleaved, 5 runs each (median; best), and peak RSS on the flood below:');
    console.log('| build | whole command s | reading and counting packets/s | start-up s (one packet) | flood peak RSS MB |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [which, cli] of [['baseline', baseline], ['this', CLI]] as const) {
      const r = runs[which];
      console.log(
        `| ${which} | ${median(r.whole).toFixed(3)}; ${Math.min(...r.whole).toFixed(3)} | ${fmt(median(r.rate))}; ${fmt(Math.max(...r.rate))} | ` +
          `${median(r.startup).toFixed(3)}; ${Math.min(...r.startup).toFixed(3)} | ${fmt(floodRss(cli))} |`,
      );
    }
  }

  const flood = timed('node', [CLI, 'analyze', floodFile, ...args.slice(2)]);
  const floodReport = JSON.parse(flood.stdout.slice(flood.stdout.indexOf('{'))) as { remotes_folded: { remotes: number } };
  console.log(
    `\nflood of ${fmt(floodRemotes)} distinct remotes and ${fmt(floodNames)} DNS names (${fmt(statSync(floodFile).size / 1e6)} MB): ` +
      `peak RSS ${fmt(flood.maxRssMb)} MB, ${flood.seconds.toFixed(2)} s, ${fmt(floodReport.remotes_folded.remotes)} remote entries folded into "other"`,
  );

  if (!quick) {
    const file10 = join(OUT, 'bench-10m.pcap');
    console.log(`\ngenerating ${file10} (10,000,000 packets) …`);
    makeCapture(file10, 10_000_000);
    // the first read of a fresh 1.2 GB file comes from the disk: best of 3, interleaved with tcpdump's
    // and with the same analyze in one thread (--read.parallel off; auto reads this file in two)
    const args10 = ['analyze', file10, ...args.slice(2)];
    let big = timed('node', [CLI, ...args10]);
    let single = timed('node', [CLI, ...args10, '--read.parallel', 'off']);
    let dump10 = timed('tcpdump', ['-r', file10, '-w', '/dev/null']);
    for (let i = 0; i < 2; i++) {
      const a = timed('node', [CLI, ...args10]);
      if (a.seconds < big.seconds) big = a;
      const s1 = timed('node', [CLI, ...args10, '--read.parallel', 'off']);
      if (s1.seconds < single.seconds) single = s1;
      const d = timed('tcpdump', ['-r', file10, '-w', '/dev/null']);
      if (d.seconds < dump10.seconds) dump10 = d;
    }
    const same = big.stdout.replace(/"lastSuccess": [0-9.]+/g, '') === single.stdout.replace(/"lastSuccess": [0-9.]+/g, '');
    console.log(`\n10 M packets (${fmt(statSync(file10).size / 1e6)} MB), best of 3, interleaved:`);
    console.log('| command | seconds | packets/s | peak RSS MB | vs tcpdump |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [name, r] of [
      ['analyze (two threads: --read.parallel auto)', big],
      ['analyze --read.parallel off', single],
      ['tcpdump -r FILE -w /dev/null', dump10],
    ] as const) {
      console.log(`| ${name} | ${r.seconds.toFixed(2)} | ${fmt(1e7 / r.seconds)} | ${fmt(r.maxRssMb)} | ${(r.seconds / dump10.seconds).toFixed(2)}× |`);
    }
    console.log(`two threads and one give the same report: ${same ? 'yes' : 'NO'}`);
  }
  const sys = spawnSync('nproc', { encoding: 'utf8' }).stdout.trim();
  console.log(`\nmachine: ${sys} cores`);
}

await main();
