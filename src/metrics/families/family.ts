// What a metric family does at each of the registry's moments. The registry keeps its families in one
// list and calls, at each moment, those that have its method: a family is one module and one entry in
// that list (registry.ts, FAMILIES).
import type { Prices } from '../../classify/prices.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import type { Topology } from '../../topology/topology.js';

export interface MetricFamily {
  /** Move what the pipeline counted since the last flush into the family's series. */
  take?(p: Pipeline): void;
  /** A new topology snapshot is in force. */
  describe?(t: Topology): void;
  /** New prices are in force (they follow the topology's region). */
  setPrices?(prices: Prices): void;
  /** Before a render: choose the series shown (top K). */
  settle?(): void;
}
