// What every command builds first: topology (from its files), prices, the pipeline and its metrics.
import { log } from '../config/log.js';
import { loadTopologyCached } from '../topology/load-cached.js';
import { TopologyManager } from '../topology/manager.js';
import { BUNDLED_IP_RANGES } from '../config/version.js';
import type { IpRanges } from '../topology/model.js';
import { compileTopology } from '../topology/loaded.js';
import { assemble, noteLoaded, priceBookOf, pricesOf, type CommonOptions, type Setup } from './assemble.js';

export type { CommonOptions, Setup };

export async function setUp(o: CommonOptions, processMetrics: boolean, ipRanges?: IpRanges): Promise<Setup> {
  // no cache: a long-running exporter compiles once, and its files may be secrets it should not copy
  const loaded = await loadTopologyCached({ topologyFile: o['topology.file'], ipRangesFile: o['ipRanges.file'], ipRanges }, undefined);
  return assemble(loaded, await priceBookOf(o['prices.file']), o, processMetrics);
}

/**
 * serve's first step: the pipeline and its metrics before the topology files are read (the prices file
 * is), so that the web server listens, not ready, while a large topology compiles.
 */
export async function setUpBeforeFiles(o: CommonOptions, processMetrics: boolean): Promise<Setup> {
  return assemble(compileTopology(undefined, undefined, undefined), await priceBookOf(o['prices.file']), o, processMetrics);
}

/** Then the topology files read, compiled and put in force; a fault in them is a ConfigError as ever. */
export async function readFiles(o: CommonOptions, s: Setup): Promise<void> {
  if (o['topology.file'] === undefined && o['ipRanges.file'] === undefined) return;
  const loaded = await loadTopologyCached({ topologyFile: o['topology.file'], ipRangesFile: o['ipRanges.file'] }, undefined);
  s.loaded = loaded;
  s.pipeline.setTopology(loaded.topology);
  s.metrics.describe(loaded.topology);
  s.metrics.setPrices(pricesOf(s.priceBook, loaded.topology.region));
  noteLoaded(s.metrics.status, loaded, o);
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

/** The flags of serve's topology sources. */
export interface TopologyFlags {
  'aws.discovery': boolean;
  'topology.refreshInterval': number;
  'ipRanges.url': string;
  'ipRanges.cache'?: string;
  'ipRanges.refreshInterval': number;
}

/**
 * serve's topology sources (the files read, ip-ranges.json downloaded and refreshed, EC2 discovery),
 * reporting to the metrics' status, each snapshot followed (followTopology); started by the caller.
 */
export function topologyManager(o: TopologyFlags, s: Setup): TopologyManager {
  const manager = new TopologyManager(
    {
      file: s.loaded.file,
      ipRangesFromFile: s.loaded.ipRanges,
      ipRangesUrl: s.loaded.ipRanges || o['ipRanges.url'] === 'none' ? undefined : o['ipRanges.url'],
      ipRangesCache: o['ipRanges.cache'],
      ipRangesBundled: BUNDLED_IP_RANGES,
      discoverAws: o['aws.discovery'],
      refreshIntervalMs: o['topology.refreshInterval'],
      ipRangesRefreshMs: o['ipRanges.refreshInterval'],
    },
    s.metrics.status,
    log,
  );
  followTopology(manager, s);
  return manager;
}
