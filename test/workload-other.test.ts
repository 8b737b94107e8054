// A full workload table: workloads past its capacity share workload="other", and their bytes are
// exported there; every byte counted for a workload is in some workload series.
import { describe, expect, it } from 'vitest';
import { Attribution } from '../src/attribution/attribution.js';
import type { PodInfo } from '../src/attribution/pods.js';
import { Workloads } from '../src/attribution/workloads.js';
import { loadPrices } from '../src/classify/prices-file.js';
import { addressKey } from '../src/engine/engine.js';
import { ExporterMetrics } from '../src/metrics/registry.js';
import { parseCidr } from '../src/net/ip.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { Topology } from '../src/topology/topology.js';
import { topologyFile } from './helpers.js';
import { parseMetrics } from './netns.js';

const v4 = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

describe('workload table full', () => {
  it('bytes of workloads that found the table full are exported as workload="other", none dropped', async () => {
    const p = new Pipeline(new Topology({ file: topologyFile({ subnets: [{ cidr: '10.0.0.0/16', zone: 'us-east-1a', zone_id: 'use1-az1' }] }), region: 'us-east-1' }));
    const m = new ExporterMetrics(p, { topK: 100, prices: loadPrices(undefined) });
    // room for unknown, other and 3 more: pods 4 to 7 find it full
    const workloads = new Workloads(5);
    m.attributeWorkloads(workloads, 100);
    const pods = Array.from({ length: 8 }, (_, i) => `10.0.1.${i + 1}`);
    const byAddress = new Map(pods.map((ip, i) => [addressKey(parseCidr(ip)), workloads.id('Deployment', 'shop', `app-${i}`)]));
    expect(workloads.folded).toBe(5);
    p.engine.attribute(byAddress);
    p.setLocalIps(pods);
    let total = 0;
    pods.forEach((ip, i) => {
      const bytes = 1000 * (i + 1);
      total += bytes;
      p.engine.count({ family: 4, src4: v4(ip), dst4: v4('198.51.100.7'), src6: new Uint32Array(4), dst6: new Uint32Array(4), ipBytes: bytes, packets: 1, proto: 6, srcPort: 40000, dstPort: 443 });
    });
    m.flush();
    const series = [...parseMetrics(await m.render()).entries()].filter(([k]) => k.startsWith('aztraffic_workload_bytes_total{'));
    const sum = series.reduce((a, [, v]) => a + v, 0);
    expect(sum).toBe(total);
    const other = series.filter(([k]) => k.includes('workload="other"')).reduce((a, [, v]) => a + v, 0);
    // app-3 … app-7 found the table full
    expect(other).toBe(1000 * (4 + 5 + 6 + 7 + 8));
  });
});

describe('workload churn', () => {
  const pod = (i: number, owner: { kind: 'Job' | 'Deployment'; name: string }, ip: string): PodInfo => ({
    uid: `uid-${i}`,
    namespace: 'ci',
    name: `${owner.name}-${i}`,
    nodeName: 'node-a',
    hostIp: '10.0.0.1',
    ips: [ip],
    hostNetwork: false,
    owner: { kind: owner.kind, namespace: 'ci', name: owner.name },
    containerIds: [],
    badAddresses: 0,
  });

  it('5,000 one-off pods come and go: the table forgets them, a new Deployment is named, not "other"', async () => {
    const p = new Pipeline(new Topology({ file: topologyFile({ subnets: [{ cidr: '10.0.0.0/16', zone: 'us-east-1a', zone_id: 'use1-az1' }] }), region: 'us-east-1' }));
    const m = new ExporterMetrics(p, { topK: 10, prices: loadPrices(undefined) });
    const a = new Attribution(p.engine, { processes: false });
    // every workload keeps its series (no demoted series removed), so that their sum can be checked
    m.attributeWorkloads(a.workloads, 10_000, () => a.heldWorkloads());
    const send = (ip: string, bytes: number): void => {
      p.engine.count({ family: 4, src4: v4(ip), dst4: v4('198.51.100.7'), src6: new Uint32Array(4), dst6: new Uint32Array(4), ipBytes: bytes, packets: 1, proto: 6, srcPort: 40000, dstPort: 443 });
    };
    // 50 rounds of 100 pods of their own Job each, each pod sending, then gone at the next round
    for (let round = 0; round < 50; round++) {
      const pods = Array.from({ length: 100 }, (_, i) => pod(round * 100 + i, { kind: 'Job', name: `build-${round * 100 + i}` }, `10.0.${1 + (i >> 6)}.${(i & 63) + 2}`));
      a.setPods(pods);
      p.setLocalIps(a.podIps);
      for (const x of pods) send(x.ips[0], 100);
      m.flush();
    }
    a.setPods([pod(9999, { kind: 'Deployment', name: 'checkout' }, '10.0.9.9')]);
    p.setLocalIps(a.podIps);
    send('10.0.9.9', 12345);
    m.flush();
    const text = parseMetrics(await m.render());
    expect(text.get('aztraffic_workload_bytes_total{direction="egress",category="internet",namespace="ci",workload="checkout",workload_kind="Deployment"}')).toBe(12345);
    expect(text.get('aztraffic_workload_table_folded_total')).toBe(0);
    expect(text.get('aztraffic_workload_table_released_total')).toBe(5000);
    // unknown, other and the Deployment
    expect(text.get('aztraffic_workload_table_entries')).toBe(3);
    expect(text.get('aztraffic_workload_table_capacity')).toBe(4096);
    // every byte in some workload series
    const sum = [...text.entries()].filter(([k]) => k.startsWith('aztraffic_workload_bytes_total{')).reduce((s, [, v]) => s + v, 0);
    expect(sum).toBe(5000 * 100 + 12345);
    a.stop();
  });

  it('a number is given back only when nothing holds it, and comes back with its new name', () => {
    const w = new Workloads(5);
    const a = w.id('process', '', 'a');
    const b = w.id('process', '', 'b');
    expect(w.release(new Set([a]))).toBe(1);
    expect(w.id('process', '', 'a')).toBe(a);
    const c = w.id('process', '', 'c');
    expect(c).toBe(b);
    expect(w.get(c).name).toBe('c');
    expect(w.size).toBe(4);
  });
});
