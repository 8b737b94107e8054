// The pods of this node, from the API server: list, then watch from the list's resourceVersion (with
// bookmarks), and list again when the server says the version is gone (410). A watch that breaks is
// re-established with backoff; the state is a metric. Config: the service account in a pod, else
// KUBECONFIG (@kubernetes/client-node's loadFromDefault).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../config/log.js';
import { EventTooLarge, openWatch, WatchStatus } from './kube-watch.js';
import { podInfo, type OwnerLookup, type PodInfo, type PodObject } from './pods.js';

export interface PodWatchHealth {
  /** 1 while a watch stream is open after a successful list. */
  up(v: 0 | 1): void;
  /** Lists done (the first, and each after a 410 or a failure). */
  listed(): void;
  /** Watches that ended in an error, by reason. */
  failed(reason: string): void;
  pods(n: number): void;
  /** What the API server sent that could not be used, skipped: an object, or an address in one. */
  skipped(reason: 'bad_object' | 'bad_address', n?: number): void;
}

interface WatchEvent {
  type: string;
  object: PodObject & { code?: number; message?: string };
}

class Gone extends Error {}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Why there is no Kubernetes configuration to watch pods with (the client would otherwise fall back to
 * http://localhost:8080 and retry forever), or undefined: a KUBECONFIG that exists, ~/.kube/config, or
 * the in-cluster service account.
 */
export function kubeConfigProblem(env: NodeJS.ProcessEnv = process.env, tokenFile = SERVICE_ACCOUNT_TOKEN): string | undefined {
  if (env.KUBECONFIG) {
    const missing = env.KUBECONFIG.split(':').filter((f) => f && !existsSync(f));
    return missing.length > 0 ? `KUBECONFIG names ${missing.join(', ')}: no such file` : undefined;
  }
  if (existsSync(join(env.HOME ?? homedir(), '.kube', 'config'))) return undefined;
  if (env.KUBERNETES_SERVICE_HOST && existsSync(tokenFile)) return undefined;
  return `no Kubernetes configuration: not in a pod with a service account token (${tokenFile}), no KUBECONFIG, no ~/.kube/config`;
}

const MAX_BACKOFF_MS = 30_000;
/** A watch that ends sooner than this (an empty 200, a proxy that closes it) is not a watch that worked. */
const SHORT_WATCH_MS = 10_000;

/** Up to `ms` with up to a fifth taken off at random: a fleet of exporters must not ask in step. */
function jittered(ms: number): number {
  return Math.round(ms * (0.8 + 0.2 * Math.random()));
}

/** A request's answer, or its failure after `ms` (the client's own timeout is not set on every request). */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface PodWatchOptions {
  /** How long a list, an owner lookup or a watch's response headers may take. */
  requestTimeoutMs?: number;
}

export class PodWatcher {
  private readonly pods = new Map<string, PodInfo>();
  private resourceVersion = '';
  private listedAt = 0;
  private stopped = false;
  private abort: AbortController | undefined;
  private emitTimer: NodeJS.Timeout | undefined;
  private readonly owners = new Map<string, { kind: string; name: string } | undefined>();
  /** The event queue: pods are described one at a time, in order (an owner lookup may wait). */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly nodeName: string,
    private readonly log: Logger,
    private readonly onPods: (pods: PodInfo[]) => void,
    private readonly health: PodWatchHealth,
    private readonly options: PodWatchOptions = {},
  ) {}

  async start(): Promise<void> {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromDefault();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const batch = kc.makeApiClient(k8s.BatchV1Api);
    const fieldSelector = `spec.nodeName=${this.nodeName}`;
    const timeoutMs = this.options.requestTimeoutMs ?? 30_000;
    const lookup: OwnerLookup = async (kind, namespace, name) => {
      const key = `${kind}/${namespace}/${name}`;
      if (this.owners.has(key)) return this.owners.get(key);
      // an owner that does not answer in time: the pod's names tell it (podInfo's fallback)
      const asked: Promise<{ metadata?: { ownerReferences?: { controller?: boolean; kind: string; name: string }[] } }> =
        kind === 'ReplicaSet' ? apps.readNamespacedReplicaSet({ name, namespace }) : batch.readNamespacedJob({ name, namespace });
      const obj = await within(timeoutMs, `${kind} ${namespace}/${name}`, asked);
      const ref = obj.metadata?.ownerReferences?.find((r) => r.controller) ?? obj.metadata?.ownerReferences?.[0];
      const owner = ref ? { kind: ref.kind, name: ref.name } : { kind, name };
      if (this.owners.size > 4096) this.owners.clear();
      this.owners.set(key, owner);
      return owner;
    };
    const describe = async (p: PodObject): Promise<void> => {
      const uid = p.metadata?.uid ?? `${p.metadata?.namespace}/${p.metadata?.name}`;
      const phase = p.status?.phase;
      // a finished pod's address goes back to the pool: it is not the pod's any more
      if (phase === 'Succeeded' || phase === 'Failed') {
        this.pods.delete(uid);
        return;
      }
      let info: PodInfo | undefined;
      try {
        info = await podInfo(p, lookup);
      } catch (e) {
        // one pod the API server describes oddly costs that pod, never the exporter (or a relist loop)
        this.health.skipped('bad_object');
        this.log.debug(`pod ${uid} skipped: ${(e as Error).message}`);
        return;
      }
      if (!info) return;
      if (info.badAddresses > 0) this.health.skipped('bad_address', info.badAddresses);
      this.pods.set(uid, info);
    };

    const list = async (): Promise<void> => {
      const res = await within(timeoutMs, 'list of pods', core.listPodForAllNamespaces({ fieldSelector }));
      this.pods.clear();
      for (const p of res.items) await describe(p as PodObject);
      this.resourceVersion = res.metadata?.resourceVersion ?? '';
      this.listedAt = Date.now();
      this.health.listed();
      this.emit();
    };

    const watchOnce = (): Promise<void> =>
      new Promise((resolve, reject) => {
        let settled = false;
        const finish = (err: unknown): void => {
          if (settled) return;
          settled = true;
          // events still being described land before the next list or watch
          void this.chain.then(() => (err ? reject(err) : resolve()));
        };
        const onEvent = (type: string, obj: WatchEvent['object'] | undefined): void => {
          // a line that is no event (no JSON, no type or object): that line is skipped, the watch goes on
          if (obj === undefined) {
            this.health.skipped('bad_object');
            return;
          }
          if (type === 'ERROR') {
            if (obj.code === 410) {
              this.resourceVersion = '';
              finish(new Gone(obj.message ?? 'resourceVersion too old'));
            } else {
              finish(new Error(`watch error ${obj.code ?? ''}: ${obj.message ?? ''}`));
            }
            this.abort?.abort();
            return;
          }
          const rv = obj.metadata?.resourceVersion;
          this.chain = this.chain.then(async () => {
            if (type === 'ADDED' || type === 'MODIFIED') await describe(obj);
            else if (type === 'DELETED') this.pods.delete(obj.metadata?.uid ?? `${obj.metadata?.namespace}/${obj.metadata?.name}`);
            if (rv) this.resourceVersion = rv;
            if (type !== 'BOOKMARK') this.emit();
          });
        };
        // response headers that never come (a proxy that holds the request) are a failed watch
        const headers = setTimeout(() => finish(new Error(`watch: no response in ${timeoutMs / 1000} s`)), timeoutMs);
        headers.unref();
        openWatch(
          kc,
          '/api/v1/pods',
          { fieldSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300 },
          {
            event: (type, obj) => onEvent(type, obj as WatchEvent['object'] | undefined),
            done: (err) => {
              // an event too large to read: what it said is lost, so the pods are listed again
              if (err instanceof EventTooLarge) this.resourceVersion = '';
              finish(err && err.name !== 'AbortError' ? err : null);
            },
          },
        ).then(
          (c: AbortController) => {
            clearTimeout(headers);
            this.abort = c;
            // data flows from here on: the watch is up
            if (!settled) this.health.up(1);
          },
          (e: unknown) => {
            clearTimeout(headers);
            if (e instanceof WatchStatus && e.statusCode === 410) {
              this.resourceVersion = '';
              finish(new Gone('resourceVersion too old'));
            } else finish(e);
          },
        );
      });

    let backoff = 1000;
    const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, jittered(ms)).unref());
    const loop = async (): Promise<void> => {
      while (!this.stopped) {
        try {
          if (this.resourceVersion === '') await list();
          const started = Date.now();
          await watchOnce();
          this.health.up(0);
          if (this.stopped) return;
          // every end of a watch waits: a server (or proxy) that ends them at once must not be asked
          // again at once, by every node
          if (Date.now() - started < SHORT_WATCH_MS) {
            this.health.failed('ended_early');
            this.log.warn(`pod watch of node ${this.nodeName} ended after ${Date.now() - started} ms; again in ${backoff / 1000}s`, { node: this.nodeName });
            await pause(backoff);
            backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
          } else {
            backoff = 1000;
            await pause(1000);
          }
        } catch (e) {
          if (this.stopped) return;
          this.health.up(0);
          if (e instanceof Gone) {
            this.health.failed('gone');
            this.log.info(`pod watch: ${e.message}; listing again`, {});
            // a server that answers every fresh list with 410 must not be listed in a tight loop
            if (Date.now() - this.listedAt < 1000) await new Promise((r) => setTimeout(r, 1000).unref());
            continue;
          }
          const message = (e as Error).message?.split('\n')[0] ?? String(e);
          this.health.failed(e instanceof EventTooLarge ? 'too_large' : 'error');
          this.log.warn(`pod watch of node ${this.nodeName} failed: ${message}; again in ${backoff / 1000}s (pods known so far are kept)`, { node: this.nodeName });
          this.abort?.abort();
          await pause(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
      }
    };
    void loop();
  }

  /** Pods changed: tell the owner once per burst (a list is many changes). */
  private emit(): void {
    if (this.emitTimer) return;
    this.emitTimer = setTimeout(() => {
      this.emitTimer = undefined;
      this.health.pods(this.pods.size);
      this.onPods([...this.pods.values()]);
    }, 50);
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    if (this.emitTimer) clearTimeout(this.emitTimer);
  }
}
