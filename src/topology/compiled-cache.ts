// The compiled-topology cache (analyze --cache.dir): a topology built from the same files by the same
// code is read back instead of parsing, validating and compiling AWS's ~17k prefixes again (most of a
// start-up). Keyed by a digest of the files' bytes, the region variables and the compiling code, so a
// changed ip-ranges.json, topology file or build never meets an old table; every entry carries a
// digest of its own bytes, so a torn or corrupted file is rebuilt, never trusted.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RegionSource } from './region.js';
import type { CompiledTopology } from './topology.js';

const MAGIC = 'AZTC';
const FORMAT = 3;
/** Entries kept: a few topologies (files, regions, builds) in turn, not one per run forever. */
export const CACHE_ENTRIES = 8;

/** Where compiled topologies are kept unless --cache.dir says otherwise (XDG base directories). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'az-traffic-exporter');
}

/** What a cache hit must say besides the tables: what loading the files would have said. */
export interface CachedFacts {
  given: { file: boolean; ipRanges: boolean };
  regionSource: RegionSource;
}

export interface CacheEntry {
  compiled: CompiledTopology;
  facts: CachedFacts;
}

let codeDigest: string | undefined;

/**
 * The compiling code: the modules beside this one (dist/topology, or the bundle's chunks) and the rules
 * (../classify), by name, size and modification time, so that any rebuild invalidates the cache.
 */
function compilingCode(): string {
  if (codeDigest !== undefined) return codeDigest;
  const here = dirname(fileURLToPath(import.meta.url));
  const h = createHash('sha256');
  for (const dir of [here, join(here, '..', 'classify')]) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((f) => /\.[jt]s$/.test(f)).sort();
    } catch {
      continue; // bundled: no classify folder beside the chunks
    }
    for (const f of names) {
      const st = statSync(join(dir, f));
      h.update(`${dir}/${f}\0${st.size}\0${st.mtimeMs}\0`);
    }
  }
  return (codeDigest = h.digest('hex'));
}

/** The key of a topology built from these inputs (bytes of each file; undefined: none given). */
export function cacheKey(inputs: { topologyFile?: Buffer; ipRangesFile?: Buffer; env: NodeJS.ProcessEnv }): string {
  const h = createHash('sha256');
  h.update(`${MAGIC}${FORMAT}\0${compilingCode()}\0`);
  for (const b of [inputs.topologyFile, inputs.ipRangesFile]) {
    h.update(b === undefined ? '-' : `${b.length}:`);
    if (b !== undefined) h.update(b);
  }
  // the region comes from these when the topology file names none
  h.update(`\0${inputs.env.AWS_REGION ?? ''}\0${inputs.env.AWS_DEFAULT_REGION ?? ''}`);
  return h.digest('hex').slice(0, 40);
}

const entryPath = (dir: string, key: string): string => join(dir, `topology-${key}.bin`);

/*
 * Layout: "AZTC", u32 LE header length, the header (JSON: format, key, digest and lengths), then the
 * body: the facts as JSON padded to 4 bytes, and the four segment arrays (u32 LE / i32 LE).
 */
interface Header {
  format: number;
  key: string;
  digest: string;
  json: number;
  arrays: [number, number, number, number];
}

/** The entry for `key`; undefined when there is none, or it is not whole (then it is removed). */
export function readCached(dir: string, key: string): { entry?: CacheEntry; problem?: string } {
  const path = entryPath(dir, key);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return {};
  }
  try {
    if (buf.subarray(0, 4).toString('latin1') !== MAGIC) throw new Error('not a compiled topology');
    const headerLength = buf.readUInt32LE(4);
    const header = JSON.parse(buf.subarray(8, 8 + headerLength).toString('utf8')) as Header;
    if (header.format !== FORMAT || header.key !== key) throw new Error('another format or key');
    const body = buf.subarray(8 + headerLength);
    if (createHash('sha256').update(body).digest('hex') !== header.digest) throw new Error('its digest does not match its bytes');
    const padded = (header.json + 3) & ~3;
    const parsed = JSON.parse(body.subarray(0, header.json).toString('utf8')) as { compiled: CompiledTopology['facts']; facts: CachedFacts };
    // copied out: typed arrays need aligned memory of their own
    const words = new Uint32Array(body.buffer.slice(body.byteOffset + padded, body.byteOffset + body.length));
    const [s4, v4, s6, v6] = header.arrays;
    if (s4 + v4 + s6 + v6 !== words.length) throw new Error('its arrays do not add up');
    let at = 0;
    const take = (n: number): Uint32Array => words.subarray(at, (at += n));
    const table4 = { starts: take(s4), values: new Int32Array(take(v4)) };
    const table6 = { starts: take(s6), values: new Int32Array(take(v6)) };
    const now = new Date();
    utimesSync(path, now, now); // the least recently used go first
    return { entry: { compiled: { facts: parsed.compiled, table4, table6 }, facts: parsed.facts } };
  } catch (e) {
    forget(path);
    return { problem: `${path}: ${(e as Error).message}` };
  }
}

/** Keep a compiled topology under `key` (atomically), and only the newest CACHE_ENTRIES entries. */
export function writeCached(dir: string, key: string, entry: CacheEntry): void {
  const { compiled, facts } = entry;
  const json = Buffer.from(JSON.stringify({ compiled: compiled.facts, facts }), 'utf8');
  const arrays = [compiled.table4.starts, compiled.table4.values, compiled.table6.starts, compiled.table6.values];
  const padded = (json.length + 3) & ~3;
  const body = Buffer.alloc(padded + 4 * arrays.reduce((n, a) => n + a.length, 0));
  json.copy(body);
  let at = padded;
  for (const a of arrays) {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(body, at);
    at += a.byteLength;
  }
  const header: Header = { format: FORMAT, key, digest: createHash('sha256').update(body).digest('hex'), json: json.length, arrays: [arrays[0].length, arrays[1].length, arrays[2].length, arrays[3].length] };
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(head.length, 4);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = entryPath(dir, key);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat([prefix, head, body]), { mode: 0o600 });
  renameSync(tmp, path);
  prune(dir);
}

function prune(dir: string): void {
  const entries = readdirSync(dir)
    .filter((f) => /^topology-[0-9a-f]+\.bin$/.test(f))
    .map((f) => {
      const path = join(dir, f);
      try {
        return { path, mtime: statSync(path).mtimeMs };
      } catch {
        return { path, mtime: 0 };
      }
    })
    .sort((a, b) => b.mtime - a.mtime);
  for (const e of entries.slice(CACHE_ENTRIES)) forget(e.path);
}

function forget(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already, or not ours to remove: it is never read as valid either way
  }
}
