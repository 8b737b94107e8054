// Each documented flag of the live exporter has an effect a test can see, so that a flag that is parsed
// and then ignored fails here: --capture.filter, --capture.snaplen, --web.telemetry-path, --log.level,
// --log.format, --web.shutdown-grace, --config.file precedence; and the promises of the README about
// failures: without CAP_NET_RAW it lives on with capture_up 0; an interface that goes away sets
// capture_up 0 and comes back.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, missingOutsideCi, tempDir } from './helpers.js';
import { canUseNetns, ip, Lab, parseMetrics, until, waitForOutput } from './netns.js';

const id = String((process.pid + 7) % 10000);
const lab = new Lab(id);
const dir = tempDir();
let H = '';
let P = '';
const HOST = '10.81.1.10';
const PEER = '10.81.1.20';
// scrape path from this test (host side .1) to the exporter's namespace (.2)
const octet = (process.pid + 7) % 250;
const WEB = `10.82.${octet}.2`;
const TOPOLOGY = join(dir, 'topology.yaml');

/** Start an exporter in H on h0 with extra flags; resolves with its base URL once it serves. */
async function exporter(port: number, flags: string[], env: NodeJS.ProcessEnv = {}, runAs?: string): Promise<{ child: ChildProcess; base: string; log: () => string }> {
  const args = [CLI, '--interface', 'h0', '--topology.file', TOPOLOGY, '--aws.discovery', 'false', '--web.listen-address', `${WEB}:${port}`, ...flags];
  // as another user, with no capability but CAP_DAC_READ_SEARCH: the clone may sit in a folder only
  // root can enter, and what is tested is the lack of CAP_NET_RAW
  const asUser = ['--reuid', runAs ?? '', '--regid', runAs ?? '', '--clear-groups', '--inh-caps', '+dac_read_search', '--ambient-caps', '+dac_read_search'];
  const child = runAs ? lab.spawn(H, 'setpriv', [...asUser, process.execPath, ...args], env) : lab.spawn(H, process.execPath, args, env);
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  const base = `http://${WEB}:${port}`;
  // not the "serving" log line: --log.level warn hides it
  await until('serving', async () => ((await fetch(`${base}/-/healthy`)).status === 200 ? true : undefined), 20_000, 100);
  return { child, base, log: () => log };
}

/** Send from H to P: `count` UDP datagrams of `size` bytes, IP options of 40 bytes when `options`. */
async function sendUdp(count: number, size: number, port: number, options = false): Promise<void> {
  const script = `
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
${options ? 's.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes([1] * 39 + [0]))' : ''}
for i in range(${count}):
    s.sendto(bytes(${size}), ('${PEER}', ${port}))
    time.sleep(0.001)
print('sent')
`;
  const c = lab.spawn(H, 'python3', ['-c', script]);
  await waitForOutput(c, /sent/, 20_000);
}

async function metrics(base: string, path = '/metrics'): Promise<Map<string, number>> {
  return parseMetrics(await (await fetch(`${base}${path}`)).text());
}

describe.skipIf(missingOutsideCi(canUseNetns()))('flag effects on a live exporter', () => {
  beforeAll(() => {
    H = lab.ns('fh');
    P = lab.ns('fp');
    lab.veth('h0', H, 'p0', P);
    ip('-n', H, 'addr', 'add', `${HOST}/24`, 'dev', 'h0');
    ip('-n', P, 'addr', 'add', `${PEER}/24`, 'dev', 'p0');
    lab.veth(`afx${id}`, undefined, 'hx0', H);
    ip('addr', 'add', `10.82.${octet}.1/30`, 'dev', `afx${id}`);
    ip('-n', H, 'addr', 'add', `${WEB}/30`, 'dev', 'hx0');
    writeFileSync(TOPOLOGY, 'region: us-east-1\nsubnets:\n  - {cidr: 10.81.1.0/24, zone: us-east-1a, zone_id: use1-az1}\n');
  });
  afterAll(() => lab.cleanup());

  it('--capture.filter: only matching packets are counted (udp port 7001 counted, 7002 not)', async () => {
    const e = await exporter(9101, ['--capture.filter', 'udp port 7001', '--web.shutdown-grace', '0']);
    await until('capture up', async () => ((await metrics(e.base)).get('aztraffic_capture_up{interface="h0"}') === 1 ? true : undefined));
    await sendUdp(20, 100, 7001);
    await sendUdp(30, 100, 7002);
    const key = (port: number): string => `aztraffic_remote_bytes_total{direction="egress",category="same_az",remote_az="us-east-1a",remote="${PEER}",port="${port}",path="direct"}`;
    const m = await until('7001 counted', async () => {
      const x = await metrics(e.base);
      return x.get(key(7001)) === 20 * 128 ? x : undefined;
    });
    expect(m.get(key(7002))).toBeUndefined();
    // a filter chooses what is captured: the capture says so, and coverage is not a ratio of unlike things
    expect(m.get('aztraffic_capture_filtered{interface="h0"}')).toBe(1);
    const summary = (await (await fetch(`${e.base}/api/v1/summary`)).json()) as { health: { capture: { interface: string; coverage: number | null; filtered: boolean }[] } };
    expect(summary.health.capture.find((c) => c.interface === 'h0')).toMatchObject({ coverage: null, filtered: true });
    expect(await (await fetch(`${e.base}/`)).text()).toMatch(/n\/a \(filtered\)/);
    e.child.kill('SIGTERM');
  });

  it('--capture.snaplen: at 64 bytes a header with 40 bytes of IP options loses its ports; bytes stay exact', async () => {
    const short = await exporter(9102, ['--capture.snaplen', '64', '--web.shutdown-grace', '0']);
    const long = await exporter(9103, ['--web.shutdown-grace', '0']);
    for (const e of [short, long]) await until('capture up', async () => ((await metrics(e.base)).get('aztraffic_capture_up{interface="h0"}') === 1 ? true : undefined));
    await sendUdp(10, 100, 7003, true);
    const withPort = `aztraffic_remote_bytes_total{direction="egress",category="same_az",remote_az="us-east-1a",remote="${PEER}",port="7003",path="direct"}`;
    const noPort = `aztraffic_remote_bytes_total{direction="egress",category="same_az",remote_az="us-east-1a",remote="${PEER}",port="",path="direct"}`;
    // 100 payload + 8 UDP + 60 IP (20 + 40 options)
    await until('192: with its port', async () => ((await metrics(long.base)).get(withPort) === 10 * 168 ? true : undefined));
    const m = await until('64: without', async () => {
      const x = await metrics(short.base);
      return x.get(noPort) === 10 * 168 ? x : undefined;
    });
    expect(m.get(withPort)).toBeUndefined();
    short.child.kill('SIGTERM');
    long.child.kill('SIGTERM');
  });

  it('--web.telemetry-path, --log.level, --log.format; a config file loses to env and flags', async () => {
    const cfg = join(dir, 'config.yaml');
    writeFileSync(cfg, 'web.telemetry-path: /from-file\nlog.level: debug\nweb.shutdown-grace: 0\nremote.top-k: 3\n');
    const e = await exporter(9104, ['--config.file', cfg, '--web.telemetry-path', '/from-flag', '--log.format', 'json'], { AZTRAFFIC_LOG_LEVEL: 'warn' });
    expect((await fetch(`${e.base}/from-flag`)).status).toBe(200);
    expect((await fetch(`${e.base}/from-file`)).status).toBe(404);
    expect((await fetch(`${e.base}/metrics`)).status).toBe(404);
    // env (warn) beat the file (debug): no info or debug lines; json lines only
    await new Promise((r) => setTimeout(r, 500));
    const lines = e.log().trim().split('\n').filter(Boolean);
    for (const l of lines) {
      const rec = JSON.parse(l) as { level: string };
      expect(['warn', 'error']).toContain(rec.level);
    }
    e.child.kill('SIGTERM');
    // and the file's own value applies where nothing else speaks
    const f = await exporter(9105, ['--config.file', cfg]);
    expect((await fetch(`${f.base}/from-file`)).status).toBe(200);
    expect(f.log()).toMatch(/level=debug/);
    f.child.kill('SIGTERM');
  });

  it('--web.shutdown-grace: after SIGTERM the last counts are served that long, then exit 0', async () => {
    const e = await exporter(9106, ['--web.shutdown-grace', '3']);
    const exited = new Promise<number | null>((r) => e.child.on('exit', r));
    const t0 = Date.now();
    e.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    expect((await fetch(`${e.base}/metrics`)).status).toBe(200);
    expect(await exited).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2900);
    const quick = await exporter(9107, ['--web.shutdown-grace', '0']);
    const q0 = Date.now();
    const quickExit = new Promise<number | null>((r) => quick.child.on('exit', r));
    quick.child.kill('SIGTERM');
    expect(await quickExit).toBe(0);
    expect(Date.now() - q0).toBeLessThan(2000);
  });

  it('without CAP_NET_RAW (uid 65534) it is still serving after 10 s, capture_up 0, not ready, errors counted', async () => {
    const e = await exporter(9108, ['--web.shutdown-grace', '0'], {}, '65534');
    await new Promise((r) => setTimeout(r, 10_000));
    expect(e.child.exitCode, e.log()).toBeNull();
    const m = await metrics(e.base);
    expect(m.get('aztraffic_capture_up{interface="h0"}')).toBe(0);
    expect(m.get('aztraffic_capture_errors_total{interface="h0"}')).toBeGreaterThanOrEqual(3);
    expect((await fetch(`${e.base}/-/ready`)).status).toBe(503);
    expect(e.log()).toMatch(/CAP_NET_RAW/);
    // nor CAP_NET_ADMIN: connection tracking cannot be asked, said once at start and as a metric;
    // the kernel's socket lookup needs no capability
    expect(m.get('aztraffic_workload_kernel_lookup_available{lookup="conntrack"}')).toBe(0);
    expect(m.get('aztraffic_workload_kernel_lookup_available{lookup="socket"}')).toBe(1);
    expect(e.log().match(/connection tracking \(ctnetlink\): no permission/g)).toHaveLength(1);
    e.child.kill('SIGTERM');
  }, 30_000);

  it('an interface that disappears sets capture_up 0; it is captured again when it is back', async () => {
    ip('-n', H, 'link', 'add', 'gone0', 'type', 'veth', 'peer', 'name', 'gone1');
    ip('-n', H, 'link', 'set', 'gone0', 'up');
    ip('-n', H, 'link', 'set', 'gone1', 'up');
    const child = lab.spawn(H, process.execPath, [CLI, '--interface', 'gone0', '--aws.discovery', 'false', '--web.listen-address', `${WEB}:9109`, '--web.shutdown-grace', '0']);
    await waitForOutput(child, /serving metrics/);
    const base = `http://${WEB}:9109`;
    const up = async (): Promise<number | undefined> => (await metrics(base)).get('aztraffic_capture_up{interface="gone0"}');
    await until('up', async () => ((await up()) === 1 ? true : undefined));
    ip('-n', H, 'link', 'del', 'gone0');
    await until('down after the interface went', async () => ((await up()) === 0 ? true : undefined), 15_000);
    expect((await metrics(base)).get('aztraffic_capture_errors_total{interface="gone0"}')).toBeGreaterThanOrEqual(1);
    ip('-n', H, 'link', 'add', 'gone0', 'type', 'veth', 'peer', 'name', 'gone1');
    ip('-n', H, 'link', 'set', 'gone0', 'up');
    await until('up again', async () => ((await up()) === 1 ? true : undefined), 40_000);
    child.kill('SIGTERM');
  }, 90_000);
});

