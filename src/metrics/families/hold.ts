// aztraffic_held_bytes_total and aztraffic_held_flows: traffic counted before the topology was known,
// held and then classified (or, past --topology.hold, counted unclassified; or, the hold full, at once).
import client from 'prom-client';
import type { Hold } from '../../engine/hold.js';

type HoldState = { outcomes: Hold['outcomes']; flows: number };

/** `hold` gives what the hold in force (or the one that ended) did. */
export function registerHoldFamily(registry: client.Registry, hold: () => HoldState | undefined): void {
  const last = { classified: 0, unclassified: 0, table_full: 0 };
  new client.Counter({
    name: 'aztraffic_held_bytes_total',
    help: 'IP-layer bytes counted before the topology was known, held, by outcome: classified once it was; unclassified (held past --topology.hold); table_full (counted unclassified at once).',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const h = hold();
      for (const outcome of ['classified', 'unclassified', 'table_full'] as const) {
        const now = h?.outcomes[outcome] ?? 0;
        this.inc({ outcome }, now - last[outcome]);
        last[outcome] = now;
      }
    },
  });
  new client.Gauge({
    name: 'aztraffic_held_flows',
    help: 'Flows held now, waiting for the topology (0 once it is known).',
    registers: [registry],
    collect() {
      this.set(hold()?.flows ?? 0);
    },
  });
}
