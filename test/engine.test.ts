// The counting engine on its own: the counter layout at its limits (a 9th category, every port,
// 1,000 zones), counting through flushes, and a topology swap that loses nothing.
import { describe, expect, it } from 'vitest';
import { CATEGORY_NAMES } from '../src/classify/categories.js';
import { loadPrices } from '../src/classify/prices-file.js';
import { EMPTY_KEY, LAYOUT, makeLayout } from '../src/engine/counter-layout.js';
import { PATH_NAMES } from '../src/classify/bill.js';
import { Engine, type FlowView, type PairTotals } from '../src/engine/engine.js';
import { RemoteTable } from '../src/engine/remote-table.js';
import { ExporterMetrics } from '../src/metrics/registry.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { parseCidr } from '../src/net/ip.js';
import { Topology } from '../src/topology/topology.js';
import { parseMetrics } from './netns.js';
import { topologyFile } from './helpers.js';

const v4 = (ip: string): number => Number(parseCidr(ip).start);
const NO6 = new Uint32Array(4);
const flow4 = (src: number, dst: number, ipBytes: number, packets: number, srcPort: number, dstPort: number): FlowView => ({ family: 4, src4: src, dst4: dst, src6: NO6, dst6: NO6, ipBytes, packets, proto: 6, srcPort, dstPort });
const flow6 = (src6: Uint32Array, dst6: Uint32Array, ipBytes: number, packets: number, srcPort: number, dstPort: number): FlowView => ({ family: 6, src4: 0, dst4: 0, src6, dst6, ipBytes, packets, proto: 6, srcPort, dstPort });
const PORTS = [-1, 0, 1, 53, 1023, 1024, 32767, 32768, 65534, 65535];

describe('counter layout', () => {
  for (const categories of [8, 9, 16, 64]) {
    it(`${categories} categories: every (family, path, category, direction, port) has its own non-zero key and decodes back`, () => {
      const l = makeLayout(categories, 2);
      const seen = new Set<number>();
      for (const v6 of [false, true]) {
        for (const path of [0, 1, PATH_NAMES.length - 1]) {
          for (let cat = 0; cat < categories; cat++) {
            for (const dir of [0, 1]) {
              for (const port of PORTS) {
                const k = l.remoteKey(v6, path, cat, dir, port);
                expect(k).not.toBe(EMPTY_KEY);
                expect(k >>> 0).toBe(k); // one unsigned 32-bit word
                expect(seen.has(k)).toBe(false);
                seen.add(k);
                expect(l.decodeRemoteKey(k)).toEqual({ v6, path, cat, dir, port });
              }
            }
          }
        }
      }
    });
  }

  it('refuses a category count that does not fit one 32-bit key', () => {
    expect(() => makeLayout(1 << 12, 2)).toThrow(/too many categories/);
  });

  it('counter and spill slots of 1,000 × 1,000 zone pairs decode back', () => {
    const l = makeLayout(9, 2);
    for (const pair of [0, 1, 999, 999_999]) {
      for (let cat = 0; cat < 9; cat++) {
        for (const dir of [0, 1]) expect(l.decodePairSlot(l.pairSlot(pair, dir, cat))).toEqual({ pair, dir, cat });
      }
    }
    const zones = 1000;
    expect(l.spillSlots(zones)).toBe(2 * 9 * zones);
    for (const zone of [0, 1, 999]) expect(l.decodeSpillSlot(l.spillSlot(1, 8, zone, zones), zones)).toEqual({ dir: 1, cat: 8, zone });
  });

  it("this build's layout matches the category list", () => {
    expect(LAYOUT.categories).toBe(CATEGORY_NAMES.length);
    expect(LAYOUT.slotsPerPair).toBe(2 * CATEGORY_NAMES.length);
  });

  it('a remote table with a 9th category keeps it (3 bits made it family 6, category 0)', () => {
    const l = makeLayout(9, 2);
    const t = new RemoteTable(64, 3, undefined, l);
    t.add4(v4('198.51.100.7'), 65535, 1, 8, 0, 2, 1500, 0);
    t.add6(Uint32Array.of(0x20010db8, 0, 0, 1), -1, 0, 8, 0, 1, 40, 0);
    t.add4(v4('198.51.100.8'), 443, 0, 7, 0, 0, 100, 0);
    const got: unknown[] = [];
    t.forEach((family, addr4, _a6, port, dir, cat, _path, zone, bytes) => got.push({ family, addr4, port, dir, cat, zone, bytes }));
    expect(got).toContainEqual({ family: 4, addr4: v4('198.51.100.7'), port: 65535, dir: 1, cat: 8, zone: 2, bytes: 1500 });
    expect(got).toContainEqual({ family: 6, addr4: 0, port: -1, dir: 0, cat: 8, zone: 1, bytes: 40 });
    expect(got).toContainEqual({ family: 4, addr4: v4('198.51.100.8'), port: 443, dir: 0, cat: 7, zone: 0, bytes: 100 });
  });
});

describe('remote table', () => {
  it('a flush visits and clears only what was added since the last one, IPv4 and IPv6, however often', () => {
    const t = new RemoteTable(1024, 2);
    for (let round = 0; round < 3; round++) {
      const want = new Map<string, number>();
      for (let i = 0; i < 100 + round * 50; i++) {
        const a = v4(`198.51.${round}.${i}`);
        t.add4(a, 443, 0, 5, 0, 0, i + 1, 0);
        want.set(`4:${a}`, i + 1);
        const w = Uint32Array.of(0x20010db8, round, 0, i);
        t.add6(w, 443, 1, 5, 0, 1, 2 * i + 1, 0);
        t.add6(w, 443, 1, 5, 0, 1, 1, 0); // the same remote again: one entry
        want.set(`6:${[...w].join('.')}`, 2 * i + 2);
      }
      const got = new Map<string, number>();
      t.forEach((family, addr4, addr6, _port, _dir, _cat, _path, _zone, bytes) => got.set(family === 4 ? `4:${addr4}` : `6:${[...addr6!].join('.')}`, bytes));
      expect(got).toEqual(want);
      expect(t.size).toBe(want.size);
      t.clear();
      expect(t.size).toBe(0);
      let left = 0;
      t.forEach(() => left++);
      expect(left).toBe(0);
    }
  });

  it('grows its slots with its entries (few remotes lie in few pages): every sum, zone and order kept through each growth, full at its capacity', () => {
    const t = new RemoteTable(20_000, 4);
    const text = (r: number): string => `10.${r >> 16}.${(r >> 8) & 255}.${r & 255}`;
    const want = new Map<string, [number, number, number]>();
    for (let i = 0; i < 20_000; i++) {
      // the repeats come after later remotes were added (and the table grew in between)
      for (const r of [i, i >> 1, i >> 2]) {
        t.add4(v4(text(r)), 443, 0, 5, 0, r & 3, 10, 0);
        const w = want.get(text(r)) ?? [r & 3, 0, 0];
        w[1] += 10;
        want.set(text(r), w);
      }
    }
    const got = new Map<string, [number, number, number]>();
    t.forEach((_f, addr4, _a6, _port, _dir, _cat, _path, zone, bytes) => got.set(`${addr4 >>> 24}.${(addr4 >>> 16) & 255}.${(addr4 >>> 8) & 255}.${addr4 & 255}`, [zone, bytes, 0]));
    expect([...got.keys()]).toEqual([...want.keys()]);
    expect(got).toEqual(want);
    // full: a new remote spills, one already there is still summed
    t.add4(v4('192.0.2.1'), 443, 0, 5, 0, 0, 7, 0);
    expect(t.overflowed).toBe(1);
    t.add4(v4('10.0.0.0'), 443, 0, 5, 0, 0, 1, 0);
    expect(t.size).toBe(20_000);
  });
});

/** A topology of `n` zones: subnet 10.(i>>8).(i&255).0/24 in zone z-i (ID zid-i). */
function zonesTopology(n: number): Topology {
  const subnets = Array.from({ length: n }, (_, i) => ({ cidr: `10.${i >> 8}.${i & 255}.0/24`, zone: `z-${i}`, zone_id: `zid-${i}` }));
  return new Topology({ file: topologyFile({ subnets }), region: 'us-east-1' });
}

describe('engine', () => {
  it('1,000 zones: traffic to each counts in its own zone pair, exactly, in memory that grows with the pairs seen', () => {
    const e = new Engine(zonesTopology(1000));
    e.setLocalIps(['10.0.0.10']);
    for (let i = 0; i < 1000; i++) {
      expect(e.count(flow4(v4('10.0.0.10'), v4(`10.${i >> 8}.${i & 255}.20`), 100 + i, 1, 40000, 443))).toBe(true);
      expect(e.count(flow4(v4(`10.${i >> 8}.${i & 255}.20`), v4('10.0.0.10'), 1000 + i, 2, 443, 40000))).toBe(true);
    }
    const got: PairTotals[] = [];
    e.drainCounters((t) => got.push({ ...t }));
    expect(got).toHaveLength(2000);
    const zones = e.topology.zones;
    for (let i = 0; i < 1000; i++) {
      const egress = got.find((t) => t.dir === 0 && zones[t.remoteZone] === `z-${i}`)!;
      expect(zones[egress.localZone]).toBe('z-0');
      expect(CATEGORY_NAMES[egress.cat]).toBe(i === 0 ? 'same_az' : 'cross_az');
      expect([egress.bytes, egress.packets]).toEqual([100 + i, 1]);
      const ingress = got.find((t) => t.dir === 1 && zones[t.remoteZone] === `z-${i}`)!;
      expect([ingress.bytes, ingress.packets]).toEqual([1000 + i, 2]);
    }
    // drained: nothing twice
    const again: PairTotals[] = [];
    e.drainCounters((t) => again.push(t));
    expect(again).toEqual([]);
  });

  it('transit, IPv6, ports at their limits and large byte counts', () => {
    const e = new Engine(zonesTopology(2));
    e.setLocalIps(['10.0.0.10', '2001:db8::10']);
    expect(e.count(flow4(v4('192.0.2.1'), v4('192.0.2.2'), 500, 1, 1, 2))).toBe(false);
    expect([e.transitPackets, e.transitBytes]).toEqual([1, 500]);
    const big = 2 ** 40 + 7;
    expect(e.count(flow6(Uint32Array.of(0x20010db8, 0, 0, 0x10), Uint32Array.of(0x20010db8, 0, 0, 0x99), big, 3, 65535, -1))).toBe(true);
    const got: PairTotals[] = [];
    e.drainCounters((t) => got.push({ ...t }));
    expect(got).toEqual([{ dir: 0, cat: CATEGORY_NAMES.indexOf('internet'), localZone: 0, remoteZone: 0, bytes: big, packets: 3 }]);
    const remotes: number[] = [];
    e.remotes.forEach((_f, _a, _w, port, _d, _c, _p, _z, bytes) => remotes.push(port, bytes));
    expect(remotes).toEqual([-1, big]); // no port on one side: no service port
  });

  it('counts through flushes into the counters; a topology swap hands over what was not flushed yet', async () => {
    const topology = zonesTopology(3);
    const p = new Pipeline(topology);
    const m = new ExporterMetrics(p, { topK: 10, prices: loadPrices(undefined) });
    p.setLocalIps(['10.0.0.10']);
    const key = 'aztraffic_bytes_total{direction="egress",category="cross_az",local_az="z-0",remote_az="z-2"}';
    p.engine.count(flow4(v4('10.0.0.10'), v4('10.0.2.5'), 1000, 1, 40000, 443));
    m.flush();
    p.engine.count(flow4(v4('10.0.0.10'), v4('10.0.2.5'), 500, 1, 40000, 443));
    expect(parseMetrics(await m.render()).get(key)).toBe(1500);
    // counted, not flushed, then a new snapshot: the engine drains into the metrics before it swaps
    p.engine.count(flow4(v4('10.0.0.10'), v4('10.0.2.5'), 250, 1, 40000, 443));
    p.setTopology(zonesTopology(3));
    m.describe(p.topology);
    p.engine.count(flow4(v4('10.0.0.10'), v4('10.0.2.5'), 5, 1, 40000, 443));
    const after = parseMetrics(await m.render());
    expect(after.get(key)).toBe(1755);
    expect(after.get('aztraffic_remote_bytes_total{direction="egress",category="cross_az",remote_az="z-2",remote="10.0.2.5",port="443",path="direct"}')).toBe(1755);
    // its dollars: its one bill line (DataTransfer-Regional-Bytes, $0.01/GB), on both sides of the swap
    expect(after.get('aztraffic_remote_dollars_total{direction="egress",category="cross_az",remote_az="z-2",remote="10.0.2.5",port="443",path="direct"}')).toBeCloseTo((1755 / 2 ** 30) * 0.01, 15);
  });

  it('two engines over the two halves of a stream, merged, drain as one engine over it: same counters, same order, same remotes in the same order', () => {
    const topology = zonesTopology(6);
    const local6 = Uint32Array.of(0x20010db8, 0, 0, 0x10);
    // zone pairs, remotes and IPv6 addresses first seen in either half, some in both
    const stream: FlowView[] = [];
    for (let i = 0; i < 400; i++) {
      const zone = i < 200 ? i % 3 : (i * 7) % 6; // zones 3–5 first seen in the second half
      const remote = v4(`10.0.${zone}.${(i % 50) + 1}`);
      stream.push(i % 3 === 0 ? flow4(remote, v4('10.0.0.10'), 40 + i, 1, 443, 40000 + (i % 9)) : flow4(v4('10.0.0.10'), remote, 60 + i, 1, 40000 + (i % 9), 443 + (i % 4)));
      if (i % 5 === 0) stream.push(flow6(local6, Uint32Array.of(0x20010db8, 1, 0, i % 37), 100 + i, 2, 40000, 443));
      if (i % 11 === 0) stream.push(flow4(v4('192.0.2.1'), v4('192.0.2.2'), 77, 1, 1, 2));
    }
    const engine = (): Engine => {
      const e = new Engine(topology, 4096);
      e.setLocalIps(['10.0.0.10', '2001:db8::10']);
      return e;
    };
    const drained = (e: Engine) => {
      const counters: PairTotals[] = [];
      e.drainCounters((t) => counters.push({ ...t }));
      const usage: number[][] = [];
      e.drainUsage((combo, dir, bytes) => usage.push([combo, dir, bytes]));
      const remotes: unknown[] = [];
      e.remotes.forEach((family, a4, a6, port, dir, cat, path, zone, bytes, dollars) => remotes.push([family, a4, a6 && [...a6], port, dir, cat, path, zone, bytes, dollars]));
      return { counters, usage, remotes, transit: [e.transitPackets, e.transitBytes] };
    };
    const one = engine();
    for (const f of stream) one.count(f);
    const first = engine();
    const second = engine();
    const half = Math.floor(stream.length * 0.4);
    stream.slice(0, half).forEach((f) => first.count(f));
    stream.slice(half).forEach((f) => second.count(f));
    const entries = second.remotes.exportEntries();
    expect(first.canMerge(second.exportCounts())).toBe(true);
    expect(first.remotes.mergesWithoutFilling([entries])).toBe(true);
    first.mergeCounts(second.exportCounts());
    first.remotes.merge(entries);
    const want = drained(one);
    expect(want.remotes.length).toBeGreaterThan(100);
    expect(drained(first)).toEqual(want);
    // a table that the merged entries would fill: refused before anything is added
    const tight = new Engine(topology, want.remotes.length);
    tight.setLocalIps(['10.0.0.10', '2001:db8::10']);
    stream.slice(0, half).forEach((f) => tight.count(f));
    expect(tight.remotes.mergesWithoutFilling([entries])).toBe(false);
  });
});
