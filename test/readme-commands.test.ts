// The README's npm commands that no other test runs: the demo regenerator (deterministic: it must make
// exactly the bundled files), and the benchmarks, run small, so that a change that breaks them is seen
// here rather than by the next person who measures. (npm test and npm run demo are this suite and
// cli.test.ts.)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO, missingOutsideCi, tempDir } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const dir = tempDir();

function npm(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync('npm', args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240_000 });
}

describe('README commands', () => {
  it('npm run make-demo makes exactly the bundled demo (capture, topology, ip-ranges)', () => {
    const r = npm(['run', 'make-demo'], { DEMO_OUT: dir });
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['demo.pcapng', 'topology.yaml', 'ip-ranges.json']) expect(readFileSync(join(dir, f)).equals(readFileSync(join(DEMO, f))), f).toBe(true);
  });

  it('npm run bench -- --quick runs and prints its tables, with a BASELINE_CLI comparison (small capture)', () => {
    const r = npm(['run', 'bench', '--', '--quick'], { BENCH_PACKETS: '20000', BENCH_ROUNDS: '1', FLOOD_REMOTES: '20000', FLOOD_NAMES: '4000', BASELINE_CLI: join(ROOT, 'dist', 'cli.js'), BASELINE_TOPOLOGY: join(DEMO, 'topology.yaml') });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/analyze counted 20,000 IP packets/);
    expect(r.stdout).toMatch(/\| az-traffic-exporter analyze \(whole command\) \| [\d.]+ \|/);
    expect(r.stdout).toMatch(/\| tcpdump -r FILE -w \/dev\/null \|/);
    expect(r.stdout).toMatch(/hot loop in process .*: [\d,]+ packets\/s, 0 garbage collections/);
    expect(r.stdout).toMatch(/flood of 20,000 distinct remotes and 4,000 DNS names .*: peak RSS [\d,]+ MB/);
    expect(r.stdout).toMatch(/\| analyze, compiled topology cached \| \d+ \| \d+ \| -?\d+ \|\n\| analyze, --cache.dir none \(compiles\) \| \d+ \|/);
    expect(r.stdout).toMatch(/\| baseline \| [\d.]+; [\d.]+ \| [\d,]+; [\d,]+ \| [\d.]+; [\d.]+ \| [\d,]+ \|\n\| this \|/);
  }, 240_000);

  it('npm run bench:flow-logs runs and prints its table, the story\'s script beside analyze and its engines (20,000 records)', () => {
    const r = npm(['run', 'bench:flow-logs'], { BENCH_RECORDS: '20000', BENCH_ROUNDS: '1', BENCH_OUT: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| the story's script: zcat, awk \| [\d.]+ \| [\d,]+ \|/);
    expect(r.stdout).toMatch(/\| analyze, \.gz text \| [\d.]+ \| [\d,]+ \| \d+ \|\n\| analyze, Parquet \| [\d.]+ \| [\d,]+ \| \d+ \|/);
    expect(r.stdout).toMatch(/\| analyze --flow-logs.engine duckdb, \.gz text \| [\d.]+ \| [\d,]+ \| \d+ \|\n\| analyze --flow-logs.engine duckdb, Parquet \| [\d.]+ \| [\d,]+ \| \d+ \|/);
    expect(r.stdout).toMatch(/1 M records, each a distinct address pair|20,000 records, each a distinct address pair/);
  }, 240_000);

  it('npm run bench:scrape runs and reports scrapes without errors (1 s, 5 scrapers)', () => {
    const r = npm(['run', 'bench:scrape'], { SECONDS: '1', CONNECTIONS: '5' });
    expect(r.status, r.stderr).toBe(0);
    const row = /\n\| ([\d,]+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|/.exec(r.stdout);
    expect(row, r.stdout).not.toBeNull();
    expect(Number(row![1].replace(/,/g, ''))).toBeGreaterThan(0);
    expect(row![6]).toBe('0');
    // at the cap: 100 member remotes plus "other" per direction/category, and up to 100 demoted series kept
    // frozen (how many depends on how many flushes the machine's pace fitted in before the sample)
    const remoteSeries = Number(/\b(\d+) remote series/.exec(r.stdout)?.[1]);
    expect(remoteSeries, r.stdout).toBeGreaterThanOrEqual(100);
    expect(remoteSeries, r.stdout).toBeLessThanOrEqual(2 * 100 + 16);
  }, 120_000);

  // root (network namespaces) and trafgen (Debian netsniff-ng), which .ci/run installs
  const live = process.getuid?.() === 0 && existsSync('/usr/sbin/trafgen');
  it.skipIf(missingOutsideCi(live))('npm run bench:live runs (one small rate, 64-byte frames, a second of scrapes): nothing lost, every column printed', () => {
    const r = npm(['run', 'bench:live'], { RATES: '20000', SIZES: '64', MIX_RATES: '20000', MIX_FRAMES: '2000', SECONDS: '1', SCRAPE_SECONDS: '1', SCRAPERS: '5', FLOOD_ROUNDS: '5000', DNS_FLOOD_RATE: '20000', DNS_FLOOD_SECONDS: '1' });
    expect(r.status, r.stderr).toBe(0);
    // the realistic mix and DNS alone, whole frames through trafgen: nothing lost, names learned from the answers
    const mix = [...r.stdout.matchAll(/^\| (realistic mix|DNS alone \(questions and answers\)) \| ([\w ,]+) \| [\d,]+ \| [\d,]+ \| ([\d,]+) \| ([\d,]+) \| -?[\d,]+ \| \d+ \| [\d.]+ \|$/gm)];
    expect(mix.map((m) => `${m[1]} ${m[2]}`), r.stdout).toEqual(['realistic mix 20,000', 'realistic mix top speed', 'DNS alone (questions and answers) 20,000', 'DNS alone (questions and answers) top speed']);
    for (const m of mix) expect(Math.abs(Number(m[3].replace(/,/g, '')) - Number(m[4].replace(/,/g, ''))), m[0]).toBeLessThanOrEqual(3);
    expect(Number(/remote series named from DNS answers: (\d+)/.exec(r.stdout)?.[1]), r.stdout).toBeGreaterThan(0);
    const rows = [...r.stdout.matchAll(/^\| 64 \| ([\w ,]+) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \| (-?[\d,]+) \| (\d+) \| ([\d.]+) \|$/gm)];
    // attribution on (the default), then off
    expect(rows.map((m) => m[1]), r.stdout).toEqual(['20,000', 'top speed', '20,000', 'top speed']);
    expect(r.stdout).toMatch(/workload attribution on[\s\S]*workload attribution off/);
    for (const m of rows) {
      const [kernel, counted] = [m[4], m[5]].map((x) => Number(x.replace(/,/g, '')));
      // the kernel's and the exporter's count agree but for the interface's own IPv6 neighbour packets
      expect(Math.abs(kernel - counted), m[0]).toBeLessThanOrEqual(3);
    }
    // and /metrics under scrapers while capturing with every family at its cap: answered, without errors
    const caps = /while capturing 100,000 packets\/s, every family at its cap \((\d+) remote series, (\d+) workload series of 150 pods, (\d+) direction × category × zone pair series/.exec(r.stdout);
    expect(caps, r.stdout).not.toBeNull();
    const [remoteSeries, workloadSeries, pairSeries] = caps!.slice(1).map(Number);
    expect(remoteSeries).toBeGreaterThanOrEqual(100);
    expect(workloadSeries).toBeGreaterThanOrEqual(100); // 100 of the 150 workloads, and "other"
    expect(pairSeries).toBeGreaterThanOrEqual(2 * 10); // both directions of every remote class
    // as Prometheus scrapes (gzip), then uncompressed
    const scrapes = [...r.stdout.matchAll(/^\| (gzip \(as Prometheus\)|identity) \| ([\d,]+) \| \d+ \| \d+ \| \d+ \| \d+ \| (\d+) \|$/gm)];
    expect(scrapes.map((m) => m[1]), r.stdout).toEqual(['gzip (as Prometheus)', 'identity']);
    for (const m of scrapes) {
      expect(Number(m[2].replace(/,/g, ''))).toBeGreaterThan(0);
      expect(m[3]).toBe('0');
    }
    expect(r.stdout).toMatch(/\d+ aztraffic_ series, [\d,]+ KiB, [\d,]+ KiB gzipped\)/);
    // and the flood: every DNS answer is either learned or counted as not taken (how many go untaken
    // depends on the machine's load while the DNS handle drains: a rate for the benchmark, not a bound here)
    const taken = /flood, live: 25,000 packets from random remotes .* and 5,000 DNS answers .*; DNS answers not taken: ([\d,]+);/.exec(r.stdout);
    expect(taken, r.stdout).not.toBeNull();
    expect(Number(taken![1].replace(/,/g, ''))).toBeLessThanOrEqual(5_000);
    expect(r.stdout).toMatch(/exporter RSS before: \d+ MB \(peak \d+ MB\); after: \d+ MB, peak \d+ MB/);
    // and the garbage-DNS flood: every column printed (coverage and probe times are the benchmark's)
    expect(r.stdout).toMatch(
      /malformed DNS flood, live: 20,000 garbage answers\/s .* kernel received [\d,]+, counted [\d,]+ \(coverage [\d.]+%\); garbage counted as unsolicited or malformed: [\d,]+, over the DNS budget: [\d,]+; \/-\/healthy probes: \d+, failed \d+, p50 [\d.]+ ms, max [\d.]+ ms/,
    );
  }, 120_000);
});
