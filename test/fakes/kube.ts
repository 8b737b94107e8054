// A fake Kubernetes API server in the real wire format, for what the exporter asks: list pods (with a
// fieldSelector, a PodList carrying the list's resourceVersion), watch pods from a resourceVersion
// (newline-delimited watch events over a chunked response, BOOKMARK events, and the ERROR event with
// a 410 Status once that version is compacted away), and get ReplicaSets and Jobs for their owners.
// HTTPS with its own CA (in the kubeconfig, as clusters have), bearer-token authentication as a
// kubeconfig sets it; anything else is 401 or 404 as the API says.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; uid: string; resourceVersion?: string; labels?: Record<string, string>; ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller: boolean }[] };
  spec: { nodeName: string; hostNetwork?: boolean; containers: { name: string; image: string }[] };
  status: { phase: string; hostIP?: string; podIP?: string; podIPs?: { ip: string }[]; containerStatuses?: { name: string; containerID?: string; ready: boolean; restartCount: number; image: string; imageID: string }[] };
}

interface Event {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  pod: Pod;
}

interface Watcher {
  res: ServerResponse;
  node: string | undefined;
}

const status = (code: number, reason: string, message: string): object => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

export class FakeKube {
  url = '';
  readonly token = 'fake-token-' + Math.random().toString(36).slice(2);
  private rv = 1000;
  private readonly pods = new Map<string, Pod>();
  private readonly events: Event[] = [];
  /** Events before this resourceVersion are gone: a watch from an older one gets 410. */
  private compactedBelow = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly owners = new Map<string, { kind: string; name: string }>();
  /** Answer every request 503 (an API server that is down or overloaded). */
  failing = false;
  /** Requests seen: method, path and query. */
  readonly requests: { path: string; query: URLSearchParams }[] = [];
  /**
   * How watches are answered, as misbehaving servers and proxies do: normally; an empty 200 that ends at
   * once; or never a response (held until the mode changes back or the server stops).
   */
  watchMode: 'normal' | 'end-at-once' | 'no-response' = 'normal';
  /** Watches still to be answered with one endless line (700 MiB, or until the client hangs up) first. */
  hugeLines = 0;
  /** Lines that are no watch event, sent first on every watch. */
  junkLines: string[] = [];
  /** Owner lookups (GET replicasets, jobs) held without an answer. */
  ownersHang = false;
  private readonly held: ServerResponse[] = [];
  private server: Server | undefined;
  private ca = '';

  /** Serve on a free port of `host` with a self-signed certificate made in `dir`. */
  async start(dir: string, host = '127.0.0.1'): Promise<this> {
    const key = join(dir, 'kube-api.key');
    const cert = join(dir, 'kube-api.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=kube-apiserver', '-addext', `subjectAltName=IP:${host}`, '-keyout', key, '-out', cert], { stdio: 'ignore' });
    this.ca = readFileSync(cert).toString('base64');
    this.server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => this.handle(req, res));
    const server = this.server;
    await new Promise<void>((r) => server.listen(0, host, () => r()));
    this.url = `https://${host}:${(server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    for (const w of this.watchers) w.res.end();
    for (const res of this.held.splice(0)) res.destroy();
    return new Promise((r) => {
      this.server?.close(() => r());
      this.server?.closeAllConnections();
    });
  }

  /** A kubeconfig for this server (what KUBECONFIG points at). */
  kubeconfig(): string {
    return `apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: ${this.url}
    certificate-authority-data: ${this.ca}
users:
- name: exporter
  user:
    token: ${this.token}
contexts:
- name: fake
  context:
    cluster: fake
    user: exporter
current-context: fake
`;
  }

  /** The owner a ReplicaSet or Job has (ownerReferences of GET replicasets/jobs). */
  setOwner(kind: 'ReplicaSet' | 'Job', namespace: string, name: string, owner: { kind: string; name: string }): void {
    this.owners.set(`${kind}/${namespace}/${name}`, owner);
  }

  add(pod: Pod): void {
    this.emit('ADDED', pod);
  }

  update(pod: Pod): void {
    this.emit('MODIFIED', pod);
  }

  remove(uid: string): void {
    const pod = this.pods.get(uid);
    if (pod) this.emit('DELETED', pod);
  }

  /** Forget the history: watches from any version so far get 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv;
    this.events.length = 0;
  }

  /** End every open watch (as an API server restart or its timeout does). */
  dropWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** A BOOKMARK to every watcher: the current resourceVersion, nothing else. */
  bookmark(): void {
    this.rv++;
    for (const w of this.watchers) this.write(w, { type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) } } });
  }

  /** The current resourceVersion. */
  get version(): number {
    return this.rv;
  }

  get openWatches(): number {
    return this.watchers.size;
  }

  private emit(type: Event['type'], pod: Pod): void {
    this.rv++;
    const copy: Pod = structuredClone({ ...pod, apiVersion: 'v1', kind: 'Pod' });
    copy.metadata.resourceVersion = String(this.rv);
    if (type === 'DELETED') this.pods.delete(pod.metadata.uid);
    else this.pods.set(pod.metadata.uid, copy);
    const e: Event = { rv: this.rv, type, pod: copy };
    this.events.push(e);
    for (const w of this.watchers) if (this.matches(w.node, copy)) this.write(w, { type, object: copy });
  }

  private matches(node: string | undefined, pod: Pod): boolean {
    return node === undefined || pod.spec.nodeName === node;
  }

  private write(w: Watcher, event: object): void {
    w.res.write(JSON.stringify(event) + '\n');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ path: url.pathname, query: url.searchParams });
    const json = (code: number, body: object): void => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (this.failing) {
      json(503, status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
      return;
    }
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      json(401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (req.method !== 'GET') {
      json(405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
      return;
    }
    const selector = url.searchParams.get('fieldSelector') ?? '';
    const node = /^spec\.nodeName=(.+)$/.exec(selector)?.[1];
    if (selector !== '' && node === undefined) {
      json(400, status(400, 'BadRequest', `unable to parse requested field selector: ${selector}`));
      return;
    }
    if (url.pathname === '/api/v1/pods') {
      if (url.searchParams.get('watch') === 'true') {
        this.watch(res, node, Number(url.searchParams.get('resourceVersion') ?? '0'));
        return;
      }
      json(200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(this.rv) },
        items: [...this.pods.values()].filter((p) => this.matches(node, p)),
      });
      return;
    }
    const m = /^\/apis\/(apps|batch)\/v1\/namespaces\/([^/]+)\/(replicasets|jobs)\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const kind = m[3] === 'replicasets' ? 'ReplicaSet' : 'Job';
      if (this.ownersHang) {
        this.held.push(res);
        return;
      }
      const owner = this.owners.get(`${kind}/${m[2]}/${m[4]}`);
      if (!owner) {
        json(404, status(404, 'NotFound', `${m[3]}.${m[1]} "${m[4]}" not found`));
        return;
      }
      json(200, {
        kind,
        apiVersion: `${m[1]}/v1`,
        metadata: { name: m[4], namespace: m[2], ownerReferences: [{ apiVersion: m[1] === 'apps' ? 'apps/v1' : 'batch/v1', kind: owner.kind, name: owner.name, uid: `uid-${owner.name}`, controller: true }] },
      });
      return;
    }
    json(404, status(404, 'NotFound', 'the server could not find the requested resource'));
  }

  /** One event line of `bytes` that never ends before then, in 1 MiB writes as the client takes them. */
  private async endlessLine(res: ServerResponse, bytes: number): Promise<void> {
    const chunk = Buffer.alloc(1 << 20, 0x61);
    res.write('{"type":"ADDED","object":{"metadata":{"name":"');
    for (let sent = 0; sent < bytes && !res.destroyed; sent += chunk.length) {
      if (!res.write(chunk)) await new Promise((r) => (res.once('drain', r), res.once('close', r)));
    }
    if (!res.destroyed) res.end('"}}}\n');
  }

  private watch(res: ServerResponse, node: string | undefined, from: number): void {
    if (this.watchMode === 'no-response') {
      this.held.push(res);
      return;
    }
    if (this.watchMode === 'end-at-once') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // as the API server does: the response starts at once, events follow as they happen
    res.flushHeaders();
    const w: Watcher = { res, node };
    if (this.hugeLines > 0) {
      this.hugeLines--;
      void this.endlessLine(res, 700 << 20);
      return;
    }
    for (const line of this.junkLines) res.write(`${line}\n`);
    if (from < this.compactedBelow) {
      // what a real API server does for a version it no longer has: a 200 stream with one ERROR event
      this.write(w, { type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedBelow})`) });
      res.end();
      return;
    }
    for (const e of this.events) if (e.rv > from && this.matches(node, e.pod)) this.write(w, { type: e.type, object: e.pod });
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }
}

/** A pod of a Deployment (through its ReplicaSet), as the API returns it. */
export function deploymentPod(o: { name: string; namespace: string; deployment: string; hash: string; node: string; ip: string; hostIp: string; containerId?: string; hostNetwork?: boolean }): Pod {
  return {
    metadata: {
      name: o.name,
      namespace: o.namespace,
      uid: `uid-${o.namespace}-${o.name}`,
      labels: { app: o.deployment, 'pod-template-hash': o.hash },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${o.deployment}-${o.hash}`, uid: `uid-rs-${o.deployment}`, controller: true }],
    },
    spec: { nodeName: o.node, hostNetwork: o.hostNetwork, containers: [{ name: 'main', image: 'example/app:1' }] },
    status: {
      phase: 'Running',
      hostIP: o.hostIp,
      podIP: o.ip,
      podIPs: [{ ip: o.ip }],
      containerStatuses: [{ name: 'main', containerID: o.containerId ? `containerd://${o.containerId}` : undefined, ready: true, restartCount: 0, image: 'example/app:1', imageID: 'sha256:00' }],
    },
  };
}
