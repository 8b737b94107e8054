// `npm run bench:live` (root): trafgen (netsniff-ng) sends from one network namespace into a veth whose
// far end, in another, the exporter captures. For 64- and 1500-byte frames at increasing rates (and at
// the generator's top speed, with one generator process per core), it prints per rate: packets offered,
// received by the kernel (the interface's rx counter), counted by the exporter, lost, and the exporter's
// CPU, also per 100k packets/s; then the same for the realistic mix of bench/mix.ts (DNS learned) and for
// DNS alone (MIX_RATES); then /metrics latency under 50 concurrent scrapers while it captures
// 100k packets/s with every series family at its cap; then its memory under a flood of distinct remotes
// and DNS names; then a flood of garbage DNS answers beside ordinary traffic (coverage, health probes). Needs root, trafgen, iproute2. Namespaces are removed afterwards.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mixFrames, type MixOptions } from './mix.js';

const ROOT = join(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench-out');
const CLI = join(ROOT, 'dist', 'cli.js');
const SRC = 'aztb-src';
const DST = 'aztb-dst';
const DEV_SRC = 'aztb-s0';
const DEV_DST = 'aztb-d0';
const HOST = '172.31.51.15';
const RATES = (process.env.RATES ?? '50000,100000,200000,400000').split(',').map(Number);
const SIZES = (process.env.SIZES ?? '64,1500').split(',').filter(Boolean).map(Number);
const SECONDS = Number(process.env.SECONDS ?? 3);
const SETTLE_MS = 300;

const ip = (...a: string[]): string => execFileSync('ip', a, { encoding: 'utf8' });

function setUp(): void {
  tearDown();
  for (const ns of [SRC, DST]) {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  ip('link', 'add', DEV_SRC, 'type', 'veth', 'peer', 'name', DEV_DST);
  ip('link', 'set', DEV_SRC, 'netns', SRC);
  ip('link', 'set', DEV_DST, 'netns', DST);
  ip('-n', SRC, 'link', 'set', DEV_SRC, 'up');
  ip('-n', DST, 'link', 'set', DEV_DST, 'up');
  ip('-n', DST, 'addr', 'add', `${HOST}/20`, 'dev', DEV_DST);
}

function tearDown(): void {
  for (const ns of [SRC, DST]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}

/**
 * A trafgen configuration: Ethernet, IPv4 and TCP to this host from a remote of the VPC in another
 * zone (every packet is classified and counted), padded to `frameBytes` on the wire (without FCS).
 */
function trafgenConfig(frameBytes: number): string {
  const payload = Math.max(0, frameBytes - 14 - 20 - 20);
  return `{
  eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800),
  ipv4(saddr=172.31.16.1, daddr=${HOST}, ttl=64, id=dinc()),
  tcp(sp=5432, dp=40000, ack, win=65535),
  fill(0x00, ${payload})
}
`;
}

/** The exporter on the DST end of the veth, with `flags` after the common ones (a file given wins over the URL). */
function startExporter(port: number, flags: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const common = ['--interface', DEV_DST, '--web.listen-address', `127.0.0.1:${port}`, '--web.shutdown-grace', '0', '--aws.discovery', 'false', '--ip-ranges.url', 'none'];
  return spawn('ip', ['netns', 'exec', DST, process.execPath, CLI, ...common, ...flags], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
}

/**
 * The remotes of the scrape at the caps, 200 in each of: each zone's subnet of a 6-zone region (same_az
 * in d, the host's zone, away from the host and its pods; cross_az in the others), EC2 in the region,
 * S3, another region, CloudFront and the internet: 2,200 remotes, the remote series well past their cap
 * (a flood of distinct remotes is measured apart, below).
 */
const ZONES = ['a', 'b', 'c', 'd', 'e', 'f'];
const CAPS_REMOTES: string[] = [...ZONES.map((_, z) => `172.31.${16 * z + 8}`), '54.144.7', '52.216.7', '52.48.7', '205.251.249', '198.18.7'];
const PODS = 150;

function capsTopology(): string {
  const subnets = ZONES.map((z, i) => `  - {cidr: 172.31.${16 * i}.0/20, zone: us-east-1${z}, zone_id: use1-az${i + 1}}`).join('\n');
  return `region: us-east-1\nlocal_ips: [${HOST}]\nsubnets:\n${subnets}\n`;
}

/** Both directions between a random pod and a random remote of every class: every category × zone pair. */
function capsConfig(): string {
  const pod = (f: string): string => `${f}=172.31.52.10, ${f}[3]=drnd(10, ${10 + PODS - 1})`;
  const remote = (f: string, net: string): string => `${f}=${net}.1, ${f}[3]=drnd(1, 200)`;
  const block = (src: string, dst: string): string =>
    `{\n  eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800),\n  ipv4(${src}, ${dst}, ttl=64),\n  tcp(sp=443, dp=40000, ack, win=65535),\n  fill(0x00, 200)\n}\n`;
  return CAPS_REMOTES.map((r) => block(remote('saddr', r), pod('daddr')) + block(pod('saddr'), remote('daddr', r))).join('');
}

/**
 * /metrics latency under SCRAPERS concurrent scrapers (autocannon, inside the exporter's namespace, for
 * SCRAPE_SECONDS) while trafgen sends 100k packets/s, every series family at its cap: the remote series
 * (100 and "other"), the workload series (150 pods of 150 Deployments, from a Kubernetes API server in
 * the real wire format: 100 and "other"), and every category × zone pair of a 6-zone region.
 */
async function scrapeAtCaps(): Promise<void> {
  const seconds = Number(process.env.SCRAPE_SECONDS ?? 10);
  const scrapers = Number(process.env.SCRAPERS ?? 50);
  const port = 19980;
  const rate = 100_000;
  const dir = join(OUT, 'caps');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'topology.yaml'), capsTopology());
  const kube = spawn('ip', ['netns', 'exec', DST, process.execPath, '--import', 'tsx', join(ROOT, 'bench', 'kube-in-netns.ts'), dir, String(PODS), 'bench-node', HOST], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exporterFlags = ['--topology.file', join(dir, 'topology.yaml'), '--ip-ranges.file', join(ROOT, 'demo', 'ip-ranges.json'), '--kubernetes.node-name', 'bench-node', '--capture.dns', 'false'];
  let exporter: ChildProcess | undefined;
  try {
    await waitFor(kube, /ready/);
    exporter = startExporter(port, exporterFlags, { KUBECONFIG: join(dir, 'kubeconfig') });
    await waitFor(exporter, /serving metrics/);
    for (let i = 0; i < 100 && metric(port, /^aztraffic_kubernetes_pods /) < PODS; i++) await new Promise((r) => setTimeout(r, 100));
    const cfg = join(OUT, 'trafgen-caps.cfg');
    writeFileSync(cfg, capsConfig());
    const n = rate * (2 * seconds + 6);
    const sender = spawn('ip', ['netns', 'exec', SRC, 'trafgen', '--dev', DEV_SRC, '--conf', cfg, '--num', String(n), '--cpus', '1', '--rate', `${rate}pps`, '--no-sock-mem'], { stdio: 'ignore' });
    const done = new Promise((r) => sender.on('exit', r));
    await new Promise((r) => setTimeout(r, 2500)); // a flush with every series there
    // as Prometheus scrapes (it asks for gzip), then without compression; after 2 s of the same load
    // unreported (the first of two runs otherwise also paid for the server warming up to the load)
    const runs = [
      { ask: 'warm-up', headers: { 'accept-encoding': 'gzip' }, duration: 2 },
      { ask: 'gzip (as Prometheus)', headers: { 'accept-encoding': 'gzip' }, duration: seconds },
      { ask: 'identity', headers: {}, duration: seconds },
    ].map(({ ask, headers, duration }) => {
      const script = `import autocannon from ${JSON.stringify(join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'))};
const r = await autocannon({ url: 'http://127.0.0.1:${port}/metrics', connections: ${scrapers}, duration: ${duration}, headers: ${JSON.stringify(headers)} });
process.stdout.write(JSON.stringify({ rps: r.requests.average, l: r.latency, errors: r.errors + r.non2xx }));`;
      const file = join(OUT, 'scrape-in-netns.mjs');
      writeFileSync(file, script);
      const r = spawnSync('ip', ['netns', 'exec', DST, process.execPath, file], { encoding: 'utf8' });
      return { ask, ...(JSON.parse(r.stdout) as { rps: number; l: { p50: number; p90: number; p99: number; max: number }; errors: number }) };
    });
    await done;
    const body = metricsText(port);
    const lines = body.split('\n');
    const count = (prefix: string): number => lines.filter((l) => l.startsWith(prefix)).length;
    console.log(
      `\n/metrics under ${scrapers} concurrent scrapers for ${seconds} s each way while capturing ${fmt(rate)} packets/s, every family at its cap ` +
        `(${count('aztraffic_remote_bytes_total{')} remote series, ${count('aztraffic_workload_bytes_total{')} workload series of ${PODS} pods, ` +
        `${count('aztraffic_bytes_total{')} direction × category × zone pair series; ${count('aztraffic_')} aztraffic_ series, ${fmt(body.length / 1024)} KiB, ` +
        `${fmt(gzipSync(body).length / 1024)} KiB gzipped):`,
    );
    console.log('| scrapers ask for | scrapes/s | p50 ms | p90 ms | p99 ms | max ms | errors |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const { ask, rps, l, errors } of runs.slice(1)) console.log(`| ${ask} | ${fmt(rps)} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} | ${errors} |`);
  } finally {
    exporter?.kill('SIGTERM');
    kube.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** rx_packets of the DST veth, read inside its namespace. */
function kernelRx(): number {
  const r = spawnSync('ip', ['netns', 'exec', DST, 'cat', `/sys/class/net/${DEV_DST}/statistics/rx_packets`], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

/** The exporter's /metrics, fetched inside its namespace. */
function metricsText(port: number): string {
  return spawnSync('ip', ['netns', 'exec', DST, process.execPath, '-e', `fetch('http://127.0.0.1:${port}/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))`], { encoding: 'utf8' }).stdout;
}

async function counted(port: number): Promise<number> {
  const m = new RegExp(`^aztraffic_capture_packets_total\\{interface="${DEV_DST}"\\} (\\d+)`, 'm').exec(metricsText(port));
  return m ? Number(m[1]) : NaN;
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

// Byte counters that trafgen advances in lockstep in the query and its answer (the same packet order
// each round): ranges of coprime sizes, so that together they repeat only after ~10^8 rounds.
const LOCKSTEP: [number, number][] = [
  [0x61, 0x7a], // a-z: 26
  [0x61, 0x79], // 25
  [0x61, 0x77], // 23
  [0x30, 0x39], // 0-9: 10 ... 21 would share 3 and 7; keep primes and prime powers
  [0x61, 0x73], // 19
  [0x61, 0x71], // 17
];
const lockstep = (): string => LOCKSTEP.map(([a, b]) => `dinc(${a}, ${b})`).join(', ');

/**
 * The flood: per round, a DNS query from this host and its answer, naming a new name (h + six lockstep
 * letters .flood.example) with a new address, then five TCP packets from random remotes. The exporter trusts the answer only
 * if it matches the query (port, id, name, server): unsolicited_dns counts the misses.
 */
function floodConfig(): string {
  const name = `0x07, 'h', ${lockstep()}, 0x05, 'f', 'l', 'o', 'o', 'd', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x00`;
  const header = (flags: string, answers: number): string => `dinc(0, 250), dinc(0, 240), ${flags}, 0x00, 0x01, 0x00, ${answers}, 0x00, 0x00, 0x00, 0x00`;
  const eth = 'eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800)';
  // five TCP packets per round from random remotes (a first octet of their own each): of 1 M, ~99.6% distinct
  const remotes = [11, 12, 13, 14, 15]
    .map((first) => `{\n  ${eth},\n  ipv4(saddr=${first}.0.0.0, saddr[1]=drnd(), saddr[2]=drnd(), saddr[3]=drnd(), daddr=${HOST}, ttl=64),\n  tcp(sp=443, dp=40000, ack, win=65535),\n  fill(0x00, 10)\n}\n`)
    .join('');
  return `{
  ${eth},
  ipv4(saddr=${HOST}, daddr=172.31.0.2, ttl=64),
  udp(sp=dinc(20000, 60000), dp=53),
  ${header('0x01, 0x00', 0)}, ${name}, 0x00, 0x01, 0x00, 0x01
}
{
  ${eth},
  ipv4(saddr=172.31.0.2, daddr=${HOST}, ttl=64),
  udp(sp=53, dp=dinc(20000, 60000)),
  ${header('0x81, 0x80', 1)}, ${name}, 0x00, 0x01, 0x00, 0x01,
  0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, dinc(101, 119), dinc(0, 25), dinc(0, 24), dinc(0, 22)
}
${remotes}`;
}

/** trafgen in SRC: `n` packets at `rate` packets/s (0: top speed on every core); the wall time it took. */
function send(cfg: string, n: number, rate: number): number {
  const procs = rate === 0 ? cpus().length : 1;
  const args = ['netns', 'exec', SRC, 'trafgen', '--dev', DEV_SRC, '--conf', cfg, '--num', String(n), '--cpus', String(procs), '--no-sock-mem'];
  if (rate > 0) args.push('--rate', `${rate}pps`);
  const t0 = Date.now();
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`trafgen failed: ${r.stderr}`);
  return (Date.now() - t0) / 1000;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** trafgen in SRC as a child process: resolves when it has sent its `n` packets at `rate` packets/s. */
function sendInBackground(cfg: string, n: number, rate: number): Promise<void> {
  const c = spawn('ip', ['netns', 'exec', SRC, 'trafgen', '--dev', DEV_SRC, '--conf', cfg, '--num', String(n), '--cpus', '1', '--no-sock-mem', '--rate', `${rate}pps`], { stdio: 'ignore' });
  return new Promise((resolve, reject) => c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`trafgen exit ${code}`)))));
}

/** Rate of the malformed-DNS flood (packets/s from port 53), its seconds, and the ordinary traffic beside it. */
const DNS_FLOOD_RATE = Number(process.env.DNS_FLOOD_RATE ?? 100_000);
const DNS_FLOOD_SECONDS = Number(process.env.DNS_FLOOD_SECONDS ?? 5);
const ORDINARY_RATE = 10_000;

/**
 * Garbage "answers" from the resolver's port 53 (the answer bit set, random ids, ports and bodies)
 * beside ordinary traffic: how much of all traffic the counting handle still counts, what became of the
 * garbage, and how /-/healthy answers meanwhile (probed every 100 ms inside the namespace).
 */
async function dnsFlood(port: number): Promise<void> {
  const garbage = join(OUT, 'trafgen-dns-garbage.cfg');
  writeFileSync(
    garbage,
    `{
  eth(da=02:00:00:00:00:02, sa=02:00:00:00:00:01, type=0x0800),
  ipv4(saddr=172.31.0.2, daddr=${HOST}, ttl=64),
  udp(sp=53, dp=drnd()),
  drnd(), drnd(), 0x81, 0x80, ${Array.from({ length: 96 }, () => 'drnd()').join(', ')}
}
`,
  );
  const ordinary = join(OUT, 'trafgen-64.cfg');
  writeFileSync(ordinary, trafgenConfig(64));
  const errors = (): number => metric(port, /^aztraffic_decode_errors_total\{reason="(unsolicited|malformed)_dns"\}/);
  const overBudget = (): number => metric(port, /^aztraffic_decode_errors_total\{reason="dns_over_budget"\}/);
  const [rx0, c0, e0, b0] = [kernelRx(), await counted(port), errors(), overBudget()];
  const probeMs = DNS_FLOOD_SECONDS * 1000 + 500;
  const probe = `const out=[];let failed=0;const end=Date.now()+${probeMs};
while(Date.now()<end){const t=performance.now();try{const r=await fetch('http://127.0.0.1:${port}/-/healthy',{signal:AbortSignal.timeout(1000)});await r.text();if(r.status!==200)failed++;}catch{failed++;}out.push(performance.now()-t);await new Promise(r=>setTimeout(r,100));}
out.sort((a,b)=>a-b);process.stdout.write(JSON.stringify({n:out.length,failed,p50:out[out.length>>1],max:out[out.length-1]}));`;
  const file = join(OUT, 'probe-in-netns.mjs');
  writeFileSync(file, probe);
  const prober = spawn('ip', ['netns', 'exec', DST, process.execPath, file], { stdio: ['ignore', 'pipe', 'ignore'] });
  let probed = '';
  prober.stdout.on('data', (d: Buffer) => (probed += d.toString()));
  const probedDone = new Promise((r) => prober.once('exit', r));
  await Promise.all([sendInBackground(garbage, DNS_FLOOD_RATE * DNS_FLOOD_SECONDS, DNS_FLOOD_RATE), sendInBackground(ordinary, ORDINARY_RATE * DNS_FLOOD_SECONDS, ORDINARY_RATE)]);
  await probedDone;
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const rx = kernelRx() - rx0;
  const got = (await counted(port)) - c0;
  const h = JSON.parse(probed || '{"n":0,"failed":0,"p50":0,"max":0}') as { n: number; failed: number; p50: number; max: number };
  console.log(
    `\nmalformed DNS flood, live: ${fmt(DNS_FLOOD_RATE)} garbage answers/s from port 53 beside ${fmt(ORDINARY_RATE)} ordinary packets/s for ${DNS_FLOOD_SECONDS} s: ` +
      `kernel received ${fmt(rx)}, counted ${fmt(got)} (coverage ${((100 * got) / rx).toFixed(2)}%); garbage counted as unsolicited or malformed: ${fmt(errors() - e0)}, ` +
      `over the DNS budget: ${fmt(overBudget() - b0)}; /-/healthy probes: ${h.n}, failed ${h.failed}, p50 ${h.p50.toFixed(1)} ms, max ${h.max.toFixed(1)} ms`,
  );
}

/** Rounds of the flood (each: a DNS exchange naming a new name, five packets from random remotes). */
const FLOOD_ROUNDS = Number(process.env.FLOOD_ROUNDS ?? 200_000);

/**
 * Peak and current resident memory of a process, MB, and how much of it is the capture rings: the
 * kernel's packet buffers mapped into the process (--capture.buffer-bytes, 64 MiB by default), resident
 * from the start and the same under any traffic.
 */
function rssOf(pid: number): { peak: number; now: number; rings: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  let rings = 0;
  let socket = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) socket = / socket:\[\d+\]$/.test(line);
    else if (socket && line.startsWith('Rss:')) rings += Number(/(\d+)/.exec(line)![1]);
  }
  return { peak: kb('VmHWM') / 1024, now: kb('VmRSS') / 1024, rings: rings / 1024 };
}

function metric(port: number, pattern: RegExp): number {
  return metricsText(port)
    .split('\n')
    .filter((l) => pattern.test(l))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/**
 * Memory under a flood of distinct remotes and DNS names, live: the exporter's peak RSS (VmHWM) before
 * and after trafgen sends FLOOD_ROUNDS rounds at 200k packets/s, and how many answers it took.
 */
async function flood(pid: number, port: number): Promise<void> {
  const cfg = join(OUT, 'trafgen-flood.cfg');
  writeFileSync(cfg, floodConfig());
  const before = rssOf(pid);
  const unsolicited0 = metric(port, /^aztraffic_decode_errors_total\{reason="(unsolicited|malformed)_dns"\}/);
  const n = FLOOD_ROUNDS * 7;
  const seconds = send(cfg, n, 200_000);
  await new Promise((r) => setTimeout(r, 2500)); // a flush or two after the flood
  const after = rssOf(pid);
  const missed = metric(port, /^aztraffic_decode_errors_total\{reason="(unsolicited|malformed)_dns"\}/) - unsolicited0;
  const dropped = metric(port, /^aztraffic_capture_dropped_packets_total\{/);
  const remoteSeries = metricsText(port)
    .split('\n')
    .filter((l) => l.startsWith('aztraffic_remote_bytes_total{')).length;
  console.log(
    `\nflood, live: ${fmt(FLOOD_ROUNDS * 5)} packets from random remotes (~99.6% distinct) and ${fmt(FLOOD_ROUNDS)} DNS answers naming new names, ` +
      `${fmt(n)} packets in ${seconds.toFixed(1)} s; DNS answers not taken: ${fmt(missed)}; packets dropped: ${fmt(dropped)}; remote series after: ${remoteSeries}`,
  );
  console.log(
    `exporter RSS before: ${before.now.toFixed(0)} MB (peak ${before.peak.toFixed(0)} MB); after: ${after.now.toFixed(0)} MB, peak ${after.peak.toFixed(0)} MB; ` +
      `of which the capture rings: ${after.rings.toFixed(0)} MB; peak without them: ${(after.peak - after.rings).toFixed(0)} MB; ` +
      `at rest (before the flood) without them: ${(before.now - before.rings).toFixed(0)} MB`,
  );
}

/** Workload attribution during the run: on (the default: every packet of the host's address finds its flow) and off. */
const ATTRIBUTION = (process.env.ATTRIBUTION ?? 'on,off').split(',').filter(Boolean);

/**
 * trafgen sends `cfg` at each rate (then at top speed) for SECONDS, after a warm-up that is not reported
 * (the exporter's JIT warmed up, as a long-running exporter's is): a table row per rate.
 */
async function rates(label: string, cfg: string, list: number[], port: number, pid: number): Promise<void> {
  send(cfg, Math.min(2, SECONDS) * 50_000, 50_000);
  await new Promise((r) => setTimeout(r, 500));
  for (const rate of [...list, 0]) {
    const n = (rate || Math.max(...list) * 2) * SECONDS;
    const rx0 = kernelRx();
    const c0 = await counted(port);
    const cpu0 = cpuSeconds(pid);
    const wall = send(cfg, n, rate);
    // what is still in the ring is counted within a few ms; the CPU of that tail is the rate's
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const cpu = cpuSeconds(pid) - cpu0;
    const rx = kernelRx() - rx0;
    const got = (await counted(port)) - c0;
    const achieved = n / wall;
    const cpuPercent = (100 * cpu) / (wall + SETTLE_MS / 1000);
    console.log(`| ${label} | ${rate ? fmt(rate) : 'top speed'} | ${fmt(achieved)} | ${fmt(n)} | ${fmt(rx)} | ${fmt(got)} | ${fmt(rx - got)} | ${cpuPercent.toFixed(0)} | ${((cpuPercent * 100_000) / achieved).toFixed(1)} |`);
  }
}

/** Rates of the realistic mix (packets/s; MIX_RATES='' leaves it out), and the frames trafgen cycles through. */
const MIX_RATES = (process.env.MIX_RATES ?? '50000,100000,200000').split(',').filter(Boolean).map(Number);
const MIX_FRAMES = Number(process.env.MIX_FRAMES ?? 20_000);

/**
 * A trafgen configuration of the mix's first `n` frames, whole and in order (a question before its
 * answer): each frame's bytes, its zero payload as fill().
 */
function mixConfig(n: number, o: MixOptions = {}): string {
  const out: string[] = [];
  mixFrames(n, o, (_ts, f) => {
    let end = f.length;
    while (end > 0 && f[end - 1] === 0) end--;
    const bytes = Array.from(f.subarray(0, end), (b) => `0x${b.toString(16).padStart(2, '0')}`);
    if (end < f.length) bytes.push(`fill(0x00, ${f.length - end})`);
    out.push(`{ ${bytes.join(', ')} }`);
  });
  return out.join('\n') + '\n';
}

/**
 * The realistic mix (bench/mix.ts: IPv4 and IPv6, TCP and UDP, ~2,900 remotes, 17% DNS — this host's
 * questions and their answers — new connections, 64…1,500-byte frames) sent by trafgen, the exporter as
 * it runs by default (DNS names learned, attribution on) with the demo topology, whose host is the mix's;
 * then DNS alone, questions and their answers, half each. Per rate: packets lost, CPU per 100k packets/s,
 * and at the end the names learned and the peak RSS.
 */
async function mixLive(): Promise<void> {
  const port = 19985;
  const exporter = startExporter(port, ['--topology.file', join(ROOT, 'demo', 'topology.yaml'), '--ip-ranges.file', join(ROOT, 'demo', 'ip-ranges.json'), ...(process.env.MIX_FLAGS ?? '').split(' ').filter(Boolean)]);
  try {
    await waitFor(exporter, /serving metrics/);
    console.log(`\nthe realistic mix (bench/mix.ts, ${fmt(MIX_FRAMES)} frames cycled), DNS names learned, attribution on (the defaults):`);
    console.log('| traffic | target packets/s | achieved packets/s | offered | kernel received | counted | lost | exporter CPU % | CPU % per 100k packets/s |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [name, o] of [
      ['realistic mix', {}],
      ['DNS alone (questions and answers)', { dnsShare: 1, connectionsPerSecond: 0 }],
    ] as [string, MixOptions][]) {
      const cfg = join(OUT, `trafgen-mix-${o.dnsShare ?? 'mix'}.cfg`);
      writeFileSync(cfg, mixConfig(MIX_FRAMES, o));
      await rates(name, cfg, MIX_RATES, port, exporter.pid!);
    }
    const body = metricsText(port);
    const named = new Set([...body.matchAll(/^aztraffic_remote_bytes_total\{[^}]*remote="([^"]*\.(?:local|com|net|org))"/gm)].map((m) => m[1])).size;
    const reasons = [...body.matchAll(/^aztraffic_decode_errors_total\{reason="([a-z_]*dns[a-z_]*)"\} (\d+)/gm)].map((m) => `${m[1]} ${m[2]}`).join(', ');
    const renames = [...body.matchAll(/^aztraffic_remote_renames_total\{outcome="(\w+)"\} (\d+)/gm)].map((m) => `${m[1]} ${m[2]}`).join(', ');
    const mem = rssOf(exporter.pid!);
    console.log(`\nremote series named from DNS answers: ${named}; ${reasons}; renames ${renames}; peak RSS ${mem.peak.toFixed(0)} MB (of which capture rings ${mem.rings.toFixed(0)} MB)`);
  } finally {
    exporter.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  setUp();
  try {
    console.log(`trafgen into a veth, ${SECONDS} s per rate; the exporter captures the far end (snaplen 192, 64 MiB buffer); ${cpus().length} cores`);
    for (const [k, mode] of ATTRIBUTION.entries()) {
      const port = 19977 + k;
      const flags = mode === 'off' ? ['--workload.attribution', 'false'] : [];
      const exporter = startExporter(port, ['--capture.dns', 'false', ...flags]);
      try {
        await waitFor(exporter, /serving metrics/);
        console.log(`\nworkload attribution ${mode === 'off' ? 'off (--workload.attribution false)' : 'on (the default: pods by address, the host\'s own flows to processes)'}:`);
        console.log('| frame bytes | target packets/s | achieved packets/s | offered | kernel received | counted | lost | exporter CPU % | CPU % per 100k packets/s |');
        console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
        for (const size of SIZES) {
          const cfg = join(OUT, `trafgen-${size}.cfg`);
          writeFileSync(cfg, trafgenConfig(size));
          await rates(String(size), cfg, RATES, port, exporter.pid!);
        }
      } finally {
        exporter.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    if (MIX_RATES.length > 0) await mixLive();
    if (process.env.SCRAPE_SECONDS !== '0') await scrapeAtCaps();
    if (FLOOD_ROUNDS > 0) {
      // DNS names learned (the default), attribution on: every table that a flood fills
      const exporter = startExporter(19990, []);
      try {
        await waitFor(exporter, /serving metrics/);
        // every capture (the DNS one too) running, and start-up's memory given back (2 s after the first topology)
        await new Promise((r) => setTimeout(r, 4000));
        await flood(exporter.pid!, 19990);
        if (DNS_FLOOD_RATE > 0) await dnsFlood(19990);
      } finally {
        exporter.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    tearDown();
  }
}

await main();
