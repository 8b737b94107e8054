// A topology built from what was read (the files, downloaded ranges) or from nothing: apart from load.ts,
// which reads and checks the files with the schema library, so that a run without files never loads it.
import { ConfigError } from '../config/errors.js';
import type { IpRanges, TopologyFile } from './model.js';
import { resolveRegion, type RegionSource } from './region.js';
import { Topology } from './topology.js';

export interface TopologyInputs {
  topologyFile?: string;
  ipRangesFile?: string;
  /** ip-ranges.json obtained otherwise (downloaded, or from the cache), when there is no file. */
  ipRanges?: IpRanges;
}

export interface LoadedTopology {
  topology: Topology;
  /** The parsed files; absent when the topology came compiled from the cache (`given` says what was). */
  file?: TopologyFile;
  ipRanges?: IpRanges;
  given: { file: boolean; ipRanges: boolean };
  /** How the region was chosen, for a note to the user. */
  regionSource: RegionSource;
}

const EMPTY_IP_RANGES: IpRanges = { prefixes: [], ipv6_prefixes: [] };

/** The topology of the parsed files (either may be absent); the region as resolveRegion decides it. */
export function compileTopology(file: TopologyFile | undefined, ipRanges: IpRanges | undefined, ipRangesFile: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedTopology {
  const { region, source: regionSource } = resolveRegion({ file: file?.region, env });
  let topology: Topology;
  try {
    topology = new Topology({ file, ipRanges: ipRanges ?? EMPTY_IP_RANGES, region });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`--ip-ranges.file ${ipRangesFile}: ${e.message}`);
    throw e;
  }
  return { topology, file, ipRanges, given: { file: file !== undefined, ipRanges: ipRanges !== undefined }, regionSource };
}
