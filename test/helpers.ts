import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { IpRanges, TopologyFile } from '../src/topology/model.js';

/** AWS's real ip-ranges.json, shared beside the project (never copied into it). */
export const SHARED_IP_RANGES = join(import.meta.dirname, '..', '..', 'shared', 'aws', 'ip-ranges.json');
export const DEMO = join(import.meta.dirname, '..', 'demo');
export const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');

export function sharedIpRangesAvailable(): boolean {
  return existsSync(SHARED_IP_RANGES);
}

/** A temporary folder removed after the file's tests. */
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'aztraffic-test-'));
  afterAll(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export function topologyFile(partial: Partial<TopologyFile>): TopologyFile {
  return { subnets: [], public_ips: [], local_ips: [], route_tables: [], prefix_lists: [], nat_gateways: [], endpoints: [], load_balancers: [], ...partial };
}

export function ipRanges(entries: [string, string, string][]): IpRanges {
  return {
    prefixes: entries.filter(([p]) => !p.includes(':')).map(([ip_prefix, region, service]) => ({ ip_prefix, region, service })),
    ipv6_prefixes: entries.filter(([p]) => p.includes(':')).map(([ipv6_prefix, region, service]) => ({ ipv6_prefix, region, service })),
  };
}

/**
 * For describe.skipIf: skip a suite whose requirement is missing on a developer's machine, but never in
 * CI (CI=true), where a skipped suite would pass the run without proving anything: there it runs and fails.
 */
export function missingOutsideCi(available: boolean): boolean {
  return !available && !process.env.CI;
}
