// `npm run bench:flow-logs`: analyze of VPC flow logs against the story's own script on the same files:
// records per second of `analyze` (every record classified and counted) and of
// `zcat FILES | awk '{s+=$10} END {print s}'` (summing bytes, at its fastest), in interleaved rounds;
// text .gz and Parquet; peak RSS over 1 M distinct address pairs; and the agentless exporter (serve
// --flow-logs.url file:///…) counting the same folders from its first poll to its last object.
//   npm run bench:flow-logs                 # 10 M records (10 files of 1 M), and the 1 M-pair memory run
//   BENCH_RECORDS=1000000 npm run bench:flow-logs   # a quicker run
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { once } from 'node:events';
import { parquetWriteBuffer } from 'hyparquet-writer';

const ROOT = join(import.meta.dirname, '..');
// BENCH_OUT: where the corpora are made and kept (the test suite's: a temporary folder)
const OUT = process.env.BENCH_OUT ?? join(ROOT, 'bench-out');
const CLI = join(ROOT, 'dist', 'cli.js');
const SHARED = join(ROOT, '..', 'shared', 'aws', 'ip-ranges.json');
const IP_RANGES = existsSync(SHARED) ? SHARED : join(ROOT, 'demo', 'ip-ranges.json');
const TOPOLOGY = join(ROOT, 'demo', 'topology.yaml');
const RECORDS = Number(process.env.BENCH_RECORDS ?? 10_000_000);
const PER_FILE = Math.min(RECORDS, 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const HEADER = 'version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status';
const START = Date.UTC(2026, 11, 1) / 1000;

let seed = 7;
const rand = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
};
const octet = (): number => 1 + Math.floor(rand() * 250);

/**
 * 200 interfaces of the demo's VPC, each talking to 500 of a VPC's 5,000 remotes (its own hosts in
 * every zone, EC2 and S3 of the region, the internet): ~100k distinct pairs, repeating as a VPC's do.
 */
const INTERFACES = Array.from({ length: 200 }, (_x, i) => ({ eni: `eni-0${(0x10000 + i).toString(16)}a1b2c3d4e5f6`, ip: `172.31.${48 + (i % 16)}.${10 + Math.floor(i / 16)}` }));
const POOL = Array.from({ length: 5000 }, () => {
  const k = rand();
  if (k < 0.3) return `172.31.${Math.floor(rand() * 64)}.${octet()}`; // same and other zones
  if (k < 0.5) return `54.144.${octet()}.${octet()}`; // EC2 us-east-1
  if (k < 0.6) return `52.216.${octet()}.${octet()}`; // S3
  return `${140 + Math.floor(rand() * 20)}.${octet()}.${octet()}.${octet()}`; // internet
});
const REMOTES: string[][] = INTERFACES.map(() => Array.from({ length: 500 }, () => POOL[Math.floor(rand() * POOL.length)]));

interface Row {
  eni: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  packets: number;
  bytes: number;
  start: number;
}

function row(n: number, distinct: boolean): Row {
  const i = Math.floor(rand() * INTERFACES.length);
  const me = INTERFACES[i];
  const remote = distinct ? `${140 + (n >>> 24)}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}` : REMOTES[i][Math.floor(rand() * 500)];
  const out = rand() < 0.5;
  const sport = out ? 32768 + Math.floor(rand() * 28000) : 443;
  const dport = out ? 443 : 32768 + Math.floor(rand() * 28000);
  const packets = 1 + Math.floor(rand() * 50);
  return { eni: me.eni, src: out ? me.ip : remote, dst: out ? remote : me.ip, sport, dport, packets, bytes: packets * (40 + Math.floor(rand() * 1400)), start: START + 60 * Math.floor(n / 20_000) };
}

async function writeText(file: string, first: number, count: number, distinct: boolean): Promise<void> {
  const gz = createGzip();
  const out = createWriteStream(file);
  gz.pipe(out);
  gz.write(HEADER + '\n');
  let buf = '';
  for (let n = first; n < first + count; n++) {
    const r = row(n, distinct);
    buf += `2 111122223333 ${r.eni} ${r.src} ${r.dst} ${r.sport} ${r.dport} 6 ${r.packets} ${r.bytes} ${r.start} ${r.start + 60} ACCEPT OK\n`;
    if (buf.length > 1 << 20) {
      if (!gz.write(buf)) await once(gz, 'drain');
      buf = '';
    }
  }
  gz.end(buf);
  await once(out, 'finish');
}

function writeParquet(file: string, first: number, count: number): void {
  const rows = Array.from({ length: count }, (_x, k) => row(first + k, false));
  const str = (f: (r: Row) => string) => rows.map(f);
  const big = (f: (r: Row) => number) => rows.map((r) => BigInt(f(r)));
  const int = (f: (r: Row) => number) => rows.map(f);
  writeFileSync(
    file,
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'version', data: rows.map(() => 2), type: 'INT32' },
          { name: 'account_id', data: rows.map(() => '111122223333'), type: 'STRING' },
          { name: 'interface_id', data: str((r) => r.eni), type: 'STRING' },
          { name: 'srcaddr', data: str((r) => r.src), type: 'STRING' },
          { name: 'dstaddr', data: str((r) => r.dst), type: 'STRING' },
          { name: 'srcport', data: int((r) => r.sport), type: 'INT32' },
          { name: 'dstport', data: int((r) => r.dport), type: 'INT32' },
          { name: 'protocol', data: rows.map(() => 6), type: 'INT32' },
          { name: 'packets', data: big((r) => r.packets), type: 'INT64' },
          { name: 'bytes', data: big((r) => r.bytes), type: 'INT64' },
          { name: 'start', data: big((r) => r.start), type: 'INT64' },
          { name: 'end', data: big((r) => r.start + 60), type: 'INT64' },
          { name: 'action', data: rows.map(() => 'ACCEPT'), type: 'STRING' },
          { name: 'log_status', data: rows.map(() => 'OK'), type: 'STRING' },
        ],
        rowGroupSize: 100_000,
      }),
    ),
  );
}

/** The corpus of `records` records in files of PER_FILE (made once, kept in bench-out/). */
async function corpus(name: string, records: number, kind: 'gz' | 'parquet' | 'distinct'): Promise<string> {
  const d = join(OUT, `${name}-v2-${records}`);
  if (existsSync(join(d, '.done'))) return d;
  mkdirSync(d, { recursive: true });
  seed = 7;
  for (let f = 0; f * PER_FILE < records; f++) {
    const stamp = `2026120${1}T${String(f % 24).padStart(2, '0')}00Z`;
    const base = join(d, `111122223333_vpcflowlogs_us-east-1_fl-0bench_${stamp}_${f}`);
    if (kind === 'parquet') writeParquet(`${base}.parquet`, f * PER_FILE, PER_FILE);
    else await writeText(`${base}.log.gz`, f * PER_FILE, PER_FILE, kind === 'distinct');
    process.stderr.write('.');
  }
  writeFileSync(join(d, '.done'), '');
  return d;
}

const files = (d: string, ext: string): string[] => readdirSync(d).filter((f) => f.endsWith(ext)).map((f) => join(d, f));

/** Wall seconds and peak RSS (MB) of a command, from GNU time. */
function timed(cmd: string): { seconds: number; rssMb: number; out: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', 'bash', '-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr.slice(-500)}`);
  const [s, kb] = r.stderr.trim().split('\n').pop()!.split(' ');
  return { seconds: Number(s), rssMb: Number(kb) / 1024, out: r.stdout };
}

// the compiled topology cached, as in every run after a first (a warm-up run makes it): the start-up is ~0.1 s, not ~0.3
const analyzeCmd = (target: string, engine = 'stream'): string =>
  `${process.execPath} ${CLI} analyze ${target} --topology.file ${TOPOLOGY} --ip-ranges.file ${IP_RANGES} --cache.dir ${join(OUT, 'cache')} --format json --log.level error --flow-logs.engine ${engine} > /dev/null`;

/**
 * The agentless exporter over a folder: seconds from its start until every object is counted (its
 * metrics say so), and its peak RSS (the kernel's high-water mark), state file written after each object.
 */
async function served(dir: string, objects: number): Promise<{ seconds: number; rssMb: number }> {
  const state = join(OUT, 'serve-state.json');
  rmSync(state, { force: true });
  const port = 19990;
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--flow-logs.url', `file://${dir}`, '--flow-logs.state', state, '--flow-logs.since', '2026-11-30', '--flow-logs.poll-interval', '200ms', '--topology.file', TOPOLOGY, '--ip-ranges.file', IP_RANGES, '--aws.discovery', 'false', '--ip-ranges.url', 'none', '--web.listen-address', `127.0.0.1:${port}`, '--web.shutdown-grace', '0', '--log.level', 'error'], { stdio: 'ignore' });
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
      const m = /^aztraffic_flow_logs_objects_total\{result="counted"\} (\d+)$/m.exec(text);
      if (m && Number(m[1]) >= objects) break;
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return { seconds, rssMb: Number(hwm?.[1] ?? 0) / 1024 };
  } finally {
    child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const gz = await corpus('flow-logs-gz', RECORDS, 'gz');
  const gzFiles = files(gz, '.log.gz').join(' ');
  const pq = await corpus('flow-logs-parquet', RECORDS, 'parquet');
  const distinct = await corpus('flow-logs-distinct', Math.min(RECORDS, 1_000_000), 'distinct');
  process.stderr.write('\n');
  timed(analyzeCmd(files(gz, '.log.gz')[0]));
  const runs: Record<string, { seconds: number; rssMb: number }[]> = {
    "the story's script: zcat, awk": [],
    'zcat > /dev/null': [],
    'analyze, .gz text': [],
    'analyze, Parquet': [],
    'analyze --flow-logs.engine duckdb, .gz text': [],
    'analyze --flow-logs.engine duckdb, Parquet': [],
    'serve --flow-logs.url (agentless), .gz text': [],
  };
  for (let k = 0; k < ROUNDS; k++) {
    runs["the story's script: zcat, awk"].push(timed(`zcat ${gzFiles} | awk '{s+=$10} END {print s}'`));
    runs['zcat > /dev/null'].push(timed(`zcat ${gzFiles} > /dev/null`));
    runs['analyze, .gz text'].push(timed(analyzeCmd(gz)));
    runs['analyze, Parquet'].push(timed(analyzeCmd(pq)));
    runs['analyze --flow-logs.engine duckdb, .gz text'].push(timed(analyzeCmd(gz, 'duckdb')));
    runs['analyze --flow-logs.engine duckdb, Parquet'].push(timed(analyzeCmd(pq, 'duckdb')));
    runs['serve --flow-logs.url (agentless), .gz text'].push(await served(gz, files(gz, '.log.gz').length));
  }
  console.log(`\n${RECORDS.toLocaleString('en-US')} records (~100k distinct pairs: 200 interfaces, 5,000 remotes), ${ROUNDS} interleaved rounds:\n`);
  console.log('| run | wall s (each round) | records/s (best) | peak RSS MB |');
  console.log('| --- | --- | --- | --- |');
  for (const [name, rs] of Object.entries(runs)) {
    const best = Math.min(...rs.map((r) => r.seconds));
    console.log(`| ${name} | ${rs.map((r) => r.seconds.toFixed(2)).join(', ')} | ${Math.round(RECORDS / best).toLocaleString('en-US')} | ${Math.max(...rs.map((r) => r.rssMb)).toFixed(0)} |`);
  }
  const mem = timed(analyzeCmd(distinct));
  const memDuck = timed(analyzeCmd(distinct, 'duckdb'));
  const n = Math.min(RECORDS, 1_000_000);
  const memServe = await served(distinct, files(distinct, '.log.gz').length);
  console.log(`\n${n === 1_000_000 ? '1 M' : n.toLocaleString('en-US')} records, each a distinct address pair (the SQL engines' worst case: a group per record): stream ${mem.seconds.toFixed(2)} s, peak RSS ${mem.rssMb.toFixed(0)} MB; duckdb ${memDuck.seconds.toFixed(2)} s, ${memDuck.rssMb.toFixed(0)} MB; the agentless exporter ${memServe.seconds.toFixed(2)} s, ${memServe.rssMb.toFixed(0)} MB`);
}

await main();
