// What every command builds first: topology, prices, the pipeline and its metrics.
import { PriceBook, type Prices } from '../classify/prices.js';
import { log } from '../log.js';
import { ExporterMetrics } from '../metrics/registry.js';
import { Pipeline } from '../pipeline.js';
import { loadTopology, type LoadedTopology } from '../topology/load.js';
import type { TopologyManager } from '../topology/manager.js';
import type { IpRanges } from '../topology/model.js';
import { TopologyStatus } from '../topology/status.js';

export interface CommonOptions {
  'topology.file'?: string;
  'ipRanges.file'?: string;
  'prices.file'?: string;
  'remote.topK': number;
  'remote.tableSize': number;
  /** Workload series kept (attribution on); default 100. */
  'workload.topK'?: number;
}

export interface Setup {
  loaded: LoadedTopology;
  /** The prices file over each region's built-in prices; metrics.prices holds those in force. */
  priceBook: PriceBook;
  pipeline: Pipeline;
  metrics: ExporterMetrics;
}

export function setUp(o: CommonOptions, processMetrics: boolean, ipRanges?: IpRanges): Setup {
  const loaded = loadTopology({ topologyFile: o['topology.file'], ipRangesFile: o['ipRanges.file'], ipRanges });
  const priceBook = new PriceBook(o['prices.file']);
  const status = new TopologyStatus();
  const pipeline = new Pipeline(loaded.topology, { remoteTableSize: o['remote.tableSize'] });
  const metrics = new ExporterMetrics(pipeline, { topK: o['remote.topK'], prices: pricesOf(priceBook, loaded.topology.region), processMetrics, status });
  if (loaded.file) status.success('file', loaded.topology.subnetCount);
  if (loaded.ipRanges) status.success(o['ipRanges.file'] ? 'ip_ranges_file' : 'ip_ranges', loaded.topology.ipRangePrefixCount);
  if (loaded.ipRanges && loaded.regionSource === 'default') {
    log.warn('no region in the topology file and no AWS_REGION: assuming us-east-1 for ip-ranges categories', {});
  }
  return { loaded, priceBook, pipeline, metrics };
}

/** The region's prices, and a warning where there are no built-in ones and no prices file. */
function pricesOf(book: PriceBook, region: string): Prices {
  const { prices, known } = book.forRegion(region);
  if (!known && !book.path) log.warn(`no built-in prices for ${region}: using us-east-1's; give --prices.file`, { region });
  return prices;
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
