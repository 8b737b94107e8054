// aztraffic_bytes_total and aztraffic_packets_total by direction, category and zone pair, fed by the
// engine's drained counters.
import client from 'prom-client';
import { CATEGORY_NAMES, DIRECTION_NAMES } from '../../classify/categories.js';
import type { PairTotals } from '../../engine/engine.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import type { Topology } from '../../topology/topology.js';
import type { MetricFamily } from './family.js';

type AzLabels = { direction: string; category: string; local_az: string; remote_az: string };

/** One series' labels, and what the drain gave it since the last flush. */
interface Pending {
  labels: AzLabels;
  bytes: number;
  packets: number;
  touched: boolean;
}

export class TrafficFamily implements MetricFamily {
  private readonly bytes: client.Counter<keyof AzLabels>;
  private readonly packets: client.Counter<keyof AzLabels>;
  /**
   * By (zones, direction, category) number: the labels (a flush allocates none) and the sums of the
   * drain. The engine's pairs carry the workload too: with 150 pods one series gets a count per pod,
   * summed here so that prom-client hashes each series' labels once per flush, not once per pod.
   */
  private series = new Map<number, Pending>();
  private touched: Pending[] = [];
  private zones: readonly string[] = [''];

  constructor(registers: client.Registry[]) {
    this.bytes = new client.Counter({
      name: 'aztraffic_bytes_total',
      help: 'IP-layer bytes (IP length fields, as AWS bills) by direction, billing category and zones.',
      labelNames: ['direction', 'category', 'local_az', 'remote_az'],
      registers,
    });
    this.packets = new client.Counter({
      name: 'aztraffic_packets_total',
      help: 'IP packets by direction, billing category and zones.',
      labelNames: ['direction', 'category', 'local_az', 'remote_az'],
      registers,
    });
  }

  /** Zone names of the topology in force (label values of local_az, remote_az). */
  describe(t: Topology): void {
    this.zones = t.zones;
    this.series = new Map();
  }

  take(p: Pipeline): void {
    const touched = this.touched;
    p.engine.drainCounters((t) => {
      const s = this.seriesOf(t);
      if (!s.touched) {
        s.touched = true;
        touched.push(s);
      }
      s.bytes += t.bytes;
      s.packets += t.packets;
    });
    for (const s of touched) {
      this.bytes.inc(s.labels, s.bytes);
      this.packets.inc(s.labels, s.packets);
      s.bytes = 0;
      s.packets = 0;
      s.touched = false;
    }
    touched.length = 0;
  }

  private seriesOf(t: Readonly<PairTotals>): Pending {
    const z = this.zones.length;
    const key = ((t.localZone * z + t.remoteZone) * DIRECTION_NAMES.length + t.dir) * CATEGORY_NAMES.length + t.cat;
    let s = this.series.get(key);
    if (s === undefined) {
      s = {
        labels: { direction: DIRECTION_NAMES[t.dir], category: CATEGORY_NAMES[t.cat], local_az: this.zones[t.localZone], remote_az: this.zones[t.remoteZone] },
        bytes: 0,
        packets: 0,
        touched: false,
      };
      this.series.set(key, s);
    }
    return s;
  }
}
