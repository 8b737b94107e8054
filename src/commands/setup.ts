// What every command builds first: topology (from its files), prices, the pipeline and its metrics.
import { readPriceBook } from '../classify/prices-file.js';
import { log } from '../config/log.js';
import { loadTopology } from '../topology/load.js';
import type { TopologyManager } from '../topology/manager.js';
import type { IpRanges } from '../topology/model.js';
import { assemble, pricesOf, type CommonOptions, type Setup } from './assemble.js';

export type { CommonOptions, Setup };

export function setUp(o: CommonOptions, processMetrics: boolean, ipRanges?: IpRanges): Setup {
  const loaded = loadTopology({ topologyFile: o['topology.file'], ipRangesFile: o['ipRanges.file'], ipRanges });
  return assemble(loaded, readPriceBook(o['prices.file']), o, processMetrics);
}

/**
 * Every new topology snapshot: the pipeline counts with it (its engine hands what it counted to the
 * metrics first), the metrics label with its zones, and prices follow its region.
 */
export function followTopology(manager: TopologyManager, s: Setup): void {
  let region = s.pipeline.topology.region;
  manager.onSnapshot((t) => {
    s.pipeline.setTopology(t);
    s.metrics.describe(t);
    if (t.region !== region) {
      region = t.region;
      s.metrics.setPrices(pricesOf(s.priceBook, region));
      log.info(`prices follow the region ${region}`, { region });
    }
  });
}
