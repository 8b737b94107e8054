// aztraffic_bytes_total and aztraffic_packets_total by direction, category and zone pair, fed by the
// engine's drained counters.
import client from 'prom-client';
import { CATEGORY_NAMES, DIRECTION_NAMES } from '../../classify/categories.js';
import type { Engine, PairTotals } from '../../engine/engine.js';

type AzLabels = { direction: string; category: string; local_az: string; remote_az: string };

export class TrafficFamily {
  private readonly bytes: client.Counter<keyof AzLabels>;
  private readonly packets: client.Counter<keyof AzLabels>;
  /** Label objects by (zones, pair, direction, category) number, so that a flush allocates none. */
  private labels = new Map<number, AzLabels>();
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
  setZones(zones: readonly string[]): void {
    this.zones = zones;
    this.labels = new Map();
  }

  take(engine: Engine): void {
    engine.drainCounters((t) => {
      const labels = this.labelsOf(t);
      this.bytes.inc(labels, t.bytes);
      this.packets.inc(labels, t.packets);
    });
  }

  private labelsOf(t: Readonly<PairTotals>): AzLabels {
    const z = this.zones.length;
    const key = ((t.localZone * z + t.remoteZone) * DIRECTION_NAMES.length + t.dir) * CATEGORY_NAMES.length + t.cat;
    let l = this.labels.get(key);
    if (l === undefined) {
      l = { direction: DIRECTION_NAMES[t.dir], category: CATEGORY_NAMES[t.cat], local_az: this.zones[t.localZone], remote_az: this.zones[t.remoteZone] };
      this.labels.set(key, l);
    }
    return l;
  }
}
