// Attribution's parts without a network: cgroup paths, /proc/net socket tables and fd links (from
// fixture directories in /proc's own formats), pod owners, the flow table, local addresses with
// delegated prefixes, the workload table's bound, and analyze --pods end to end on a written capture.
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, copyFileSync, mkdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FlowTable, PENDING } from '../src/attribution/flows.js';
import { CgroupPaths, commOf, KernelLookups, loadNetlink } from '../src/attribution/kernel.js';
import { parseSocketList } from '../src/attribution/ss.js';
import { podInfo, topOwner } from '../src/attribution/pods.js';
import { cgroupPath, describeCgroup, lastPid, newestFirst, ownerOf, processInfo, socketHolders, socketOwnersProblem, SocketTable } from '../src/attribution/sockets.js';
import { OTHER_WORKLOAD, sanitizeWorkloadName, UNKNOWN_WORKLOAD, Workloads } from '../src/attribution/workloads.js';
import { LocalAddresses } from '../src/engine/local-addresses.js';
import { parseCidr } from '../src/net/ip.js';
import { ethernet, ipv4, PcapngWriter } from '../scripts/lib/frames.js';
import { missingOutsideCi, runCli, tempDir } from './helpers.js';

const dir = tempDir();
const RANGES = join(import.meta.dirname, '..', 'demo', 'ip-ranges.json');
const v4 = (ip: string): number => Number(parseCidr(ip).start);
const words = (ip: string): Uint32Array => {
  const c = parseCidr(ip);
  const w = new Uint32Array(4);
  if (c.family === 4) w[0] = Number(c.start);
  else for (let i = 0; i < 4; i++) w[i] = Number((c.start >> BigInt(96 - 32 * i)) & 0xffffffffn);
  return w;
};

describe('cgroups say what a process runs in', () => {
  it('cgroup v2: the systemd service', () => {
    const text = '0::/system.slice/apt-daily.service\n';
    expect(cgroupPath(text)).toBe('/system.slice/apt-daily.service');
    expect(describeCgroup(text)).toEqual({ unit: 'apt-daily.service' });
  });
  it('cgroup v1 (hybrid): the name=systemd hierarchy, not a controller path', () => {
    const text = '9:name=systemd:/system.slice/cloud-final.service\n4:memory:/process_api/cfe35767567e942d2ccd4b0742744675\n0::/\n';
    expect(describeCgroup(text)).toEqual({ unit: 'cloud-final.service' });
  });
  it('a container of a pod (containerd under kubepods), and a docker scope: the container ID, no unit', () => {
    const id = 'a'.repeat(64);
    expect(describeCgroup(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-${id}.scope\n`)).toEqual({ containerId: id });
    expect(describeCgroup(`0::/system.slice/docker-${id}.scope\n`)).toEqual({ containerId: id });
  });
  it('a login session and a user service: the deepest service, or none', () => {
    expect(describeCgroup('0::/user.slice/user-1000.slice/session-3.scope\n')).toEqual({});
    expect(describeCgroup('0::/user.slice/user-1000.slice/user@1000.service/app.slice/backup.service\n')).toEqual({ unit: 'backup.service' });
  });
  it('owners: the pod of a known container first, then the unit, then the process name', () => {
    const pod = { kind: 'Deployment' as const, namespace: 'shop', name: 'web' };
    const id = 'b'.repeat(64);
    expect(ownerOf({ comm: 'nginx', containerId: id, unit: 'x.service' }, (c) => (c === id ? pod : undefined))).toEqual(pod);
    expect(ownerOf({ comm: 'nginx', containerId: 'c'.repeat(64), unit: 'containerd.service' }, () => undefined)).toEqual({ kind: 'systemd_unit', namespace: '', name: 'containerd.service' });
    expect(ownerOf({ comm: 'curl' }, () => undefined)).toEqual({ kind: 'process', namespace: '', name: 'curl' });
  });
  it("a process's name, what its cgroup says, and its cgroup v2 path (the id of its sockets' cgroup), from /proc", () => {
    const proc = join(dir, 'proc-info');
    for (const [pid, cgroup] of [
      ['300', '9:name=systemd:/system.slice/cloud-final.service\n0::/system.slice/fetch.service\n'],
      ['301', '9:name=systemd:/system.slice/cloud-final.service\n0::/\n'],
    ]) {
      mkdirSync(join(proc, pid), { recursive: true });
      writeFileSync(join(proc, pid, 'comm'), 'fetch\n');
      writeFileSync(join(proc, pid, 'cgroup'), cgroup);
    }
    expect(processInfo(300, proc)).toEqual({ comm: 'fetch', unit: 'fetch.service', cgroup2: '/system.slice/fetch.service' });
    expect(processInfo(301, proc)).toEqual({ comm: 'fetch', unit: 'cloud-final.service' });
    expect(processInfo(302, proc)).toBeUndefined();
  });
});

describe('/proc/net and /proc/PID/fd, in their own formats', () => {
  const net = join(dir, 'net');
  mkdirSync(net);
  const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
  // 10.0.0.5:43210 → 3.80.5.5:443 established; a listener on 0.0.0.0:8080; a TIME_WAIT (inode 0)
  writeFileSync(
    join(net, 'tcp'),
    header +
      '   0: 0500000A:A8CA 05055003:01BB 01 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 20 4 0 10 -1\n' +
      '   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5151 1 0000000000000000 100 0 0 10 0\n' +
      '   2: 0500000A:A8CB 05055003:01BB 06 00000000:00000000 03:00001234 00000000     0        0 0 3 0000000000000000\n',
  );
  // a dual-stack listener on [::]:9000 and an IPv4-mapped connection on it
  writeFileSync(
    join(net, 'tcp6'),
    header +
      '   0: 00000000000000000000000000000000:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6161 1 0000000000000000 100 0 0 10 0\n' +
      '   1: 0000000000000000FFFF00000500000A:2328 0000000000000000FFFF00000700000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 7171 1 0000000000000000 20 4 0 10 -1\n',
  );
  // UDP: an unconnected socket bound to 10.0.0.5:5353
  writeFileSync(join(net, 'udp'), header + '  10: 0500000A:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 8181 2 0000000000000000 0\n');
  const t = new SocketTable(net);
  const key = (proto: number, l: string, lp: number, r: string, rp: number) => ({ family: 4 as const, proto, local: words(l), remote: words(r), localPort: lp, remotePort: rp });

  it('a connected socket by its 5-tuple (host byte order, hex)', () => {
    expect(t.inodeOf(key(6, '10.0.0.5', 43210, '3.80.5.5', 443))).toBe(4242);
  });
  it('a connection whose socket is gone (TIME_WAIT) has no owner; a listener owns its port', () => {
    expect(t.inodeOf(key(6, '10.0.0.5', 43211, '3.80.5.5', 443))).toBeUndefined();
    expect(t.inodeOf(key(6, '10.0.0.5', 8080, '10.0.0.9', 55555))).toBe(5151);
  });
  it('IPv4 on a dual-stack socket: the mapped connection, else the [::] listener', () => {
    expect(t.inodeOf(key(6, '10.0.0.5', 9000, '10.0.0.7', 54321))).toBe(7171);
    expect(t.inodeOf(key(6, '10.0.0.5', 9000, '10.0.0.8', 1000))).toBe(6161);
  });
  it('UDP without a connection: the socket bound to the local address and port', () => {
    expect(t.inodeOf(key(17, '10.0.0.5', 5353, '224.0.0.251', 5353))).toBe(8181);
    expect(t.inodeOf(key(17, '10.0.0.5', 5354, '224.0.0.251', 5353))).toBeUndefined();
  });
  it('the process that holds a socket, by its fd links', () => {
    const proc = join(dir, 'proc');
    for (const [pid, links] of [
      ['100', ['/dev/null', 'socket:[4242]']],
      ['200', ['pipe:[9]', 'socket:[8181]']],
    ] as const) {
      mkdirSync(join(proc, pid, 'fd'), { recursive: true });
      links.forEach((l, i) => symlinkSync(l, join(proc, pid, 'fd', String(i))));
    }
    mkdirSync(join(proc, 'self'));
    expect(socketHolders(new Set([4242, 8181, 999]), proc)).toEqual(
      new Map([
        [4242, 100],
        [8181, 200],
      ]),
    );
  });
  it('newest first, where PIDs have wrapped: those at or below the last handed out, then the rest', () => {
    expect(newestFirst([5, 32_700, 300, 32_760, 120], 300)).toEqual([300, 120, 5, 32_760, 32_700]);
    expect(newestFirst([5, 32_700, 300], undefined)).toEqual([32_700, 300, 5]);
    expect(newestFirst([5, 32_700, 300], 40_000)).toEqual([32_700, 300, 5]);
  });
  it('a socket two processes hold (shared across a fork) is the newest holder\'s, after a wrap too', () => {
    const proc = join(dir, 'proc-wrapped');
    for (const pid of ['310', '32700']) {
      mkdirSync(join(proc, pid, 'fd'), { recursive: true });
      symlinkSync('socket:[5555]', join(proc, pid, 'fd', '3'));
    }
    mkdirSync(join(proc, 'self'));
    // no loadavg: by number
    expect(socketHolders(new Set([5555]), proc)).toEqual(new Map([[5555, 32700]]));
    writeFileSync(join(proc, 'loadavg'), '0.27 1.17 1.71 1/92 320\n');
    expect(lastPid(proc)).toBe(320);
    expect(socketHolders(new Set([5555]), proc)).toEqual(new Map([[5555, 310]]));
  });
});

describe('whether socket owners can be read here', () => {
  it('a PID namespace of its own (a container without --pid host) is named', () => {
    const proc = join(dir, 'proc-container');
    mkdirSync(join(proc, '1', 'fd'), { recursive: true });
    expect(socketOwnersProblem(proc, 7)).toMatch(/not in the host's PID namespace \(containers: --pid host; Kubernetes: hostPID\)/);
  });
  const root = process.getuid?.() === 0;
  it.skipIf(!root)("this machine's /proc, as root: readable; as another user without the capabilities: named", () => {
    expect(socketOwnersProblem()).toBeUndefined();
    // nobody may not enter the checkout (a mode-700 temporary clone): the module goes where it can read it
    const open = join(dir, 'for-nobody');
    mkdirSync(open);
    copyFileSync(join(import.meta.dirname, '..', 'dist', 'attribution', 'sockets.js'), join(open, 'sockets.mjs'));
    for (const d of [dir, open]) chmodSync(d, 0o755);
    const script = `import(${JSON.stringify(join(open, 'sockets.mjs'))}).then((s) => console.log(s.socketOwnersProblem()))`;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8' });
    expect(r.stdout, r.stderr).toMatch(/needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH/);
  });
});

describe("pods' top owners", () => {
  const pod = (ref: { kind: string; name: string } | undefined, labels: Record<string, string> = {}) => ({
    metadata: { name: 'p-1', namespace: 'ns', labels, ownerReferences: ref ? [{ ...ref, controller: true }] : undefined },
    status: { podIP: '10.0.0.9', hostIP: '10.0.0.5' },
  });
  it('ReplicaSet → Deployment and Job → CronJob from the API server when it answers', async () => {
    const lookup = async (kind: string, _ns: string, name: string) => (kind === 'ReplicaSet' ? { kind: 'Deployment', name: 'web' } : { kind: 'CronJob', name: `cron-of-${name}` });
    expect(await topOwner(pod({ kind: 'ReplicaSet', name: 'web-abc' }), lookup)).toEqual({ kind: 'Deployment', namespace: 'ns', name: 'web' });
    expect(await topOwner(pod({ kind: 'Job', name: 'j' }), lookup)).toEqual({ kind: 'CronJob', namespace: 'ns', name: 'cron-of-j' });
  });
  it('without it (a --pods file, or a failed lookup): from the names Kubernetes gives', async () => {
    const failing = async () => {
      throw new Error('forbidden');
    };
    expect(await topOwner(pod({ kind: 'ReplicaSet', name: 'web-7d4b9c' }, { 'pod-template-hash': '7d4b9c' }), failing)).toEqual({ kind: 'Deployment', namespace: 'ns', name: 'web' });
    // a ReplicaSet of no Deployment: the pod, as for any other owner
    expect(await topOwner(pod({ kind: 'ReplicaSet', name: 'bare-rs' }))).toEqual({ kind: 'Pod', namespace: 'ns', name: 'p-1' });
    expect(await topOwner(pod({ kind: 'Job', name: 'backup-29112026' }))).toEqual({ kind: 'CronJob', namespace: 'ns', name: 'backup' });
    expect(await topOwner(pod({ kind: 'Job', name: 'migrate' }))).toEqual({ kind: 'Job', namespace: 'ns', name: 'migrate' });
    expect(await topOwner(pod({ kind: 'StatefulSet', name: 'db' }))).toEqual({ kind: 'StatefulSet', namespace: 'ns', name: 'db' });
    expect(await topOwner(pod(undefined))).toEqual({ kind: 'Pod', namespace: 'ns', name: 'p-1' });
    // a custom controller's kind: the pod is the unit people know
    expect(await topOwner(pod({ kind: 'Rollout', name: 'r' }))).toEqual({ kind: 'Pod', namespace: 'ns', name: 'p-1' });
  });
  it('host-network pods have no address of their own; container IDs lose their runtime prefix', async () => {
    const p = await podInfo({
      metadata: { name: 'agent', namespace: 'kube-system' },
      spec: { hostNetwork: true },
      status: { podIP: '10.0.0.5', hostIP: '10.0.0.5', containerStatuses: [{ containerID: `containerd://${'d'.repeat(64)}` }] },
    });
    expect(p).toMatchObject({ ips: [], hostNetwork: true, containerIds: ['d'.repeat(64)] });
  });
});

describe('the flow table', () => {
  const L = words('10.0.0.5');
  const R = words('3.80.5.5');
  it('holds a new flow’s bytes until its owner is known, then counts them for it', () => {
    const f = new FlowTable(64);
    let pending = 0;
    f.onPending = () => pending++;
    expect(f.see(4, 6, L[0], L, R[0], R, 40000, 443, 0, 2, 100, 1)).toBe(PENDING);
    expect(f.see(4, 6, L[0], L, R[0], R, 40000, 443, 1, 2, 1500, 1.01)).toBe(PENDING);
    expect(pending).toBe(1);
    const [slot] = f.takePending();
    expect(f.tuple(slot)).toMatchObject({ family: 4, proto: 6, localPort: 40000, remotePort: 443 });
    const moved: number[][] = [];
    f.resolve(slot, 7, (w, dir, cat, bytes) => moved.push([w, dir, cat, bytes]));
    expect(moved).toEqual([
      [7, 0, 2, 100],
      [7, 1, 2, 1500],
    ]);
    expect(f.see(4, 6, L[0], L, R[0], R, 40000, 443, 0, 2, 60, 2)).toBe(7);
  });
  it('new flows are taken for a lookup at once; those to try again only with the retries', () => {
    const f = new FlowTable(64);
    let pending = 0;
    f.onPending = () => pending++;
    f.see(4, 6, L[0], L, R[0], R, 1, 443, 0, 2, 10, 1);
    const [first] = f.takePending(false);
    f.requeue(first);
    // a new flow after one put back: looked up at once, without the one put back
    f.see(4, 6, L[0], L, R[0], R, 2, 443, 0, 2, 10, 1);
    expect(pending).toBe(2);
    expect(f.takePending(false).map((s) => f.tuple(s).localPort)).toEqual([2]);
    expect(f.pending).toBe(1);
    expect(f.takePending().map((s) => f.tuple(s))).toMatchObject([{ localPort: 1, tries: 1 }]);
  });
  it('is bounded: a full table counts new flows as unknown (-2) at once', () => {
    const f = new FlowTable(16);
    let n = 0;
    for (let p = 1; p <= 16; p++) if (f.see(4, 17, L[0], L, R[0], R, p, 53, 0, 6, 10, 1) === -2) n++;
    expect(f.size).toBe(12);
    expect(n).toBe(4);
    expect(f.full).toBe(4);
  });
  it('a sweep forgets idle resolved flows, keeps pending and recent ones findable', () => {
    const f = new FlowTable(64);
    f.see(4, 6, L[0], L, R[0], R, 1, 443, 0, 2, 10, 1);
    f.see(4, 6, L[0], L, R[0], R, 2, 443, 0, 2, 10, 1);
    const slots = f.takePending();
    f.resolve(slots[0], 3, () => {});
    f.requeue(slots[1]);
    f.see(4, 6, L[0], L, R[0], R, 3, 443, 0, 2, 10, 100);
    f.sweep(50);
    expect(f.size).toBe(2);
    expect(f.pending).toBe(2);
    // flow 1 was forgotten: seen again, it is new
    expect(f.see(4, 6, L[0], L, R[0], R, 1, 443, 0, 2, 10, 101)).toBe(PENDING);
    expect(f.size).toBe(3);
  });
  it('IPv6 flows are keyed by all four words', () => {
    const f = new FlowTable(64);
    const a = words('2600:1f18::5');
    const b = words('2600:1f18::6');
    expect(f.see(6, 6, 0, a, 0, b, 1, 443, 0, 2, 10, 1)).toBe(PENDING);
    expect(f.see(6, 6, 0, b, 0, a, 1, 443, 0, 2, 10, 1)).toBe(PENDING);
    expect(f.size).toBe(2);
  });
});

describe('local addresses', () => {
  it('IPv4 prefixes (EKS /28 delegations) are expanded; an address given alone keeps its own entry', () => {
    const l = new LocalAddresses(['10.0.1.48/28', '10.0.1.50', '10.0.0.5']);
    expect(l.v4.map((e) => e.text)).toEqual(['10.0.1.50', '10.0.0.5', '10.0.1.48/28']);
    expect(l.index4(v4('10.0.1.50'))).toBe(0);
    expect(l.index4(v4('10.0.0.5'))).toBe(1);
    expect(l.index4(v4('10.0.1.48'))).toBe(2);
    expect(l.index4(v4('10.0.1.63'))).toBe(2);
    expect(l.index4(v4('10.0.1.64'))).toBe(-1);
    expect(l.index4(v4('10.0.1.47'))).toBe(-1);
  });
  it('IPv6: an address before the /80 prefix that holds it; unbounded prefixes are not expanded', () => {
    const l = new LocalAddresses(['2600:1f18:1:2:3::/80', '2600:1f18:1:2:3::9']);
    expect(l.index6(words('2600:1f18:1:2:3::9'))).toBe(0);
    expect(l.index6(words('2600:1f18:1:2:3:0:ffff:1'))).toBe(1);
    expect(l.index6(words('2600:1f18:1:2:4::1'))).toBe(-1);
  });
  it('IPv6: the hash per prefix length gives what a scan of every entry, longest prefix first, gives', () => {
    const entry = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(128, 127, 96, 80, 64, 56)).map(([a, b, len]) => `2600:1f18:${a}:${b}::${len === 128 ? (a * 4 + b + 1).toString(16) : '0'}/${len}`);
    fc.assert(
      fc.property(fc.uniqueArray(entry, { maxLength: 24 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 20 })), { maxLength: 30 }), (entries, probes) => {
        const l = new LocalAddresses(entries);
        // reference: the entries as the table keeps them (deduplicated, longest prefix first), scanned
        const covers = (c: ReturnType<typeof parseCidr>, a: bigint): boolean => a >= c.start && a <= c.end;
        for (const [a, b, last] of probes) {
          const text = `2600:1f18:${a}:${b}::${last.toString(16)}`;
          const addr = parseCidr(text).start;
          const expected = l.v6.findIndex((e) => covers(e.cidr, addr));
          expect(l.index6(words(text)), text).toBe(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
  it('an IPv4 prefix too large to be one host is refused', () => {
    expect(() => new LocalAddresses(['10.0.0.0/8'])).toThrow(/larger than/);
  });
});

describe('the workload table', () => {
  it('is bounded: past its capacity every new workload is "other"; unknown is always 0', () => {
    const w = new Workloads(4);
    expect(w.id('unknown', '', '')).toBe(UNKNOWN_WORKLOAD);
    const a = w.id('process', '', 'curl');
    expect(w.id('process', '', 'curl')).toBe(a);
    w.id('process', '', 'wget');
    expect(w.id('process', '', 'apt')).toBe(OTHER_WORKLOAD);
    expect(w.folded).toBe(1);
  });
  it('names from the host are label-safe and bounded, and never read as "other"', () => {
    expect(sanitizeWorkloadName('a b\u0000"c')).toBe('a_b__c');
    expect(sanitizeWorkloadName('x'.repeat(300))).toHaveLength(128);
    expect(sanitizeWorkloadName('other')).toBe('other.');
  });
});

describe('analyze --pods', () => {
  it("attributes the capturing node's pods by address, and says what it cannot", async () => {
    const cap = join(dir, 'node.pcapng');
    const w = new PcapngWriter(cap, [{ linkType: 1, name: 'eth0' }]);
    const frames: [string, string, number][] = [
      ['10.0.1.20', '3.80.5.5', 1000], // the web pod, to a regional public address
      ['10.0.1.20', '3.80.5.5', 1000],
      ['10.0.1.30', '10.0.2.9', 500], // the db pod (StatefulSet), cross zone
      ['10.0.1.5', '3.80.5.5', 200], // the node itself: no processes offline
    ];
    frames.forEach(([src, dst, len], i) => w.write({ ts: 1 + i, frame: ethernet(ipv4({ src, dst, l4: { proto: 6, sport: 40000, dport: 443, payloadLen: len } })) }));
    w.close();
    const topology = join(dir, 'topo.yaml');
    writeFileSync(topology, 'region: us-east-1\nsubnets:\n  - {cidr: 10.0.1.0/24, zone: us-east-1a}\n  - {cidr: 10.0.2.0/24, zone: us-east-1b}\n');
    const pods = join(dir, 'pods.json');
    const p = (name: string, ip: string, owner: object | undefined, extra: object = {}) => ({
      metadata: { name, namespace: 'shop', labels: { 'pod-template-hash': '7d4b9c' }, ownerReferences: owner ? [owner] : undefined },
      spec: { nodeName: 'n1', ...extra },
      status: { hostIP: '10.0.1.5', podIP: ip },
    });
    writeFileSync(
      pods,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          p('web-7d4b9c-abcde', '10.0.1.20', { kind: 'ReplicaSet', name: 'web-7d4b9c', controller: true }),
          p('db-0', '10.0.1.30', { kind: 'StatefulSet', name: 'db', controller: true }),
          p('agent-x', '10.0.1.5', { kind: 'DaemonSet', name: 'agent', controller: true }, { hostNetwork: true }),
          { ...p('elsewhere', '10.0.9.9', undefined), status: { hostIP: '10.0.9.1', podIP: '10.0.9.9' } },
        ],
      }),
    );
    const r = await runCli(['analyze', cap, '--topology.file', topology, '--local-ip', '10.0.1.5', '--ip-ranges.file', RANGES, '--pods', pods, '--format', 'json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { workloads: { namespace: string; workload: string; workload_kind: string; egress_bytes: number; categories: Record<string, number> }[] };
    const by = Object.fromEntries(out.workloads.map((x) => [`${x.workload_kind}/${x.namespace}/${x.workload}`, x]));
    expect(by['Deployment/shop/web'].egress_bytes).toBe(2 * (1000 + 40));
    expect(by['Deployment/shop/web'].categories).toEqual({ regional_public: 2080 });
    expect(by['StatefulSet/shop/db'].categories).toEqual({ cross_az: 540 });
    expect(by['unknown//'].egress_bytes).toBe(240);
    // the cross-zone pair, named: the pod that carries it here, and the remote in the other zone
    const savings = (JSON.parse(r.stdout) as { savings: { suggestion: string; remote: string; action: string; local_workloads?: string[] }[] }).savings;
    const pair = savings.find((x) => x.suggestion === 'zone_local')!;
    expect(pair).toMatchObject({ remote: '10.0.2.9', local_workloads: ['shop/db'] });
    expect(pair.action).toMatch(/^keep traffic between shop\/db \(the workloads here with cross-zone bytes\) and 10\.0\.2\.9 \(us-east-1b\) in one zone/);
    expect(r.stderr).toMatch(/3 of 4 pods run on this host/);
    expect(r.stderr).toMatch(/1 host-network pod\(s\) \(shop\/agent-x\) share the host's addresses/);
    // the table says the unattributed share
    const table = await runCli(['analyze', cap, '--topology.file', topology, '--local-ip', '10.0.1.5', '--ip-ranges.file', RANGES, '--pods', pods]);
    expect(table.stdout).toMatch(/TOP WORKLOADS BY COST/);
    expect(table.stdout).toMatch(/unattributed \(workload_kind="unknown"\): 240 bytes/);
    // and the HTML report has the workloads, by cost
    const html = await runCli(['analyze', cap, '--topology.file', topology, '--local-ip', '10.0.1.5', '--ip-ranges.file', RANGES, '--pods', pods, '--format', 'html']);
    const section = /<section id="workloads">[\s\S]*?<\/section>/.exec(html.stdout)?.[0] ?? '';
    expect(section).toMatch(/<span class="name">web<\/span><\/td><td>shop<\/td><td>Deployment<\/td>/);
    expect(section).toMatch(/\(unattributed\)/);
  });
  it("an address that changes hands: each packet's bytes go to the pod that held it then (one file, and snapshots)", async () => {
    // a Job's pod holds 10.0.1.40 from t=100 to its end at t=105; a Deployment's pod gets the address at t=110
    const cap = join(dir, 'reuse.pcapng');
    const w = new PcapngWriter(cap, [{ linkType: 1, name: 'eth0' }]);
    const frame = (ts: number, len: number) => w.write({ ts, frame: ethernet(ipv4({ src: '10.0.1.40', dst: '3.80.5.5', l4: { proto: 6, sport: 40000, dport: 443, payloadLen: len } })) });
    for (let t = 101; t <= 104; t++) frame(t, 960); // the Job's: 4 × 1,000 IP bytes
    for (let t = 111; t <= 113; t++) frame(t, 2960); // the Deployment's: 3 × 3,000
    w.close();
    const topology = join(dir, 'topo-reuse.yaml');
    writeFileSync(topology, 'region: us-east-1\nsubnets:\n  - {cidr: 10.0.1.0/24, zone: us-east-1a}\n');
    const iso = (t: number) => new Date(t * 1000).toISOString();
    const job = (phase: string, end?: number) => ({
      metadata: { name: 'report-28810560-x1', namespace: 'batch', uid: 'u-job', creationTimestamp: iso(99), ownerReferences: [{ kind: 'Job', name: 'report-28810560', controller: true }] },
      spec: { nodeName: 'n1' },
      status: { phase, hostIP: '10.0.1.5', podIP: '10.0.1.40', startTime: iso(100), containerStatuses: end ? [{ state: { terminated: { finishedAt: iso(end) } } }] : [] },
    });
    const web = {
      metadata: { name: 'web-7d4b9c-abcde', namespace: 'shop', uid: 'u-web', labels: { 'pod-template-hash': '7d4b9c' }, ownerReferences: [{ kind: 'ReplicaSet', name: 'web-7d4b9c', controller: true }] },
      spec: { nodeName: 'n1' },
      status: { phase: 'Running', hostIP: '10.0.1.5', podIP: '10.0.1.40', startTime: iso(110) },
    };
    const write = (name: string, items: object[]) => {
      writeFileSync(join(dir, name), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      return join(dir, name);
    };
    const bytesOf = async (pods: string) => {
      const r = await runCli(['analyze', cap, '--topology.file', topology, '--local-ip', '10.0.1.5', '--ip-ranges.file', RANGES, '--pods', pods, '--format', 'json']);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { workloads: { namespace: string; workload: string; workload_kind: string; egress_bytes: number }[] };
      return Object.fromEntries(out.workloads.map((x) => [`${x.workload_kind}/${x.namespace}/${x.workload}`, x.egress_bytes]));
    };
    const expected = { 'CronJob/batch/report': 4000, 'Deployment/shop/web': 9000 };
    // one file: the finished Job's pod (kept offline, with its end) and the running pod that has its address now
    expect(await bytesOf(write('reuse.json', [job('Succeeded', 105), web]))).toEqual(expected);
    // two snapshots: the Job's pod running in the first, gone from the second
    expect(await bytesOf(`${write('snap-1.json', [job('Running')])},${write('snap-2.json', [web])}`)).toEqual(expected);
  });

  it('a pods file that is not one exits 2 with one line', async () => {
    const bad = join(dir, 'bad-pods.json');
    writeFileSync(bad, '{"items": [{"spec": {}}]}');
    const r = await runCli(['analyze', join(dir, 'node.pcapng'), '--local-ip', '10.0.1.5', '--ip-ranges.file', RANGES, '--pods', bad]);
    expect(r.status).toBe(2);
    const faults = r.stderr.trim().split('\n').filter((l) => !l.includes('level=warn'));
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatch(/--pods .*bad-pods\.json: items\[0\]\.metadata/);
  });
});

describe("the kernel's answers (the netlink addon)", () => {
  const { addon, problem } = loadNetlink();
  const loopback = (): Uint32Array => new Uint32Array([0x7f000001, 0, 0, 0]);
  const sockets: ({ close(): void } | { destroy(): void })[] = [];
  const connected = (): Promise<{ client: Socket; port: number }> =>
    new Promise((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const port = (server.address() as AddressInfo).port;
        const client = connect(port, '127.0.0.1', () => resolve({ client, port }));
        sockets.push(client, server);
      });
    });
  const inodeOfFd = (fd: number): number => Number(readlinkSync(`/proc/self/fd/${fd}`).slice(8, -1));

  it.skipIf(missingOutsideCi(addon !== undefined))('is built here (npm ci builds it)', () => {
    expect(problem).toBeUndefined();
  });

  it.skipIf(!addon)('a TCP connection: its socket by the exact 5-tuple, and the process that holds it', async () => {
    const k = new KernelLookups(addon!);
    const { client, port } = await connected();
    const key = { family: 4 as const, proto: 6, local: loopback(), remote: loopback(), localPort: client.localPort!, remotePort: port };
    const s = k.socket(key)!;
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    expect(s.inode).toBe(inodeOfFd(fd));
    expect(s.uid).toBe(process.getuid!());
    expect(s.state).toBe(1);
    expect(k.holders(new Set([s.inode]), [], true)).toEqual(new Map([[s.inode, process.pid]]));
    // a recent holder is read without a walk of /proc
    expect(k.holders(new Set([s.inode]), [process.pid], false)).toEqual(new Map([[s.inode, process.pid]]));
    expect(k.holders(new Set([s.inode]), [], false)).toEqual(new Map());
    // a connection that does not exist, at a port nobody listens on
    expect(k.socket({ ...key, localPort: 1, remotePort: 2 })).toBeUndefined();
    // the server's side of it: the accepted socket; a closed one of the server's would be its listener's
    const listener = k.socket({ ...key, localPort: port, remotePort: 3 })!;
    expect(listener.state).toBe(10); // LISTEN
    expect(k.socketProblem).toBeUndefined();
  });

  it.skipIf(!addon)('UDP: a socket that only sends (no connect) is found by the address it sends from', async () => {
    const k = new KernelLookups(addon!);
    const u = createSocket('udp4');
    sockets.push(u);
    await new Promise<void>((r) => u.send(Buffer.alloc(1), 9, '127.0.0.1', () => r()));
    const s = k.socket({ family: 4, proto: 17, local: loopback(), remote: loopback(), localPort: u.address().port, remotePort: 9 })!;
    expect(s.state).toBe(7);
    expect(s.inode).toBeGreaterThan(0);
  });

  it.skipIf(!addon)('UDP: one question a flow, as a received packet: a connected socket by its pair, a bound one for any remote', async () => {
    let calls = 0;
    const a = addon!;
    const k = new KernelLookups({ ...a, socketOf: (...args: Parameters<typeof a.socketOf>) => (calls++, a.socketOf(...args)) });
    const server = createSocket('udp4');
    const client = createSocket('udp4');
    const v6 = createSocket('udp6');
    sockets.push(server, client, v6);
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    const port = server.address().port;
    await new Promise<void>((r) => client.connect(port, '127.0.0.1', () => r()));
    const inode = (u: typeof client): number => inodeOfFd((u as unknown as { _handle: { fd: number } })._handle.fd);
    const key = { family: 4 as const, proto: 17, local: loopback(), remote: loopback() };
    // the client's side, connected: by its exact pair
    expect(k.socket({ ...key, localPort: client.address().port, remotePort: port })?.inode).toBe(inode(client));
    // the server's, bound and connected to nobody: for any remote, in the same one question
    calls = 0;
    expect(k.socket({ ...key, localPort: port, remotePort: 4242 })?.inode).toBe(inode(server));
    expect(calls).toBe(1);
    // a connected socket is not another remote's; a port nobody holds: nothing, after one question
    calls = 0;
    expect(k.socket({ ...key, localPort: client.address().port, remotePort: 4242 })).toBeUndefined();
    expect(k.socket({ ...key, localPort: 1, remotePort: 2 })).toBeUndefined();
    expect(calls).toBe(2);
    // IPv6 the same way
    const v6up = await new Promise<boolean>((r) => {
      v6.once('error', () => r(false)); // a host without IPv6 loopback: not asked
      v6.connect(port, '::1', () => r(true));
    });
    const v6key = { family: 6 as const, proto: 17, local: new Uint32Array([0, 0, 0, 1]), remote: new Uint32Array([0, 0, 0, 1]) };
    if (v6up) expect(k.socket({ ...v6key, localPort: v6.address().port, remotePort: port })?.inode).toBe(inode(v6));
    expect(k.socketProblem).toBeUndefined();
  });

  it('a lookup that fails for good is said once and not tried again; a missing connection is no failure', () => {
    let calls = 0;
    const fake = (code: number) => ({ socketOf: () => (calls++, code), conntrackOther: () => (calls++, code), socketHolders: () => 0 });
    const denied = new KernelLookups(fake(-1)); // EPERM
    denied.probe();
    expect(denied.socketProblem).toMatch(/inet_diag.*no permission/);
    expect(denied.conntrackProblem).toMatch(/ctnetlink.*no permission/);
    calls = 0;
    denied.probe();
    expect(calls).toBe(0);
    const absent = new KernelLookups(fake(-2)); // ENOENT: no such socket or connection
    absent.probe();
    expect(absent.socketProblem).toBeUndefined();
    expect(absent.conntrackProblem).toBeUndefined();
    expect(new KernelLookups(fake(-93)).beforeNat({ family: 4, proto: 6, local: loopback(), remote: loopback(), localPort: 1, remotePort: 1 })).toBeUndefined();
  });

  it('a cgroup id is its directory inode in cgroup2: the path says the unit or the container', () => {
    const root = join(dir, 'cgroup2');
    const unit = join(root, 'system.slice', 'apt-daily.service');
    const pod = join(root, 'kubepods.slice', 'kubepods-besteffort.slice', `cri-containerd-${'a'.repeat(64)}.scope`);
    for (const d of [unit, pod]) mkdirSync(d, { recursive: true });
    writeFileSync(join(root, 'cgroup.procs'), '');
    const paths = new CgroupPaths([join(dir, 'nowhere'), root]);
    expect(paths.root).toBe(root);
    expect(paths.pathOf(statSync(unit).ino)).toBe('/system.slice/apt-daily.service');
    expect(describeCgroup(`0::${paths.pathOf(statSync(pod).ino)}`).containerId).toBe('a'.repeat(64));
    // a cgroup made after the walk is found by the next one (at most once a second)
    const later = join(root, 'system.slice', 'later.service');
    mkdirSync(later);
    expect(paths.pathOf(statSync(later).ino, Date.now())).toBeUndefined();
    expect(paths.pathOf(statSync(later).ino, Date.now() + 1500)).toBe('/system.slice/later.service');
    // a path a live holder's /proc/PID/cgroup gave is kept for its socket's id, without a walk, once
    // the id is that directory's: its sockets are named after it exits
    const learned = join(root, 'system.slice', 'learned.service');
    mkdirSync(learned);
    const now = Date.now() + 1500;
    paths.learn(statSync(learned).ino, '/system.slice/apt-daily.service');
    expect(paths.pathOf(statSync(learned).ino, now)).toBeUndefined();
    paths.learn(statSync(learned).ino, '/system.slice/learned.service');
    expect(paths.pathOf(statSync(learned).ino, now)).toBe('/system.slice/learned.service');
  });

  it("the first-packets thread's holder names, 6 bytes in each of three numbers, read back whole", () => {
    const pack = (name: string): number[] => {
      const b = Buffer.alloc(18);
      b.write(name, 'utf8');
      return [0, 1, 2].map((i) => b.subarray(i * 6, i * 6 + 6).reduce((v, x) => v * 256 + x, 0));
    };
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 15 }).filter((n) => !n.includes('\0') && Buffer.byteLength(n) <= 15), (name) => {
        expect(commOf([7, ...pack(name)], 1)).toBe(name);
      }),
    );
    expect(commOf(pack('quick-exit'), 0)).toBe('quick-exit');
    expect(commOf([0, 0, 0], 0)).toBe('');
  });

  afterAll(() => sockets.forEach((s) => ("close" in s ? s.close() : s.destroy())));
});

describe('sockets as ss prints them (the demo, and captures taken with `ss -tunapH --cgroup`)', () => {
  const list = parseSocketList(
    [
      'Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process',
      'tcp   ESTAB  0      0      172.31.51.15:54059  54.144.10.20:80   users:(("http",pid=2211,fd=5)) cgroup:/system.slice/apt-daily.service',
      'tcp   ESTAB  0      0      [2600:1f18::15]:59743  [2600:1f18::22]:6379 users:(("orders-api",pid=1804,fd=16))',
      'tcp   LISTEN 0      511    *:8080  *:*   users:(("nginx",pid=700,fd=6),("nginx",pid=701,fd=6)) cgroup:/system.slice/nginx.service',
      'udp   UNCONN 0      0      127.0.0.53%lo:53  0.0.0.0:*  users:(("systemd-resolve",pid=389,fd=13))',
      'tcp   TIME-WAIT 0   0      172.31.51.15:40000  54.144.10.20:80',
      'u_str ESTAB  0      0      * 1234 * 1235',
    ].join('\n'),
  );
  const key = (proto: number, l: string, lp: number, r: string, rp: number, family: 4 | 6 = 4) => ({ family, proto, local: words(l), remote: words(r), localPort: lp, remotePort: rp });

  it('a connection by its 5-tuple: the unit of its cgroup, else the process', () => {
    expect(list.ownerOf(key(6, '172.31.51.15', 54059, '54.144.10.20', 80))).toEqual({ kind: 'systemd_unit', namespace: '', name: 'apt-daily.service' });
    expect(list.ownerOf(key(6, '2600:1f18::15', 59743, '2600:1f18::22', 6379, 6))).toEqual({ kind: 'process', namespace: '', name: 'orders-api' });
  });
  it("a listener or an unconnected socket owns its port; nobody's socket (TIME-WAIT) and other families are skipped", () => {
    expect(list.ownerOf(key(6, '172.31.51.15', 8080, '10.0.0.9', 5555))?.name).toBe('nginx.service');
    expect(list.ownerOf(key(17, '127.0.0.53', 53, '127.0.0.1', 40000))?.name).toBe('systemd-resolve');
    expect(list.ownerOf(key(6, '172.31.51.15', 40000, '54.144.10.20', 80))).toBeUndefined();
    expect(list.size).toBe(4);
  });
  it('a line that is no socket is an error with its line number', () => {
    expect(() => parseSocketList('tcp ESTAB 0 0 nonsense', 'ss.txt')).toThrow(/ss\.txt:1: no local and peer address/);
    expect(() => parseSocketList('hello world\n', 'ss.txt')).toThrow(/ss\.txt:1: not a line of `ss -tunapH --cgroup`/);
  });
});
