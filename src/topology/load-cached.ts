// loadTopology through the compiled-topology cache: on a hit neither the YAML nor the schema library is
// loaded, and nothing is compiled; on a miss the files are loaded as always and the result kept.
import { readFileSync } from 'node:fs';
import { log } from '../config/log.js';
import { cacheKey, readCached, writeCached } from './compiled-cache.js';
import { compileTopology, type LoadedTopology, type TopologyInputs } from './loaded.js';
import { Topology } from './topology.js';

function bytesOf(path: string | undefined): Buffer | undefined | null {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch {
    return null; // loadTopology says what is wrong with it, in its words
  }
}

/** As loadTopology, through the cache in `dir` (undefined: no cache). Files only: not downloaded ranges. */
export async function loadTopologyCached(inputs: TopologyInputs, dir: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LoadedTopology> {
  // nothing to read: nothing to parse, nothing worth a cache entry
  if (inputs.topologyFile === undefined && inputs.ipRangesFile === undefined) return compileTopology(undefined, inputs.ipRanges, undefined, env);
  const topologyFile = bytesOf(inputs.topologyFile);
  const ipRangesFile = bytesOf(inputs.ipRangesFile);
  const cacheable = dir !== undefined && inputs.ipRanges === undefined && topologyFile !== null && ipRangesFile !== null;
  const key = cacheable ? cacheKey({ topologyFile, ipRangesFile, env }) : '';
  if (cacheable) {
    const { entry, problem } = readCached(dir, key);
    if (problem) log.warn(`compiled-topology cache: ${problem}; compiling again`, {});
    if (entry) {
      try {
        const topology = new Topology(entry.compiled);
        log.debug(`compiled topology read from the cache in ${dir}`, { key });
        return { topology, ...entry.facts };
      } catch (e) {
        log.warn(`compiled-topology cache: entry ${key} in ${dir}: ${(e as Error).message}; compiling again`, {});
      }
    }
  }
  const { loadTopology } = await import('./load.js');
  const loaded = loadTopology(inputs, env);
  if (cacheable) {
    try {
      writeCached(dir, key, { compiled: loaded.topology.compiled(), facts: { given: loaded.given, regionSource: loaded.regionSource } });
      log.debug(`compiled topology kept in the cache in ${dir}`, { key });
    } catch (e) {
      // a read-only home or container: slower next start, nothing else
      log.debug(`compiled-topology cache: cannot write to ${dir}: ${(e as Error).message}`, {});
    }
  }
  return loaded;
}
