// Seeded mutation fuzzing of the file readers, the decoder, DNS learning, counting and the report:
// thousands of corrupt pcap and pcapng files (bit flips, random bytes, cut files, lengths set to extreme
// values, blocks spliced or repeated). None may throw anything but a one-line ConfigError for a file
// that is no capture, hang, or produce a negative or NaN figure. FUZZ_SEED reproduces a run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../src/sources/file-reader.js';
import { ConfigError } from '../src/config/errors.js';
import { Decoded } from '../src/decode/packet.js';
import { buildReport } from '../src/metrics/report.js';
import { ExporterMetrics } from '../src/metrics/registry.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { loadTopology } from '../src/topology/load.js';
import { loadPrices } from '../src/classify/prices-file.js';
import { PcapngWriter, PcapWriter, type Record } from '../scripts/lib/frames.js';
import { DEMO, tempDir } from './helpers.js';
import { writeFileSync } from 'node:fs';

const VARIANTS = Number(process.env.FUZZ_VARIANTS ?? 2400);
const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const dir = tempDir();

/** mulberry32: small, fast, seeded. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The first frames of the demo story (DNS, IPv4 and IPv6, every category) as pcap and pcapng bytes. */
function seeds(): { name: string; bytes: Buffer }[] {
  const recs: Record[] = [];
  const ifaces: { name: string; linkType: number }[] = [];
  readCaptureFile(
    join(DEMO, 'demo.pcapng'),
    {
      addInterface: (name, linkType) => ifaces.push({ name, linkType }) - 1,
      frame: (_lt, buf, off, capLen, wireLen, ts) => void recs.push({ ts, frame: Buffer.from(buf.subarray(off, off + capLen)), wireLen }),
    },
    150,
  );
  const pcap = join(dir, 'seed.pcap');
  const w = new PcapWriter(pcap, ifaces[0].linkType, 512);
  recs.forEach((r) => w.write(r));
  w.close();
  const ng = join(dir, 'seed.pcapng');
  const n = new PcapngWriter(ng, [
    { linkType: ifaces[0].linkType, name: 'ens5', snapLen: 512 },
    { linkType: ifaces[0].linkType, name: 'ens6', snapLen: 96 },
  ]);
  recs.forEach((r, i) => n.write({ ...r, iface: i % 2 }));
  n.close();
  return [
    { name: 'pcap', bytes: readFileSync(pcap) },
    { name: 'pcapng', bytes: readFileSync(ng) },
  ];
}

type Mutation = (b: Buffer, r: () => number) => Buffer;
const int = (r: () => number, n: number): number => Math.floor(r() * n);
const EXTREMES = [0, 1, 3, 4, 0x7fffffff, 0xffffffff, 0x80000000, 12, 0xfffc, 65535, 65536];

const MUTATIONS: [string, Mutation][] = [
  [
    'bit flips',
    (b, r) => {
      const c = Buffer.from(b);
      for (let i = 1 + int(r, 16); i > 0; i--) c[int(r, c.length)] ^= 1 << int(r, 8);
      return c;
    },
  ],
  [
    'random bytes',
    (b, r) => {
      const c = Buffer.from(b);
      const at = int(r, c.length);
      for (let i = 0; i < 1 + int(r, 64) && at + i < c.length; i++) c[at + i] = int(r, 256);
      return c;
    },
  ],
  ['cut', (b, r) => b.subarray(0, int(r, b.length))],
  [
    'extreme 32-bit field',
    (b, r) => {
      const c = Buffer.from(b);
      const at = int(r, c.length - 4) & ~3;
      c.writeUInt32LE(EXTREMES[int(r, EXTREMES.length)], at);
      return c;
    },
  ],
  [
    'extreme 16-bit field',
    (b, r) => {
      const c = Buffer.from(b);
      c.writeUInt16BE(EXTREMES[int(r, EXTREMES.length)] & 0xffff, int(r, c.length - 2));
      return c;
    },
  ],
  [
    'splice',
    (b, r) => {
      const a = int(r, b.length);
      const len = int(r, 4096);
      const to = int(r, b.length);
      return Buffer.concat([b.subarray(0, to), b.subarray(a, a + len), b.subarray(to)]);
    },
  ],
  [
    'delete a range',
    (b, r) => {
      const a = int(r, b.length);
      return Buffer.concat([b.subarray(0, a), b.subarray(a + 1 + int(r, 256))]);
    },
  ],
];

/** A cheaper path's net saving is below 0 where its fixed fees are more than it saves (shown as not worth it). */
const MAY_BE_NEGATIVE = /^report\.savings\[\d+\]\.monthly_savings_dollars$/;

function allFiguresSane(value: unknown, path = 'report'): void {
  if (typeof value === 'number') {
    expect(Number.isFinite(value), `${path} = ${value}`).toBe(true);
    if (!MAY_BE_NEGATIVE.test(path)) expect(value, path).toBeGreaterThanOrEqual(0);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => allFiguresSane(v, `${path}[${i}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) allFiguresSane(v, `${path}.${k}`);
  }
}

describe('fuzz: corrupt captures never crash, hang or lie', () => {
  it(`${VARIANTS} seeded mutations of pcap and pcapng (seed ${SEED})`, async () => {
    const loaded = loadTopology({ topologyFile: join(DEMO, 'topology.yaml'), ipRangesFile: join(DEMO, 'ip-ranges.json') });
    const prices = loadPrices(undefined);
    const r = rng(SEED);
    const files = seeds();
    const path = join(dir, 'variant');
    const counts = { ok: 0, notCapture: 0, stopped: 0, corrupt: 0 };
    let slowest = 0;
    for (let v = 0; v < VARIANTS; v++) {
      const seed = files[v % files.length];
      const [mutName, mutate] = MUTATIONS[int(r, MUTATIONS.length)];
      let bytes = seed.bytes;
      for (let k = 1 + int(r, 3); k > 0; k--) bytes = mutate(bytes, r);
      writeFileSync(path, bytes);
      const pipeline = new Pipeline(loaded.topology, { remoteTableSize: 64 });
      pipeline.setLocalIps(['172.31.51.15', '2600:1f18:1234:5600::15']);
      const metrics = new ExporterMetrics(pipeline, { topK: 5, prices });
      if (v % 2 === 0) metrics.accumulateRemotes(32);
      const t0 = performance.now();
      try {
        const res = readCaptureFile(path, pipeline);
        expect(res.frames).toBeGreaterThanOrEqual(0);
        if (res.stopped) {
          counts.stopped++;
          expect(res.stopped.offset).toBeGreaterThanOrEqual(0);
          expect(res.stopped.offset).toBeLessThanOrEqual(bytes.length);
          expect(res.stopped.bytes).toBe(bytes.length - res.stopped.offset);
          pipeline.decodeErrors[Decoded.CORRUPT_RECORD]++;
        }
        if (res.corruptRecords > 0) counts.corrupt++;
        const report = await buildReport(metrics);
        allFiguresSane(report);
        const text = await metrics.render();
        expect(text, `variant ${v} (${seed.name}, ${mutName})`).not.toMatch(/ (NaN|-\d|[+-]Inf)/);
        counts.ok++;
      } catch (e) {
        if (!(e instanceof ConfigError)) throw new Error(`variant ${v} (${seed.name}, ${mutName}, seed ${SEED}): ${(e as Error).stack}`);
        expect((e as Error).message.split('\n')).toHaveLength(1);
        counts.notCapture++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    console.log(`fuzz seed ${SEED}: ${VARIANTS} variants; read ${counts.ok} (${counts.stopped} stopped early, ${counts.corrupt} with corrupt records skipped), ${counts.notCapture} refused as not a capture; slowest ${slowest.toFixed(0)} ms`);
    expect(counts.ok + counts.notCapture).toBe(VARIANTS);
    // a variant that took seconds would be a near-hang (each is under 100 KB)
    expect(slowest).toBeLessThan(5000);
  }, 300_000);
});
