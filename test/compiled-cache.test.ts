// The compiled-topology cache (analyze --cache.dir): a second run reads the tables the first compiled
// and reports exactly the same; a changed input or build is never served an old table; a corrupt or
// torn entry is rebuilt; an unwritable directory only costs speed; the cache stays at its cap.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packClassWord } from '../src/engine/counter-layout.js';
import { CACHE_ENTRIES, cacheKey, defaultCacheDir, readCached, writeCached } from '../src/topology/compiled-cache.js';
import { loadTopology } from '../src/topology/load.js';
import { Topology } from '../src/topology/topology.js';
import { CLI, DEMO, missingOutsideCi, SHARED_IP_RANGES, sharedIpRangesAvailable, tempDir } from './helpers.js';

const dir = tempDir();
const CAPTURE = join(DEMO, 'demo.pcapng');
const TOPOLOGY = join(DEMO, 'topology.yaml');
const RANGES = join(DEMO, 'ip-ranges.json');

function analyze(cacheDir: string | undefined, more: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const args = [CLI, 'analyze', CAPTURE, '--topology.file', TOPOLOGY, '--ip-ranges.file', RANGES, '--format', 'json', '--log.level', 'debug', ...more];
  if (cacheDir !== undefined) args.push('--cache.dir', cacheDir);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(r.status, r.stderr).toBe(0);
  // the report but the wall-clock time its sources were loaded at
  return { stderr: r.stderr, stdout: r.stdout.replace(/"lastSuccess": [\d.]+/g, '"lastSuccess": 0') };
}

const entries = (d: string): string[] => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.bin')) : []);

describe('compiled-topology cache', () => {
  it('a compiled topology gives back the same classes for every address (the real ip-ranges.json where present)', () => {
    const ranges = sharedIpRangesAvailable() ? SHARED_IP_RANGES : RANGES;
    const built = loadTopology({ topologyFile: TOPOLOGY, ipRangesFile: ranges }).topology;
    const c = built.compiled();
    const d = join(dir, 'roundtrip');
    writeCached(d, 'k', { compiled: c, facts: { given: { file: true, ipRanges: true }, regionSource: 'topology file' } });
    const back = readCached(d, 'k');
    expect(back.problem).toBeUndefined();
    const restored = new Topology(back.entry!.compiled);
    expect(restored.classes).toEqual(built.classes);
    expect(restored.zones).toEqual(built.zones);
    expect([...restored.classZone]).toEqual([...built.classZone]);
    expect(restored.ipRangePrefixCount).toBe(built.ipRangePrefixCount);
    // every segment start and the address before it, and random addresses, both families
    const probes: string[] = [];
    const s4 = built.table4.starts;
    for (let i = 0; i < s4.length; i += 7) for (const a of [s4[i], s4[i] - 1]) if (a >= 0) probes.push([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.'));
    let x = 12345;
    const rnd = (): number => (x = (x * 1103515245 + 12345) >>> 0);
    for (let i = 0; i < 5000; i++) probes.push(`2600:${(rnd() & 0xffff).toString(16)}:${(rnd() & 0xffff).toString(16)}::${(rnd() & 0xffff).toString(16)}`);
    for (let i = 0; i < 5000; i++) probes.push(`${rnd() & 255}.${rnd() & 255}.${rnd() & 255}.${rnd() & 255}`);
    for (const ip of probes) expect(restored.classIndexOf(ip), ip).toBe(built.classIndexOf(ip));
    // the local classes' category and bill rows, which are made from the classes after a restore
    for (const local of ['172.31.50.10', '172.31.20.10']) expect([...restored.countRow(restored.classIndexOf(local), packClassWord)]).toEqual([...built.countRow(built.classIndexOf(local), packClassWord)]);
  });

  it('analyze keeps the compiled topology, reads it on the next run, and reports exactly the same', () => {
    const d = join(dir, 'same');
    const cold = analyze(d);
    expect(cold.stderr).toMatch(/compiled topology kept in the cache/);
    expect(entries(d)).toHaveLength(1);
    const warm = analyze(d);
    expect(warm.stderr).toMatch(/compiled topology read from the cache/);
    expect(warm.stdout).toBe(cold.stdout);
    const none = analyze('none');
    expect(none.stderr).not.toMatch(/cache/);
    expect(none.stdout).toBe(cold.stdout);
  });

  it('a changed ip-ranges.json, topology file or region variable gets a table of its own', () => {
    const d = join(dir, 'stale');
    const ranges = join(dir, 'ranges.json');
    copyFileSync(RANGES, ranges);
    const run = (more: string[] = [], env: NodeJS.ProcessEnv = {}) => analyze(d, ['--ip-ranges.file', ranges, ...more], env);
    const before = run();
    expect(run().stderr).toMatch(/read from the cache/);
    // the same prefixes, one of them now another service's: a new key, compiled again
    const json = JSON.parse(readFileSync(ranges, 'utf8')) as { prefixes: { ip_prefix: string; region: string; service: string }[] };
    json.prefixes = json.prefixes.map((p) => ({ ...p, region: 'eu-west-3' }));
    writeFileSync(ranges, JSON.stringify(json));
    const after = run();
    expect(after.stderr).toMatch(/kept in the cache/);
    expect(after.stdout).not.toBe(before.stdout);
    const topology = join(dir, 'topology.yaml');
    writeFileSync(topology, readFileSync(TOPOLOGY, 'utf8').replace(/\nregion: us-east-1\n/, '\n'));
    expect(run(['--topology.file', topology]).stderr).toMatch(/kept in the cache/);
    expect(run(['--topology.file', topology], { AWS_REGION: 'eu-west-3' }).stderr).toMatch(/kept in the cache/);
    expect(run(['--topology.file', topology], { AWS_REGION: 'eu-west-3' }).stderr).toMatch(/read from the cache/);
    expect(entries(d)).toHaveLength(4);
  });

  it('a corrupt or torn entry is found out, rebuilt and rewritten; the report is unchanged', () => {
    const d = join(dir, 'corrupt');
    const good = analyze(d);
    const [name] = entries(d);
    const path = join(d, name);
    const bytes = readFileSync(path);
    for (const damage of [(b: Buffer) => b.subarray(0, b.length - 100), (b: Buffer) => Buffer.concat([b.subarray(0, b.length - 5), Buffer.from([1, 2, 3, 4, 5])]), () => Buffer.from('AZTC')]) {
      writeFileSync(path, damage(Buffer.from(bytes)));
      const r = analyze(d);
      expect(r.stderr).toMatch(/compiled-topology cache: .*; compiling again/);
      expect(r.stderr).toMatch(/kept in the cache/);
      expect(r.stdout).toBe(good.stdout);
      expect(readFileSync(path).equals(bytes)).toBe(true);
    }
  });

  it('an entry of another key, or segments that are not a table, is not trusted', () => {
    const d = join(dir, 'keys');
    const t = loadTopology({ topologyFile: TOPOLOGY, ipRangesFile: RANGES }).topology;
    const facts = { given: { file: true, ipRanges: true }, regionSource: 'topology file' as const };
    writeCached(d, 'aaaa', { compiled: t.compiled(), facts });
    copyFileSync(join(d, 'topology-aaaa.bin'), join(d, 'topology-bbbb.bin'));
    expect(readCached(d, 'bbbb').problem).toMatch(/another format or key/);
    expect(existsSync(join(d, 'topology-bbbb.bin'))).toBe(false);
    const c = t.compiled();
    const starts = Uint32Array.from(c.table4.starts);
    [starts[1], starts[2]] = [starts[2], starts[1]];
    expect(() => new Topology({ ...c, table4: { starts, values: c.table4.values } })).toThrow(/not ascending/);
    expect(() => new Topology({ ...c, table4: { starts: c.table4.starts, values: c.table4.values.map(() => 9999) } })).toThrow(/names no class/);
  });

  it('an unwritable cache directory costs only the compiling: analyze reports as always', () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    const r = analyze(join(blocker, 'cache'));
    expect(r.stderr).toMatch(/cannot write to/);
    expect(r.stdout).toBe(analyze('none').stdout);
  });

  it('keeps the newest entries only', () => {
    const d = join(dir, 'cap');
    mkdirSync(d);
    const t = loadTopology({ topologyFile: TOPOLOGY, ipRangesFile: RANGES }).topology;
    for (let i = 0; i < CACHE_ENTRIES + 3; i++) {
      writeCached(d, `c${i}`, { compiled: t.compiled(), facts: { given: { file: true, ipRanges: true }, regionSource: 'topology file' } });
      const when = new Date(Date.now() - (CACHE_ENTRIES + 3 - i) * 1000);
      utimesSync(join(d, `topology-c${i}.bin`), when, when);
    }
    expect(entries(d)).toHaveLength(CACHE_ENTRIES);
    expect(existsSync(join(d, 'topology-c0.bin'))).toBe(false);
    expect(existsSync(join(d, `topology-c${CACHE_ENTRIES + 2}.bin`))).toBe(true);
  });

  it('the default directory follows XDG_CACHE_HOME, else HOME; AZTRAFFIC_CACHE_DIR sets it', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/az-traffic-exporter');
    expect(defaultCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/az-traffic-exporter');
    const xdg = join(dir, 'xdg');
    analyze(undefined, [], { XDG_CACHE_HOME: xdg, AZTRAFFIC_CACHE_DIR: undefined });
    expect(entries(join(xdg, 'az-traffic-exporter'))).toHaveLength(1);
    const viaEnv = join(dir, 'via-env');
    analyze(undefined, [], { AZTRAFFIC_CACHE_DIR: viaEnv });
    expect(entries(viaEnv)).toHaveLength(1);
  });

  it('keys differ by input bytes, absence and region variables', () => {
    const a = Buffer.from('a');
    const keys = new Set([
      cacheKey({ topologyFile: a, ipRangesFile: undefined, env: {} }),
      cacheKey({ topologyFile: undefined, ipRangesFile: a, env: {} }),
      cacheKey({ topologyFile: a, ipRangesFile: a, env: {} }),
      cacheKey({ topologyFile: a, ipRangesFile: a, env: { AWS_REGION: 'eu-west-1' } }),
      cacheKey({ topologyFile: a, ipRangesFile: a, env: { AWS_DEFAULT_REGION: 'eu-west-1' } }),
    ]);
    expect(keys.size).toBe(5);
  });
});

describe.skipIf(missingOutsideCi(sharedIpRangesAvailable()))('compiled-topology cache with AWS\'s real ip-ranges.json', () => {
  it('reports the same with and without the cache', () => {
    const d = join(dir, 'real');
    const args = ['--ip-ranges.file', SHARED_IP_RANGES];
    const cold = analyze(d, args);
    const warm = analyze(d, args);
    expect(warm.stderr).toMatch(/read from the cache/);
    expect(warm.stdout).toBe(cold.stdout);
    expect(analyze('none', args).stdout).toBe(cold.stdout);
  });
});
