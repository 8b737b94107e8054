// A full workload table: workloads past its capacity share workload="other", and their bytes are
// exported there; every byte counted for a workload is in some workload series.
import { describe, expect, it } from 'vitest';
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
    expect(workloads.overflowed).toBe(5);
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
