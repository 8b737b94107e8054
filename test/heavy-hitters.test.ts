// The whole-capture ranking of analyze (Filtered Space-Saving): every byte lands once, in a series or in
// "other"; a heavy remote wins however late it comes; a flood of one-off remotes does not churn it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HeavyHitters } from '../src/metrics/heavy-hitters.js';
import { REMOTE_SHAPE, seriesKey, type RemoteLabels } from '../src/metrics/top-k.js';

const remote = (r: string, category = 'internet'): RemoteLabels => ({ direction: 'egress', category, remote_az: '', remote: r, port: '443', path: 'direct' });
// internet egress is priced, same_az is free: cost ranks first
const cost = (l: RemoteLabels, bytes: number): number => (l.category === 'internet' ? bytes * 1e-10 : 0);

/** A series' bytes with their dollars, as the families hand them over. */
const add = (h: HeavyHitters<RemoteLabels>, l: RemoteLabels, bytes: number): void => h.add(l, bytes, cost(l, bytes));

function sums(h: HeavyHitters<RemoteLabels>, k: number) {
  const { top, other } = h.take(k);
  const total = [...top, ...other].reduce((s, e) => s + e.bytes, 0);
  return { top, other, total };
}

describe('heavy hitters over a whole capture', () => {
  it('a heavy remote after 200,000 one-off remotes ranks first, and every byte is counted once', () => {
    const h = new HeavyHitters<RemoteLabels>(1000, REMOTE_SHAPE);
    let total = 0;
    for (let i = 0; i < 200_000; i++) {
      add(h, remote(`198.18.${i >> 8}.${i & 255}`), 100);
      total += 100;
      if (i >= 150_000 && i % 10 === 0) {
        add(h, remote('54.144.10.20'), 15_000);
        total += 15_000;
      }
    }
    expect(h.replaced).toBeLessThan(50_000); // without the filter, one per new remote: 199,000 (with it, ~23,000)
    const { top, total: counted } = sums(h, 10);
    expect(counted).toBe(total);
    expect(top[0].labels.remote).toBe('54.144.10.20');
    // in from its first visit or nearly: within one visit of all of it
    expect(top[0].bytes).toBeGreaterThanOrEqual(5000 * 15_000 - 15_000);
  });

  it('a remote in the summary from its first byte has exact bytes; a free one never outranks a priced one', () => {
    const h = new HeavyHitters<RemoteLabels>(4, REMOTE_SHAPE);
    for (let i = 0; i < 100; i++) {
      add(h, remote('a'), 10);
      add(h, remote('same', 'same_az'), 1_000_000);
      add(h, remote(`x${i}`), 1);
    }
    const { top, total } = sums(h, 1);
    expect(top.map((t) => [t.labels.remote, t.bytes])).toEqual([['a', 1000]]);
    expect(total).toBe(100 * (10 + 1_000_000 + 1));
  });

  it('"other" keeps its direction, category and zone', () => {
    const h = new HeavyHitters<RemoteLabels>(2, REMOTE_SHAPE);
    add(h, remote('a'), 5);
    add(h, remote('b', 'cross_az'), 5);
    add(h, remote('c', 'cross_az'), 7);
    const { other } = sums(h, 1);
    expect(other.every((o) => o.labels.remote === 'other' && o.labels.port === '')).toBe(true);
    expect(other.map((o) => o.labels.category).sort()).toEqual(['cross_az']);
  });

  it('with room for every remote, the top k and "other" are those of a full sort by cost, bytes and key', () => {
    const categories = ['internet', 'cross_az', 'same_az'];
    const zones = ['', 'us-east-1a', 'us-east-1b'];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 5000 })), { maxLength: 200 }),
        fc.integer({ min: 1, max: 12 }),
        (adds, k) => {
          const h = new HeavyHitters<RemoteLabels>(1000, REMOTE_SHAPE);
          const exact = new Map<string, { labels: RemoteLabels; bytes: number; dollars: number }>();
          for (const [r, c, z, bytes] of adds) {
            const labels = { direction: 'egress', category: categories[c], remote_az: zones[z], remote: `10.0.0.${r}`, port: '443', path: 'direct' };
            add(h, labels, bytes);
            const e = exact.get(seriesKey(labels));
            if (e) {
              e.bytes += bytes;
              e.dollars += cost(labels, bytes);
            } else exact.set(seriesKey(labels), { labels, bytes, dollars: cost(labels, bytes) });
          }
          const sorted = [...exact.values()].sort((a, b) => b.dollars - a.dollars || b.bytes - a.bytes || (seriesKey(a.labels) < seriesKey(b.labels) ? -1 : 1));
          const others = new Map<string, number>();
          for (const e of sorted.slice(k)) {
            const key = `${e.labels.category}/${e.labels.remote_az}`;
            others.set(key, (others.get(key) ?? 0) + e.bytes);
          }
          const { top, other } = h.take(k);
          expect(top.map((t) => [t.labels, t.bytes])).toEqual(sorted.slice(0, k).map((t) => [t.labels, t.bytes]));
          for (const [i, t] of top.entries()) expect(t.dollars).toBeCloseTo(sorted[i].dollars, 12);
          expect(new Map(other.map((o) => [`${o.labels.category}/${o.labels.remote_az}`, o.bytes]))).toEqual(others);
          expect(other.every((o) => o.labels.remote === 'other' && o.labels.port === '' && o.labels.direction === 'egress')).toBe(true);
        },
      ),
    );
  });
});
