// The pods of this node from a fake API server in the real wire format, reached only through
// KUBECONFIG with @kubernetes/client-node: list, watch from the list's version (bookmarks asked for
// and followed), add/update/delete, a watch that ends and resumes from the last version, a 410 that
// forces a relist, and an API server that is down for a while.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PodWatcher } from '../src/attribution/kube-pods.js';
import type { PodInfo } from '../src/attribution/pods.js';
import { Logger } from '../src/config/log.js';
import { deploymentPod, FakeKube, type Pod } from './fakes/kube.js';
import { tempDir } from './helpers.js';
import { until } from './netns.js';

const dir = tempDir();
const kube = new FakeKube();
let pods: PodInfo[] = [];
const health = { up: 0, lists: 0, gone: 0, error: 0, ended_early: 0, pods: 0, skipped: { bad_object: 0, bad_address: 0 } };
let watcher: PodWatcher;

const web = (name: string, ip: string, node = 'node-a'): Pod => deploymentPod({ name, namespace: 'shop', deployment: 'web', hash: '5d9f7c8b4', node, ip, hostIp: '10.0.1.5' });
const byName = (): Record<string, string> => Object.fromEntries(pods.map((p) => [`${p.namespace}/${p.name}`, `${p.owner.kind}/${p.owner.name} ${p.ips.join(',')}`]));
const lastWatch = (): URLSearchParams => kube.requests.filter((r) => r.query.get('watch') === 'true').at(-1)!.query;

describe('pods of this node from the API server (list + watch)', () => {
  beforeAll(async () => {
    await kube.start(dir);
    kube.setOwner('ReplicaSet', 'shop', 'web-5d9f7c8b4', { kind: 'Deployment', name: 'web' });
    kube.setOwner('Job', 'batch', 'report-29112026', { kind: 'CronJob', name: 'report' });
    kube.add(web('web-5d9f7c8b4-aaaaa', '10.0.1.20'));
    kube.add(web('web-5d9f7c8b4-bbbbb', '10.0.1.21', 'node-b'));
    const job: Pod = {
      metadata: { name: 'report-29112026-x1', namespace: 'batch', uid: 'uid-job-pod', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'report-29112026', uid: 'u', controller: true }] },
      spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'i' }] },
      status: { phase: 'Running', hostIP: '10.0.1.5', podIP: '10.0.1.30' },
    };
    kube.add(job);
    // a ReplicaSet the API server does not know (deleted meanwhile): the name still tells its Deployment
    kube.add(deploymentPod({ name: 'api-7c9d-zzzzz', namespace: 'shop', deployment: 'api', hash: '7c9d', node: 'node-a', ip: '10.0.1.40', hostIp: '10.0.1.5' }));
    const config = join(dir, 'kubeconfig');
    writeFileSync(config, kube.kubeconfig());
    process.env.KUBECONFIG = config;
    watcher = new PodWatcher('node-a', new Logger(), (p) => (pods = p), {
      up: (v) => (health.up = v),
      listed: () => health.lists++,
      failed: (r) => (r === 'gone' ? health.gone++ : r === 'ended_early' ? health.ended_early++ : health.error++),
      pods: (n) => (health.pods = n),
      skipped: (reason, n = 1) => (health.skipped[reason] += n),
    });
    await watcher.start();
  });

  afterAll(async () => {
    watcher.stop();
    await kube.stop();
  });

  it('lists the pods of its node only, each with its top owner', async () => {
    await until('listed', async () => (pods.length === 3 ? true : undefined));
    expect(byName()).toEqual({
      'shop/web-5d9f7c8b4-aaaaa': 'Deployment/web 10.0.1.20',
      'batch/report-29112026-x1': 'CronJob/report 10.0.1.30',
      'shop/api-7c9d-zzzzz': 'Deployment/api 10.0.1.40',
    });
    const list = kube.requests.find((r) => r.path === '/api/v1/pods' && r.query.get('watch') !== 'true')!;
    expect(list.query.get('fieldSelector')).toBe('spec.nodeName=node-a');
    // up once the watch after the list answers (data flows)
    await until('watching', async () => (health.up === 1 ? true : undefined));
    expect(health).toMatchObject({ up: 1, lists: 1, pods: 3 });
  });

  it('watches from the list version with bookmarks, and follows adds, updates and deletes', async () => {
    await until('watching', async () => (kube.openWatches === 1 ? true : undefined));
    expect(lastWatch().get('allowWatchBookmarks')).toBe('true');
    expect(lastWatch().get('fieldSelector')).toBe('spec.nodeName=node-a');
    kube.add(web('web-5d9f7c8b4-ccccc', '10.0.1.22'));
    await until('added', async () => (byName()['shop/web-5d9f7c8b4-ccccc'] ? true : undefined));
    const moved = web('web-5d9f7c8b4-ccccc', '10.0.1.23');
    kube.update(moved);
    await until('updated', async () => (byName()['shop/web-5d9f7c8b4-ccccc'] === 'Deployment/web 10.0.1.23' ? true : undefined));
    kube.remove('uid-shop-web-5d9f7c8b4-aaaaa');
    await until('deleted', async () => (byName()['shop/web-5d9f7c8b4-aaaaa'] === undefined ? true : undefined));
    // a finished pod's address is not its own any more
    kube.update({ ...web('web-5d9f7c8b4-ccccc', '10.0.1.23'), status: { phase: 'Succeeded' } });
    await until('finished', async () => (byName()['shop/web-5d9f7c8b4-ccccc'] === undefined ? true : undefined));
  });

  it('addresses the API server accepts but are no address, and fields of the wrong shape: skipped and counted, never a crash', async () => {
    const odd = (name: string, status: Record<string, unknown>): Pod => ({ ...web(name, '10.0.1.99'), status: { phase: 'Running', hostIP: '10.0.1.5', ...status } as Pod['status'] });
    const before = { ...health.skipped };
    // Kubernetes accepts leading zeros: the address is decimal (10.0.1.50)
    kube.add(odd('web-5d9f7c8b4-zeros', { podIP: '010.0.1.050' }));
    kube.add(odd('web-5d9f7c8b4-range', { podIP: '10.0.1.999' }));
    kube.add(odd('web-5d9f7c8b4-cidrs', { podIP: '10.0.0.0/8', podIPs: [{ ip: '10.0.0.0/8' }, { ip: 42 }, null] }));
    kube.add(odd('web-5d9f7c8b4-notls', { podIP: '10.0.1.51', podIPs: { ip: '10.0.1.51' } }));
    kube.add(web('web-5d9f7c8b4-after', '10.0.1.52'));
    await until('all seen', async () => (byName()['shop/web-5d9f7c8b4-after'] ? true : undefined));
    const seen = byName();
    expect(seen['shop/web-5d9f7c8b4-zeros']).toBe('Deployment/web 10.0.1.50');
    expect(seen['shop/web-5d9f7c8b4-range']).toBe('Deployment/web ');
    expect(seen['shop/web-5d9f7c8b4-cidrs']).toBe('Deployment/web ');
    expect(seen['shop/web-5d9f7c8b4-notls']).toBe('Deployment/web 10.0.1.51');
    // 10.0.1.999; 10.0.0.0/8 twice, 42 and null's missing ip (not counted: absent); a podIPs that is no list
    expect(health.skipped.bad_address - before.bad_address).toBe(1 + 3 + 1);
    for (const name of ['zeros', 'range', 'cidrs', 'notls', 'after']) kube.remove(`uid-shop-web-5d9f7c8b4-${name}`);
    await until('removed', async () => (byName()['shop/web-5d9f7c8b4-after'] === undefined ? true : undefined));
  });

  it('a watch that ends resumes from the last version it saw, bookmarks included', async () => {
    kube.bookmark();
    await new Promise((r) => setTimeout(r, 200));
    const watchesBefore = kube.requests.filter((r) => r.query.get('watch') === 'true').length;
    kube.dropWatches();
    await until('watching again', async () => (kube.requests.filter((r) => r.query.get('watch') === 'true').length > watchesBefore && kube.openWatches === 1 ? true : undefined));
    // the bookmark's version (the newest), not the list's: nothing is listed again
    expect(lastWatch().get('resourceVersion')).toBe(String(kube.version));
    expect(health.lists).toBe(1);
    kube.add(web('web-5d9f7c8b4-ddddd', '10.0.1.24'));
    await until('seen after resuming', async () => (byName()['shop/web-5d9f7c8b4-ddddd'] ? true : undefined));
  });

  it('410 Gone: lists again, and what changed meanwhile is seen', async () => {
    kube.dropWatches();
    kube.remove('uid-shop-web-5d9f7c8b4-ddddd');
    kube.add(web('web-5d9f7c8b4-eeeee', '10.0.1.25'));
    kube.compact();
    await until('relisted', async () => (health.lists === 2 && health.gone >= 1 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(health.lists).toBe(2);
    await until('state after relist', async () => (byName()['shop/web-5d9f7c8b4-eeeee'] && !byName()['shop/web-5d9f7c8b4-ddddd'] ? true : undefined));
    await until('watching again', async () => (health.up === 1 ? true : undefined));
  });

  it('an API server that is down: the watch is down (a metric), pods are kept, and it comes back', async () => {
    const known = pods.length;
    kube.failing = true;
    kube.compact();
    kube.dropWatches();
    await until('down', async () => (health.up === 0 && health.error >= 1 ? true : undefined));
    expect(pods.length).toBe(known);
    kube.failing = false;
    kube.add(web('web-5d9f7c8b4-fffff', '10.0.1.26'));
    await until('back', async () => (health.up === 1 && byName()['shop/web-5d9f7c8b4-fffff'] ? true : undefined), 20_000);
  });

});

/** A fresh fake API server and a watcher of node-a on it, for one test; both stopped after `body`. */
async function onOwnServer(
  name: string,
  prepare: (kube: FakeKube) => void,
  body: (kube: FakeKube, seen: { up: number; early: number; error: number; tooLarge: number; skipped: number; lines: string[]; pods: () => PodInfo[] }) => Promise<void>,
  options?: { requestTimeoutMs: number },
): Promise<void> {
  const server = new FakeKube();
  await server.start(tempDir());
  prepare(server);
  const config = join(dir, `kubeconfig-${name}`);
  writeFileSync(config, server.kubeconfig());
  process.env.KUBECONFIG = config;
  let listed: PodInfo[] = [];
  const seen = { up: 0, early: 0, error: 0, tooLarge: 0, skipped: 0, lines: [] as string[], pods: () => listed };
  const w = new PodWatcher(
    'node-a',
    new Logger('info', 'logfmt', (l) => seen.lines.push(l)),
    (p) => (listed = p),
    {
      up: (v) => (seen.up = v),
      listed: () => {},
      failed: (r) => (r === 'ended_early' ? seen.early++ : r === 'error' ? seen.error++ : r === 'too_large' ? seen.tooLarge++ : 0),
      pods: () => {},
      skipped: (_r, n = 1) => (seen.skipped += n),
    },
    options,
  );
  try {
    await w.start();
    await body(server, seen);
  } finally {
    w.stop();
    await server.stop();
  }
}

describe('pods from an API server that sends what is no event', () => {
  it('a 700 MiB watch line ends that watch at 16 MiB, the pods are listed again; lines that are no event are skipped and counted', async () => {
    await onOwnServer(
      'huge',
      (k) => {
        k.add(web('web-5d9f7c8b4-jjjjj', '10.0.1.62'));
        k.hugeLines = 1;
        k.junkLines = ['not json', '{"type":"ADDED"}', '[]'];
      },
      async (k, seen) => {
        const rss0 = process.memoryUsage().rss;
        await until('the huge line refused', async () => (seen.tooLarge === 1 ? true : undefined), 20_000);
        // the reader held at most its bound (and the chunks in flight), never the line
        expect(process.memoryUsage().rss - rss0).toBeLessThan(200 << 20);
        expect(seen.lines.join('\n')).toMatch(/pod watch of node node-a failed: watch: an event of more than 16 MiB/);
        // listed again, then watching; a pod added now is seen through the watch
        k.add(web('web-5d9f7c8b4-kkkkk', '10.0.1.63'));
        await until('watching', async () => (seen.up === 1 && seen.pods().length === 2 ? true : undefined), 40_000);
        expect(k.requests.filter((r) => r.query.get('watch') !== 'true').length).toBeGreaterThanOrEqual(2);
        // three junk lines on the watch after the relist
        expect(seen.skipped).toBeGreaterThanOrEqual(3);
      },
    );
  }, 60_000);
});

describe('pods from an API server that does not answer', () => {
  it('a watch that ends at once with an empty 200 is asked again with backoff, not in a loop', async () => {
    await onOwnServer(
      'ending',
      (k) => {
        k.add(web('web-5d9f7c8b4-iiiii', '10.0.1.61'));
        k.watchMode = 'end-at-once';
      },
      async (k, seen) => {
        // bounded: 4 seconds of a server that ends every watch at once (it was ~1,000 requests a second)
        await new Promise((r) => setTimeout(r, 4000));
        const asked = k.requests.filter((r) => r.query.get('watch') === 'true').length;
        expect(asked).toBeGreaterThan(0);
        expect(asked).toBeLessThanOrEqual(4); // at once, then after 1 s, 2 s, 4 s (less a fifth at random)
        expect(seen.early).toBeGreaterThanOrEqual(asked - 1);
        expect(seen.up).toBe(0);
        k.watchMode = 'normal';
        await until('watching', async () => (seen.up === 1 ? true : undefined), 40_000);
      },
    );
  }, 60_000);

  it('a watch whose response never comes, and owner lookups that never answer: timed out, logged, retried; the pods still named', async () => {
    await onOwnServer(
      'hung',
      (k) => {
        k.ownersHang = true;
        k.add(web('web-5d9f7c8b4-hhhhh', '10.0.1.60'));
        k.watchMode = 'no-response';
      },
      async (k, seen) => {
        // the owner lookup timed out: the names tell the Deployment
        await until('listed', async () => (seen.pods().length === 1 ? true : undefined), 10_000);
        expect(`${seen.pods()[0].owner.kind}/${seen.pods()[0].owner.name}`).toBe('Deployment/web');
        await until('watch timed out', async () => (seen.error >= 1 ? true : undefined), 10_000);
        expect(seen.up).toBe(0);
        expect(seen.lines.join('\n')).toMatch(/pod watch of node node-a failed: watch: no response in 1 s/);
        k.watchMode = 'normal';
        await until('watching', async () => (seen.up === 1 ? true : undefined), 40_000);
      },
      { requestTimeoutMs: 1000 },
    );
  }, 60_000);
});
