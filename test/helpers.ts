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
  return { subnets: [], public_ips: [], local_ips: [], route_tables: [], prefix_lists: [], nat_gateways: [], endpoints: [], load_balancers: [], interfaces: [], vpn_gateways: [], ...partial };
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

/** A free TCP port on loopback (closed again: the caller binds it). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The built CLI in a child process; asynchronous, so that fakes and servers in this process can answer it. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return import('node:child_process').then(
    ({ spawn }) =>
      new Promise((resolve) => {
        const c = spawn(process.execPath, [CLI, ...args], { env });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('close', (status) => resolve({ status, stdout, stderr }));
      }),
  );
}
