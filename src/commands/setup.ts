// What every command builds first: topology, prices, the pipeline and its metrics.
import { loadPrices, type Prices } from '../classify/prices.js';
import { log } from '../log.js';
import { ExporterMetrics } from '../metrics/registry.js';
import { Pipeline } from '../pipeline.js';
import { loadTopology, type LoadedTopology } from '../topology/load.js';

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

export function setUp(o: CommonOptions, processMetrics: boolean): Setup {
  const loaded = loadTopology({ topologyFile: o['topology.file'], ipRangesFile: o['ipRanges.file'] });
  const prices = loadPrices(o['prices.file']);
  const pipeline = new Pipeline(loaded.topology, { remoteTableSize: o['remote.tableSize'] });
  const metrics = new ExporterMetrics(pipeline, { topK: o['remote.topK'], prices, processMetrics });
  const now = Date.now() / 1000;
  if (loaded.file) {
    metrics.topologySubnets.set({ source: 'file' }, loaded.topology.subnetCount);
    metrics.topologyLastSuccess.set({ source: 'file' }, now);
  }
  if (loaded.ipRanges) {
    metrics.topologySubnets.set({ source: 'ip_ranges' }, loaded.topology.ipRangePrefixCount);
    metrics.topologyLastSuccess.set({ source: 'ip_ranges' }, now);
  }
  if (loaded.ipRanges && loaded.regionSource === 'default') {
    log.warn('no region in the topology file and no AWS_REGION: assuming us-east-1 for ip-ranges categories', {});
  }
  return { loaded, prices, pipeline, metrics };
}
