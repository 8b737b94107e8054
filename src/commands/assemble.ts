// What every command builds around a loaded topology: prices, the pipeline and its metrics. Apart from
// setup.ts (which loads the files) so that analyze, given a compiled topology, loads no parser.
import { PriceBook, type Prices } from '../classify/prices.js';
import { log } from '../config/log.js';
import { ExporterMetrics } from '../metrics/registry.js';
import { Pipeline } from '../pipeline/pipeline.js';
import type { LoadedTopology } from '../topology/loaded.js';
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

/** The prices file over the built-in prices; the file's schema is loaded only when there is one. */
export async function priceBookOf(path: string | undefined): Promise<PriceBook> {
  return path ? (await import('../classify/prices-file.js')).readPriceBook(path) : new PriceBook();
}

export function assemble(loaded: LoadedTopology, priceBook: PriceBook, o: CommonOptions, processMetrics: boolean): Setup {
  const status = new TopologyStatus();
  const pipeline = new Pipeline(loaded.topology, { remoteTableSize: o['remote.tableSize'] });
  const metrics = new ExporterMetrics(pipeline, { topK: o['remote.topK'], prices: pricesOf(priceBook, loaded.topology.region), processMetrics, status });
  noteLoaded(status, loaded, o);
  return { loaded, priceBook, pipeline, metrics };
}

/** What the files gave, in the topology's status (and a word where the region was assumed). */
export function noteLoaded(status: TopologyStatus, loaded: LoadedTopology, o: CommonOptions): void {
  if (loaded.given.file) status.success('file', loaded.topology.subnetCount);
  if (loaded.given.ipRanges) status.success(o['ipRanges.file'] ? 'ip_ranges_file' : 'ip_ranges', loaded.topology.ipRangePrefixCount);
  if (loaded.given.ipRanges && loaded.regionSource === 'default') {
    log.warn('no region in the topology file and no AWS_REGION: assuming us-east-1 for ip-ranges categories', {});
  }
}

/** The region's prices, and a warning where there are no built-in ones and no prices file. */
export function pricesOf(book: PriceBook, region: string): Prices {
  const { prices, known } = book.forRegion(region);
  if (!known && !book.path) log.warn(`no built-in prices for ${region}: using us-east-1's; give --prices.file`, { region });
  return prices;
}
