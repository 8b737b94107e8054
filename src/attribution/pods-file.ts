// `analyze --pods FILE`: the output of `kubectl get pods -A -o json` (a List of Pods; one Pod is
// taken too), so that an offline capture is attributed by local IP as the live exporter does.
import { z } from 'zod';
import { loadStructuredFile } from '../config/files.js';
import { podInfo, type PodInfo, type PodObject } from './pods.js';

const pod = z.looseObject({
  metadata: z.looseObject({ name: z.string(), namespace: z.string().optional() }),
  spec: z.looseObject({}).optional(),
  status: z.looseObject({}).optional(),
});

// a List (kubectl get pods -o json), or one Pod (kubectl get pod NAME -o json)
const podsFile = z.preprocess((v) => (v !== null && typeof v === 'object' && !('items' in v) ? { items: [v] } : v), z.looseObject({ items: z.array(pod) }));

/**
 * Pods of several files (snapshots taken at different times): one entry per pod, the latest file's
 * (its phase and end), with the earliest start any file gives.
 */
export async function loadPodsFiles(paths: readonly string[]): Promise<PodInfo[]> {
  const byUid = new Map<string, PodInfo>();
  for (const path of paths) {
    for (const p of await loadPodsFile(path)) {
      const before = byUid.get(p.uid);
      const from = [before?.from, p.from].filter((t): t is number => t !== undefined);
      byUid.set(p.uid, { ...p, from: from.length > 0 ? Math.min(...from) : undefined, until: p.until ?? before?.until });
    }
  }
  return [...byUid.values()];
}

export async function loadPodsFile(path: string): Promise<PodInfo[]> {
  const data = loadStructuredFile('--pods', path, podsFile);
  const items = data.items as PodObject[];
  const out: PodInfo[] = [];
  for (const p of items) {
    const info = await podInfo(p);
    if (info) out.push(info);
  }
  return out;
}

/**
 * The pods a capture of hosts with `localIps` saw as local: those on one of these hosts (by hostIP)
 * and those whose own address is local (a capture inside a pod).
 */
export function podsOfHost(pods: readonly PodInfo[], localIps: readonly string[]): PodInfo[] {
  const local = new Set(localIps);
  return pods.filter((p) => local.has(p.hostIp) || p.ips.some((ip) => local.has(ip)));
}
