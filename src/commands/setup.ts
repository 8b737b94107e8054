// What every command builds first: topology, prices, the pipeline and its metrics.
import { defaultPrices, loadPrices, type Prices } from '../classify/prices.js';
import { log } from '../log.js';
import { ExporterMetrics } from '../metrics/registry.js';
import { Pipeline } from '../pipeline.js';
import { loadTopology, type LoadedTopology } from '../topology/load.js';
import type { IpRanges } from '../topology/model.js';

export interface CommonOptions {
  'topology.file'?: string;
  'ipRanges.file'?: string;
  'prices.file'?: string;
  'remote.topK': number;
  'remote.tableSize': number;
}

export interface Setup {
  loaded: LoadedTopology;
  prices: Prices;
  pipeline: Pipeline;
  metrics: ExporterMetrics;
}

export function setUp(o: CommonOptions, processMetrics: boolean, ipRanges?: IpRanges): Setup {
  const loaded = loadTopology({ topologyFile: o['topology.file'], ipRangesFile: o['ipRanges.file'], ipRanges });
  const regional = defaultPrices(loaded.topology.region);
  if (!regional.known && !o['prices.file']) {
    log.warn(`no built-in prices for ${loaded.topology.region}: using us-east-1's; give --prices.file`, { region: loaded.topology.region });
  }
  const prices = loadPrices(o['prices.file'], regional.prices);
  const pipeline = new Pipeline(loaded.topology, { remoteTableSize: o['remote.tableSize'] });
  const metrics = new ExporterMetrics(pipeline, { topK: o['remote.topK'], prices, processMetrics });
  const now = Date.now() / 1000;
  if (loaded.file) {
    metrics.topologySubnets.set({ source: 'file' }, loaded.topology.subnetCount);
    metrics.topologyLastSuccess.set({ source: 'file' }, now);
  }
  if (loaded.ipRanges) {
    metrics.topologySubnets.set({ source: 'ip_ranges_file' }, loaded.topology.ipRangePrefixCount);
    metrics.topologyLastSuccess.set({ source: 'ip_ranges_file' }, now);
  }
  if (loaded.ipRanges && loaded.regionSource === 'default') {
    log.warn('no region in the topology file and no AWS_REGION: assuming us-east-1 for ip-ranges categories', {});
  }
  return { loaded, prices, pipeline, metrics };
}
