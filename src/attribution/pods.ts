// Pods as the API server (or `kubectl get pods -A -o json`) describes them: their IPs, their containers,
// and their top owner (ReplicaSet → Deployment, Job → CronJob, StatefulSet,
// DaemonSet, else the pod itself).
import { isValidIp } from '../net/ip.js';
import type { Owner } from './sockets.js';
import { POD_OWNER_KINDS } from './workloads.js';

/** The fields of a v1 Pod that attribution reads (same shape in the API's JSON and kubectl's). */
export interface PodObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind?: string; name?: string; controller?: boolean }[];
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  spec?: { nodeName?: string; hostNetwork?: boolean };
  status?: {
    podIP?: string;
    podIPs?: { ip?: string }[];
    hostIP?: string;
    phase?: string;
    startTime?: string;
    containerStatuses?: { containerID?: string; state?: { terminated?: { finishedAt?: string } } }[];
    initContainerStatuses?: { containerID?: string }[];
    ephemeralContainerStatuses?: { containerID?: string }[];
  };
}

export interface PodInfo {
  uid: string;
  namespace: string;
  name: string;
  nodeName: string;
  hostIp: string;
  /** The pod's own addresses; none for host-network pods (they share the node's). */
  ips: string[];
  hostNetwork: boolean;
  owner: Owner;
  /** Container IDs without the runtime prefix ("containerd://"). */
  containerIds: string[];
  /** Addresses in the object that are no address (skipped): how many. */
  badAddresses: number;
  /** When it began to hold its addresses (seconds since the epoch: its start, else its creation), if known. */
  from?: number;
  /** When it stopped: its containers' last finish once Succeeded or Failed, else its deletion, if known. */
  until?: number;
}

function seconds(time: unknown): number | undefined {
  const t = typeof time === 'string' ? Date.parse(time) : NaN;
  return Number.isFinite(t) ? t / 1000 : undefined;
}

/**
 * A pod address as the API server may hold it, made the address it is: IPv4 octets with leading zeros
 * are decimal (Kubernetes accepts "010.0.0.5" for 10.0.0.5, as Go's parser once did); anything that is
 * not one address (a CIDR, 10.0.0.999, a number, an object) is undefined.
 */
export function podAddress(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length > 64) return undefined;
  const text = raw.trim();
  if (text.includes(':')) return isValidIp(text) ? text : undefined;
  const octets = text.split('.');
  if (octets.length !== 4 || !octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255)) return undefined;
  return octets.map(Number).join('.');
}

/** What an owner reference's owner is, asked of the API server (ReplicaSet's and Job's owners). */
export type OwnerLookup = (kind: 'ReplicaSet' | 'Job', namespace: string, name: string) => Promise<{ kind: string; name: string } | undefined>;

/**
 * Without the API server (a --pods file, or a lookup that failed), the owner's owner from names: a
 * ReplicaSet of a Deployment is named DEPLOYMENT-<pod-template-hash>, a CronJob's Job CRONJOB-<minutes>.
 */
function ownerFromNames(kind: string, name: string, labels: Record<string, string>): { kind: string; name: string } {
  const hash = labels['pod-template-hash'];
  if (kind === 'ReplicaSet' && hash && name.endsWith(`-${hash}`)) return { kind: 'Deployment', name: name.slice(0, -hash.length - 1) };
  const cron = /^(.+)-\d{8,10}$/.exec(name);
  if (kind === 'Job' && cron) return { kind: 'CronJob', name: cron[1] };
  return { kind, name };
}

export async function topOwner(pod: PodObject, lookup?: OwnerLookup): Promise<Owner> {
  const meta = pod.metadata ?? {};
  const namespace = meta.namespace ?? '';
  const ref = (meta.ownerReferences ?? []).find((r) => r.controller) ?? meta.ownerReferences?.[0];
  if (!ref?.kind || !ref.name) return { kind: 'Pod', namespace, name: meta.name ?? '' };
  let top: { kind: string; name: string } = { kind: ref.kind, name: ref.name };
  if (ref.kind === 'ReplicaSet' || ref.kind === 'Job') {
    let asked: { kind: string; name: string } | undefined;
    if (lookup) {
      try {
        asked = await lookup(ref.kind, namespace, ref.name);
      } catch {
        asked = undefined;
      }
    }
    top = asked ?? ownerFromNames(ref.kind, ref.name, meta.labels ?? {});
  }
  // a controller's kind; a Pod is only ever the pod itself
  const kind = top.kind === 'Pod' ? undefined : POD_OWNER_KINDS.find((k) => k === top.kind);
  // a bare ReplicaSet, or an owner of another kind (a custom controller): the pod itself
  return kind ? { kind, namespace, name: top.name } : { kind: 'Pod', namespace, name: meta.name ?? '' };
}

export async function podInfo(pod: PodObject, lookup?: OwnerLookup): Promise<PodInfo | undefined> {
  const meta = pod.metadata;
  if (!meta?.name) return undefined;
  const status = pod.status ?? {};
  const hostNetwork = pod.spec?.hostNetwork === true;
  // what a watch event holds is not checked by anyone before us: a list that is no list, entries that are no addresses
  const given: unknown[] = [status.podIP, ...(Array.isArray(status.podIPs) ? status.podIPs.map((p: unknown) => (p as { ip?: unknown } | null)?.ip) : [])].filter(
    (ip) => ip !== undefined && ip !== null && ip !== '',
  );
  const addresses = given.map(podAddress);
  const badAddresses = addresses.filter((a) => a === undefined).length + (status.podIPs !== undefined && !Array.isArray(status.podIPs) ? 1 : 0);
  const ips = [...new Set(addresses.filter((ip): ip is string => ip !== undefined))];
  const containerIds = [...(status.containerStatuses ?? []), ...(status.initContainerStatuses ?? []), ...(status.ephemeralContainerStatuses ?? [])]
    .map((c) => c.containerID?.replace(/^[a-z-]+:\/\//, '') ?? '')
    .filter((id) => id !== '');
  return {
    uid: meta.uid ?? `${meta.namespace}/${meta.name}`,
    namespace: meta.namespace ?? '',
    name: meta.name,
    nodeName: pod.spec?.nodeName ?? '',
    hostIp: status.hostIP ?? '',
    ips: hostNetwork ? [] : ips.filter((ip) => ip !== status.hostIP),
    hostNetwork,
    owner: await topOwner(pod, lookup),
    containerIds,
    badAddresses,
    from: seconds(status.startTime) ?? seconds(meta.creationTimestamp),
    until: lifeEnd(pod),
  };
}

function lifeEnd(pod: PodObject): number | undefined {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') {
    const ends = (pod.status?.containerStatuses ?? []).map((c) => seconds(c?.state?.terminated?.finishedAt)).filter((t): t is number => t !== undefined);
    if (ends.length > 0) return Math.max(...ends);
  }
  return seconds(pod.metadata?.deletionTimestamp);
}
