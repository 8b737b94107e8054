// Build a Topology snapshot from the files the user gave (file provider; AWS providers come later).
import { ConfigError } from '../config/errors.js';
import { loadStructuredFile } from '../config/files.js';
import { EMPTY_IP_RANGES, IpRangesSchema, TopologyFileSchema, type IpRanges, type TopologyFile } from './model.js';
import { Topology } from './topology.js';

export interface TopologyInputs {
  topologyFile?: string;
  ipRangesFile?: string;
  /** ip-ranges.json obtained otherwise (downloaded, or from the cache), when there is no file. */
  ipRanges?: IpRanges;
}

export interface LoadedTopology {
  topology: Topology;
  file?: TopologyFile;
  ipRanges?: IpRanges;
  /** How the region was chosen, for a note to the user. */
  regionSource: 'topology file' | 'AWS_REGION' | 'default';
}

export const DEFAULT_REGION = 'us-east-1';

export function loadTopology(inputs: TopologyInputs, env: NodeJS.ProcessEnv = process.env): LoadedTopology {
  const file = inputs.topologyFile ? loadStructuredFile('--topology.file', inputs.topologyFile, TopologyFileSchema) : undefined;
  const ipRanges = inputs.ipRangesFile ? loadStructuredFile('--ip-ranges.file', inputs.ipRangesFile, IpRangesSchema) : inputs.ipRanges;
  let region = DEFAULT_REGION;
  let regionSource: LoadedTopology['regionSource'] = 'default';
  if (file?.region) {
    region = file.region;
    regionSource = 'topology file';
  } else if (env.AWS_REGION) {
    region = env.AWS_REGION;
    regionSource = 'AWS_REGION';
  }
  let topology: Topology;
  try {
    topology = new Topology({ file, ipRanges: ipRanges ?? EMPTY_IP_RANGES, region });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`--ip-ranges.file ${inputs.ipRangesFile}: ${e.message}`);
    throw e;
  }
  return { topology, file, ipRanges, regionSource };
}
