import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { firstK, REMOTE_SHAPE, seriesKey, TopK, type RemoteLabels } from '../src/metrics/top-k.js';
import { WORKLOAD_SHAPE, type WorkloadLabels } from '../src/metrics/families/workloads.js';

class Sink {
  values = new Map<string, number>();
  removed: string[] = [];
  dollars = new Map<string, number>();
  inc(l: RemoteLabels, v: number, d: number) {
    this.dollars.set(seriesKey(l), (this.dollars.get(seriesKey(l)) ?? 0) + d);
    const k = seriesKey(l);
    this.values.set(k, (this.values.get(k) ?? 0) + v);
  }
  remove(l: RemoteLabels) {
    this.removed.push(seriesKey(l));
    this.values.delete(seriesKey(l));
  }
  get(remote: string) {
    return [...this.values].filter(([k]) => k.split('\u0000')[3] === remote).reduce((s, [, v]) => s + v, 0);
  }
  total() {
    return [...this.values.values()].reduce((a, b) => a + b, 0);
  }
}

const remotesTopK = (k: number): TopK<RemoteLabels> => new TopK(k, REMOTE_SHAPE);
const labels = (remote: string): RemoteLabels => ({ direction: 'egress', category: 'internet', remote_az: '', remote, port: '443', path: 'direct' });
const deltas = (m: Record<string, number>, dollars: Record<string, number> = {}) =>
  new Map(Object.entries(m).map(([r, bytes]) => [seriesKey(labels(r)), { labels: labels(r), bytes, dollars: dollars[r] ?? 0 }]));

describe('top-K remotes', () => {
  it('keeps the K largest, sums the rest under remote="other", loses nothing', () => {
    const t = remotesTopK(2);
    const s = new Sink();
    t.flush(deltas({ a: 100, b: 50, c: 10, d: 5 }), [{ labels: labels('x'), bytes: 7, dollars: 0 }], s);
    expect(s.get('a')).toBe(100);
    expect(s.get('b')).toBe(50);
    expect(s.get('c')).toBe(0);
    expect(s.get('other')).toBe(22);
    expect(s.total()).toBe(172);
  });

  it('ranks by dollars before bytes, and folds dollars with their bytes', () => {
    const t = remotesTopK(1);
    const s = new Sink();
    // b moves fewer bytes but through a priced path: it is the one kept
    t.flush(deltas({ a: 1000, b: 10 }, { a: 0, b: 0.5 }), [{ labels: labels('x'), bytes: 3, dollars: 0.25 }], s);
    expect(s.get('b')).toBe(10);
    expect(s.get('other')).toBe(1003);
    const dollars = (remote: string) => [...s.dollars].filter(([k]) => k.split('\u0000')[3] === remote).reduce((sum, [, v]) => sum + v, 0);
    expect(dollars('b')).toBe(0.5);
    expect(dollars('other')).toBe(0.25);
  });

  it('incumbents hold their place against a slightly larger newcomer (hysteresis)', () => {
    const t = remotesTopK(1);
    const s = new Sink();
    t.flush(deltas({ a: 100 }), [], s);
    t.flush(deltas({ a: 100, b: 150 }), [], s);
    expect(s.get('a')).toBe(200);
    expect(s.get('other')).toBe(150);
    t.flush(deltas({ a: 100, b: 300 }), [], s);
    expect(s.get('b')).toBe(300);
    expect(s.get('a')).toBe(200); // frozen: never decremented
    expect(s.get('other')).toBe(250);
  });

  it('series stay bounded under churn: at most K members and K frozen', () => {
    const t = remotesTopK(5);
    const s = new Sink();
    let sent = 0;
    for (let round = 0; round < 200; round++) {
      const d: Record<string, number> = {};
      for (let i = 0; i < 20; i++) d[`r${round}-${i}`] = 1000 + i;
      sent += Object.values(d).reduce((a, b) => a + b, 0);
      t.flush(deltas(d), [], s);
      expect(t.exported).toBeLessThanOrEqual(10);
    }
    expect(s.removed.length).toBeGreaterThan(0);
    // what remains exported never exceeds what was sent, and other grows with every round
    expect(s.total()).toBeLessThanOrEqual(sent);
    expect(s.get('other')).toBeGreaterThan(0);
  });
});

describe('firstK', () => {
  it('gives the first k in order, as a full sort would, whatever the input order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 20 })), { maxLength: 300 }), fc.integer({ min: 1, max: 40 }), (pairs, k) => {
        const items = pairs.map(([cost, bytes], i) => ({ cost, bytes, key: `k${i}` }));
        const order = (a: (typeof items)[0], b: (typeof items)[0]): number => b.cost - a.cost || b.bytes - a.bytes || (a.key < b.key ? -1 : 1);
        expect(firstK(items, k, order)).toEqual([...items].sort(order).slice(0, k));
      }),
    );
  });
});

describe('series shapes', () => {
  const value = fc.oneof(fc.constant(''), fc.constant('other'), fc.string({ maxLength: 12 }).filter((v) => !v.includes('\u0000')));
  it('the key of the series a key folds into, from the key alone, is that of its "other" labels', () => {
    fc.assert(
      fc.property(value, value, value, value, value, value, (a, b, c, d, e, f) => {
        const r: RemoteLabels = { direction: a, category: b, remote_az: c, remote: d, port: e, path: f };
        expect(REMOTE_SHAPE.otherKey(REMOTE_SHAPE.key(r))).toBe(REMOTE_SHAPE.key(REMOTE_SHAPE.other(r)));
        expect(REMOTE_SHAPE.labels(REMOTE_SHAPE.otherKey(REMOTE_SHAPE.key(r)))).toEqual(REMOTE_SHAPE.other(r));
        const w: WorkloadLabels = { direction: a, category: b, namespace: c, workload: d, workload_kind: e };
        expect(WORKLOAD_SHAPE.otherKey(WORKLOAD_SHAPE.key(w))).toBe(WORKLOAD_SHAPE.key(WORKLOAD_SHAPE.other(w)));
        expect(WORKLOAD_SHAPE.labels(WORKLOAD_SHAPE.otherKey(WORKLOAD_SHAPE.key(w)))).toEqual(WORKLOAD_SHAPE.other(w));
      }),
    );
  });
});
