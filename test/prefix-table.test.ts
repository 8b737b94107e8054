import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCidr, type Cidr } from '../src/net/ip.js';
import { IpRangesSchema } from '../src/topology/model.js';
import { PrefixTable4, PrefixTable6, type RankedPrefix } from '../src/topology/prefix-table.js';
import { longestRoutes, type Route } from '../src/topology/route-cells.js';
import { Topology } from '../src/topology/topology.js';
import { SHARED_IP_RANGES, topologyFile } from './helpers.js';

/** Reference: scan every prefix, keep the highest rank (ties: the later one). */
function naive(prefixes: RankedPrefix[], addr: bigint, family: 4 | 6): number {
  let best: RankedPrefix | undefined;
  for (const p of prefixes) {
    if (p.cidr.family !== family || addr < p.cidr.start || addr > p.cidr.end) continue;
    if (!best || p.rank >= best.rank) best = p;
  }
  return best?.value ?? 0;
}

function words(v: bigint): Uint32Array {
  return Uint32Array.from([96n, 64n, 32n, 0n], (s) => Number((v >> s) & 0xffffffffn));
}

const ranked = (text: string, priority: number, value: number): RankedPrefix => {
  const cidr = parseCidr(text);
  return { cidr, rank: priority * 256 + cidr.length, value };
};

describe('prefix tables', () => {
  it('longest prefix wins within a priority; higher priority wins over longer prefixes', () => {
    const ps = [ranked('10.0.0.0/8', 1, 1), ranked('10.1.0.0/16', 1, 2), ranked('10.1.2.0/24', 1, 3), ranked('10.1.0.0/16', 5, 4), ranked('10.1.2.3/32', 1, 5)];
    const t = new PrefixTable4(ps);
    const at = (ip: string) => t.lookup(Number(parseCidr(ip).start));
    expect(at('10.0.0.1')).toBe(1);
    expect(at('10.1.9.9')).toBe(4); // the /16 of priority 5 beats the /24 of priority 1
    expect(at('10.1.2.3')).toBe(4);
    expect(at('11.0.0.0')).toBe(0);
    expect(at('9.255.255.255')).toBe(0);
    expect(at('0.0.0.0')).toBe(0);
    expect(at('255.255.255.255')).toBe(0);
  });

  it('matches a brute-force scan for random IPv4 prefix sets', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(0xffffffff), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(0xffffffff), { minLength: 20, maxLength: 20 }),
        (raw, probes) => {
          const ps = raw.map(([a, len, pri], i) => {
            const host = 32n - BigInt(len);
            const start = (BigInt(a) >> host) << host;
            return { cidr: { family: 4 as const, start, end: start + (1n << host) - 1n, length: len }, rank: pri * 256 + len, value: i + 1 };
          });
          const t = new PrefixTable4(ps);
          // probe the edges of every prefix too
          const points = [...probes.map(BigInt), ...ps.flatMap((p) => [p.cidr.start, p.cidr.end, p.cidr.end + 1n])].filter((x) => x <= 0xffffffffn);
          for (const x of points) expect(t.lookup(Number(x))).toBe(naive(ps, x, 4));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("AWS's real ip-ranges.json: IPv4 and IPv6 lookups equal a brute-force longest-prefix scan", () => {
    const ranges = IpRangesSchema.parse(JSON.parse(readFileSync(SHARED_IP_RANGES, 'utf8')));
    const prefixes: RankedPrefix[] = [];
    const seen = new Map<string, number>();
    for (const p of [...ranges.prefixes.map((x) => x.ip_prefix), ...ranges.ipv6_prefixes.map((x) => x.ipv6_prefix)]) {
      if (!seen.has(p)) {
        seen.set(p, seen.size + 1);
        prefixes.push(ranked(p, 3, seen.get(p)!));
      }
    }
    expect(prefixes.length).toBeGreaterThan(5000);
    const t4 = new PrefixTable4(prefixes);
    const t6 = new PrefixTable6(prefixes);
    let rnd = 12345;
    const next = () => (rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0);
    const v4 = prefixes.filter((p) => p.cidr.family === 4);
    const v6 = prefixes.filter((p) => p.cidr.family === 6);
    for (let i = 0; i < 3000; i++) {
      // points inside known prefixes, at their edges, and anywhere
      const p = v4[next() % v4.length];
      for (const x of [p.cidr.start + (BigInt(next()) % (p.cidr.end - p.cidr.start + 1n)), p.cidr.start - 1n, p.cidr.end + 1n, BigInt(next())]) {
        if (x < 0n || x > 0xffffffffn) continue;
        expect(t4.lookup(Number(x))).toBe(naive(prefixes, x, 4));
      }
      const q = v6[next() % v6.length];
      for (const x of [q.cidr.start + ((BigInt(next()) << 40n) % (q.cidr.end - q.cidr.start + 1n)), q.cidr.start - 1n, q.cidr.end + 1n]) {
        if (x < 0n || x >= 1n << 128n) continue;
        expect(t6.lookup(words(x))).toBe(naive(prefixes, x, 6));
      }
    }
  });
});

describe('route cells: the longest covering route of each table', () => {
  /** Reference: every route of the table against the cell, the longest covering one (the first of equals). */
  const scan = (table: Route[], c: Cidr): string => {
    let best: Route | undefined;
    for (const r of table) {
      const size = (r.cidr.family === 4 ? 32 : 128) - r.cidr.length;
      const end = r.cidr.start + (1n << BigInt(size)) - 1n;
      if (r.cidr.family !== c.family || r.cidr.start > c.start || end < c.end) continue;
      if (!best || r.cidr.length > best.cidr.length) best = r;
    }
    return best?.target ?? '';
  };
  // nested and overlapping prefixes: a few short prefixes and their subdivisions, in both families
  const prefix = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 32 })).map(([a, b, len]) => parseCidr(`10.${a}.${b}.0/${Math.max(len, 0)}`)),
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 128 })).map(([a, len]) => parseCidr(`2600:1f18:${a}::/${len}`)),
  );
  it('equals a scan of every route, on random tables of nested prefixes', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.record({ cidr: prefix, target: fc.constantFrom('nat-1', 'tgw-1', 'vpce-1', 'pcx-1', 'igw-1') }), { maxLength: 40 }), { minLength: 1, maxLength: 4 }), (tables) => {
        const cells: Cidr[] = [parseCidr('0.0.0.0/32'), ...tables.flat().map((r) => r.cidr)];
        const got = longestRoutes(tables, cells);
        tables.forEach((t, ti) => cells.forEach((c, ci) => ci > 0 && expect(got[ti][ci], `${ti} ${ci}`).toBe(scan(t, c))));
      }),
      { numRuns: 300 },
    );
  });

  it('100k routes in one table, and a 100k-entry prefix list, compile in about a second (was minutes: a scan per cell)', () => {
    const cidrs = Array.from({ length: 100_000 }, (_, i) => `${20 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`);
    const routes = cidrs.map((destination, i) => ({ destination, target: `tgw-${i % 7}` }));
    const t0 = performance.now();
    const t = new Topology({
      file: topologyFile({
        subnets: [{ cidr: '10.0.0.0/24', zone: 'us-east-1a', id: 'subnet-a', vpc: 'vpc-1' }],
        route_tables: [
          { id: 'rtb-1', vpc: 'vpc-1', main: true, subnets: [], routes: [{ destination: '0.0.0.0/0', target: 'igw-1' }, ...routes] },
          { id: 'rtb-2', vpc: 'vpc-2', main: true, subnets: [], routes: [{ prefix_list: 'pl-1', target: 'vpce-1' }] },
        ],
        prefix_lists: [{ id: 'pl-1', cidrs }],
      }),
      ipRanges: { prefixes: [], ipv6_prefixes: [] },
      region: 'us-east-1',
    });
    // the figure is the bench's; this holds it within the test's time limit on any machine
    console.log(`100k routes + 100k prefix-list entries compiled in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    expect(t.routeTableCount).toBe(2);
    expect(t.compiled().facts.routeTargets[0].filter((x) => x.startsWith('tgw-')).length).toBe(100_000);
  }, 60_000);
});
