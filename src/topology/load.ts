// The topology files the user gave, read and checked (the schema library and the YAML parser are loaded
// with this module), then compiled by loaded.ts.
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';
import { loadStructuredFile } from '../config/files.js';
import { compileTopology, type LoadedTopology, type TopologyInputs } from './loaded.js';
import { IpRangesSchema, TopologyFileSchema, type TopologyFile } from './model.js';
import { parseCidr } from '../net/ip.js';

/** Lines (1-based) of a text that contain `needle` as a whole word. */
function linesWith(text: string, needle: string): number[] {
  const re = new RegExp(`(^|[^0-9a-fA-F:./])${needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^0-9a-fA-F:./])`);
  const out: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (re.test(line)) out.push(i + 1);
  });
  return out;
}

/**
 * The same prefix (or public IP) twice with different zones is a mistake in the file that "last one
 * wins" would hide: an error naming both entries and their lines.
 */
export function checkConflicts(path: string, file: TopologyFile): void {
  const where = (list: string, i: number, key: string, nth: number): string => {
    let lines: number[] = [];
    try {
      lines = linesWith(readFileSync(path, 'utf8'), key);
    } catch {
      // the file was read a moment ago; without it, the index says enough
    }
    return `${list}[${i}]${lines[nth] ? ` (line ${lines[nth]})` : ''}`;
  };
  const zoneOf = (e: { zone?: string; zone_id?: string }): string => [e.zone, e.zone_id].filter(Boolean).join(' / ') || 'no zone';
  const check = <T extends { zone?: string; zone_id?: string }>(list: string, entries: T[], keyOf: (e: T) => string, textOf: (e: T) => string): void => {
    const seen = new Map<string, { i: number; n: number }>();
    entries.forEach((e, i) => {
      const key = keyOf(e);
      const first = seen.get(key);
      if (first === undefined) {
        seen.set(key, { i, n: 1 });
        return;
      }
      first.n++;
      const a = entries[first.i];
      if ((a.zone ?? '') === (e.zone ?? '') && (a.zone_id ?? '') === (e.zone_id ?? '')) return;
      throw new ConfigError(
        `--topology.file ${path}: ${where(list, first.i, textOf(a), 0)} and ${where(list, i, textOf(e), first.n - 1)} both give ${textOf(e)}, in different zones (${zoneOf(a)}; ${zoneOf(e)})`,
      );
    });
  };
  const prefixKey = (text: string): string => {
    const c = parseCidr(text);
    return `${c.family}|${c.start}|${c.length}`;
  };
  check('subnets', file.subnets, (s) => prefixKey(s.cidr), (s) => s.cidr);
  check('public_ips', file.public_ips, (p) => prefixKey(p.ip), (p) => p.ip);
  // a route through a prefix list the file does not give, or to a NAT gateway it does not name, would
  // silently price nothing (or no cross-zone leg): say which
  const lists = new Set(file.prefix_lists.map((l) => l.id));
  const nats = new Set(file.nat_gateways.map((n) => n.id));
  file.route_tables.forEach((t, i) => {
    for (const r of t.routes) {
      if (r.prefix_list !== undefined && !lists.has(r.prefix_list)) {
        throw new ConfigError(`--topology.file ${path}: route_tables[${i}] (${t.id}) routes ${r.prefix_list} to ${r.target}, but prefix_lists has no ${r.prefix_list}`);
      }
      if (r.target.startsWith('nat-') && !nats.has(r.target)) {
        throw new ConfigError(`--topology.file ${path}: route_tables[${i}] (${t.id}) routes to ${r.target}, but nat_gateways has no ${r.target} (its zone decides the cross-zone line)`);
      }
    }
  });
}

export function loadTopology(inputs: TopologyInputs, env: NodeJS.ProcessEnv = process.env): LoadedTopology {
  const file = inputs.topologyFile ? loadStructuredFile('--topology.file', inputs.topologyFile, TopologyFileSchema) : undefined;
  if (file) checkConflicts(inputs.topologyFile!, file);
  const ipRanges = inputs.ipRangesFile ? loadStructuredFile('--ip-ranges.file', inputs.ipRangesFile, IpRangesSchema) : inputs.ipRanges;
  return compileTopology(file, ipRanges, inputs.ipRangesFile, env);
}
