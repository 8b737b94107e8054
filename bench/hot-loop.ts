// The benchmarks' hot loop: a capture's frames in memory, counted by the pipeline in process, so that
// only decode → classify → aggregate is timed (and its garbage collections seen).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { Attribution } from '../src/attribution/attribution.js';
import type { PodInfo } from '../src/attribution/pods.js';
import { readCaptureFile } from '../src/sources/file-reader.js';
import { loadTopology } from '../src/topology/load.js';
import { Pipeline } from '../src/pipeline/pipeline.js';

const ROOT = join(import.meta.dirname, '..');
const SHARED = join(ROOT, '..', 'shared', 'aws', 'ip-ranges.json');
export const IP_RANGES = existsSync(SHARED) ? SHARED : join(ROOT, 'demo', 'ip-ranges.json');
export const TOPOLOGY = join(ROOT, 'demo', 'topology.yaml');

/** Workload attribution in the hot loop: off; pods by address (analyze --pods); processes by flow (serve). */
export type Attributing = 'off' | 'pods' | 'processes';

/** The hot loop alone, in process (decode → classify → aggregate): packets/s and garbage collections while it runs. */
export function inProcess(path: string, attributing: Attributing = 'off', files: { topology: string; ipRanges: string } = { topology: TOPOLOGY, ipRanges: IP_RANGES }): { pps: number; gcs: number; heapGrowthKb: number; packets: number } {
  const loaded = loadTopology({ topologyFile: files.topology, ipRangesFile: files.ipRanges });
  const p = new Pipeline(loaded.topology);
  p.setLocalIps(loaded.topology.localIps);
  if (attributing !== 'off') {
    // the IPv6 address is a pod's (a fifth of the packets); the host's own go to processes, whose
    // lookups never run here: every flow stays in the flow table, held, as between two lookups
    const a = new Attribution(p.engine, { processes: attributing === 'processes' });
    a.setPods([POD]);
    p.setLocalIps([...loaded.topology.localIps, ...a.podIps]);
    // no timers: nothing outlives this measurement
    a.stop();
  }
  // frames into memory first, so only decode → classify → aggregate is timed
  const frames: { link: number; buf: Buffer; off: number; cap: number; wire: number }[] = [];
  let big = Buffer.alloc(0);
  const chunks: Buffer[] = [];
  readCaptureFile(path, {
    addInterface: () => 0,
    frame: (link, buf, off, cap, wire) => {
      if (frames.length >= 1_000_000) return;
      chunks.push(Buffer.from(buf.subarray(off, off + cap)));
      frames.push({ link, buf: big, off: 0, cap, wire });
    },
  });
  big = Buffer.concat(chunks);
  let o = 0;
  frames.forEach((f, i) => {
    f.buf = big;
    f.off = o;
    o += chunks[i].length;
  });
  const links = Int32Array.from(frames, (f) => f.link);
  const offs = Int32Array.from(frames, (f) => f.off);
  const caps = Int32Array.from(frames, (f) => f.cap);
  const wires = Int32Array.from(frames, (f) => f.wire);
  const n = frames.length;
  const pass = (): void => {
    for (let i = 0; i < n; i++) p.frame(links[i], big, offs[i], caps[i], wires[i], 0, 0);
    p.remotes.clear(); // what a flush does; keeps the remote table within its size as in serve
  };
  p.addInterface('bench');
  pass(); // warm up the JIT
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const passes = 5;
  for (let k = 0; k < passes; k++) pass();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const heap1 = process.memoryUsage().heapUsed;
  obs.disconnect();
  return { pps: (passes * n) / seconds, gcs, heapGrowthKb: (heap1 - heap0) / 1024, packets: passes * n };
}

export const POD: PodInfo = {
  uid: 'bench',
  namespace: 'shop',
  name: 'web-7d4b9c-abcde',
  nodeName: 'bench',
  hostIp: '172.31.51.15',
  ips: ['2600:1f18:1234:5600::15'],
  hostNetwork: false,
  owner: { kind: 'Deployment', namespace: 'shop', name: 'web' },
  containerIds: [],
  badAddresses: 0,
};
