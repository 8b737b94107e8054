// The Docker image: built from the Dockerfile on a base made here with debootstrap (test/image.ts; no
// image can be pulled), run with testcontainers on the host network with NET_RAW only, counting traffic
// sent into a test namespace, as a non-root user.
import { execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BASE, BUILD_BASE, builtImage, dockerAvailable, IMAGE, imageIds } from './image.js';
import { missingOutsideCi } from './helpers.js';
import { Lab, ip, parseMetrics, until, waitForOutput } from './netns.js';

const id = String(process.pid % 10000);
const octet = (process.pid % 200) + 20;
const lab = new Lab(id);
const HOST_LINK = `aztdk${id}`;
const PORT = 19900 + (process.pid % 90);
let container: StartedTestContainer | undefined;

describe.skipIf(missingOutsideCi(dockerAvailable()))('container image', () => {
  /** Images there before the test: the clean-up leaves them alone. */
  let before = new Set<string>();

  beforeAll(async () => {
    // CI starts the build when the suite starts (test/global-setup.ts), beside the other files' tests
    before = await builtImage(inject('imageBuild'));

    // a test namespace behind a veth: the exporter captures the host side
    const ns = lab.ns('dk');
    lab.veth(HOST_LINK, undefined, 'dk0', ns);
    ip('addr', 'add', `10.79.${octet}.1/30`, 'dev', HOST_LINK);
    ip('-n', ns, 'addr', 'add', `10.79.${octet}.2/30`, 'dev', 'dk0');
    const sink = lab.spawn(ns, process.execPath, ['-e', `const s=require('dgram').createSocket('udp4');s.on('message',()=>{});s.bind(7777,'10.79.${octet}.2',()=>console.log('listening'))`]);
    await waitForOutput(sink, /listening/);

    container = await new GenericContainer(IMAGE)
      .withNetworkMode('host')
      .withAddedCapabilities('NET_RAW')
      .withEnvironment({ AWS_EC2_METADATA_DISABLED: 'true' })
      .withCommand(['serve', '--interface', HOST_LINK, '--web.listen-address', `127.0.0.1:${PORT}`, '--ip-ranges.url', 'none', '--web.shutdown-grace', '0'])
      .withWaitStrategy(Wait.forLogMessage(/serving metrics/))
      .withStartupTimeout(60_000)
      .start();
  }, 900_000);

  afterAll(async () => {
    await container?.stop({ timeout: 5_000 });
    lab.cleanup();
    // the images are made anew at every run (the bases are imported, so no layer is reused): left
    // behind, with the build stage's untagged ones, a few runs filled a developer machine's vfs storage.
    // Removed in the background (vfs deletes gigabytes file by file, half a minute): no test waits for it
    try {
      const ours = imageIds('dangling=true').filter((i) => !before.has(i));
      spawn('docker', ['rmi', '-f', IMAGE, BASE, BUILD_BASE, ...ours], { stdio: 'ignore', detached: true }).unref();
    } catch {
      // best effort: a failed clean-up is no failed test
    }
  });

  it('runs as a non-root user whose only effective capability is NET_RAW', async () => {
    const status = await container!.exec(['cat', '/proc/1/status']);
    expect(status.output).toMatch(/^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
    const capEff = /^CapEff:\s+([0-9a-f]+)$/m.exec(status.output)![1];
    expect(BigInt(`0x${capEff}`)).toBe(1n << 13n); // CAP_NET_RAW only
  });

  it('counts traffic sent into the test namespace, from inside the container', async () => {
    await until('capture running', async () => ((await fetch(`http://127.0.0.1:${PORT}/-/ready`)).status === 200 ? true : undefined));
    const sock = createSocket('udp4');
    const payload = Buffer.alloc(1000, 7);
    for (let i = 0; i < 100; i++) await new Promise<void>((r) => sock.send(payload, 7777, `10.79.${octet}.2`, () => r()));
    sock.close();
    // 10.79.0.0/16 is private and in no known subnet: unclassified; UDP/IPv4 is exactly 1028 bytes each
    const key = 'aztraffic_bytes_total{direction="egress",category="unclassified",local_az="",remote_az=""}';
    const m = await until('counted', async () => {
      const x = parseMetrics(await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text());
      return (x.get(key) ?? 0) >= 100 * 1028 ? x : undefined;
    });
    expect(m.get(key)).toBe(100 * 1028);
    expect(m.get(`aztraffic_remote_bytes_total{direction="egress",category="unclassified",remote_az="",remote="10.79.${octet}.2",port="7777",path="direct"}`)).toBe(100 * 1028);
    expect(m.get(`aztraffic_capture_up{interface="${HOST_LINK}"}`)).toBe(1);
  });

  it('has OCI labels and a working healthcheck; its size is reported', async () => {
    const inspect = JSON.parse(execFileSync('docker', ['image', 'inspect', IMAGE], { encoding: 'utf8' }))[0];
    expect(inspect.Config.Labels['org.opencontainers.image.title']).toBe('az-traffic-exporter');
    expect(inspect.Config.User).toBe('10001:10001');
    const health = inspect.Config.Healthcheck.Test as string[];
    // the healthcheck command itself, run in the container: it finds the exporter on the port it was
    // given (not the default 9977)
    expect(health).toEqual(['CMD', 'node', '/app/dist/healthcheck.js']);
    const probe = await container!.exec(health.slice(1));
    expect(probe.exitCode, probe.output).toBe(0);
    const base = JSON.parse(execFileSync('docker', ['image', 'inspect', BASE], { encoding: 'utf8' }))[0];
    console.log(`image ${IMAGE}: ${(inspect.Size / 1e6).toFixed(0)} MB, of which the base ${(base.Size / 1e6).toFixed(0)} MB`);
  });

  it("the README's command for process attribution (--pid host, SYS_PTRACE, DAC_READ_SEARCH): another user's process is named", async () => {
    // a TCP server in the namespace answering 600 kB over half a second, and a renamed curl run as nobody
    const web = lab.spawn(lab.namespaces[0], process.execPath, [
      '-e',
      `require('http').createServer((q,r)=>{r.writeHead(200,{'content-length':600000});let i=0;const t=setInterval(()=>{r.write(Buffer.alloc(60000,1));if(++i===10){clearInterval(t);r.end()}},50)}).listen(8080,'10.79.${octet}.2',()=>console.log('listening'))`,
    ]);
    await waitForOutput(web, /listening/);
    const port = PORT + 100;
    const name = `azt-attrib-${id}`;
    // exactly the README's flags, with the test's interface and port
    execFileSync('docker', [
      'run', '-d', '--name', name, '--network', 'host', '--pid', 'host', '--cap-drop', 'ALL', '--cap-add', 'NET_RAW', '--cap-add', 'SYS_PTRACE', '--cap-add', 'DAC_READ_SEARCH', '--user', '0',
      '-e', 'AWS_EC2_METADATA_DISABLED=true', IMAGE,
      'serve', '--interface', HOST_LINK, '--web.listen-address', `127.0.0.1:${port}`, '--ip-ranges.url', 'none', '--web.shutdown-grace', '0',
    ]);
    try {
      await until('ready', async () => ((await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined))?.status === 200 ? true : undefined), 30_000);
      const curl = join(tmpdir(), `fetch-dk-${id}`);
      cpSync('/usr/bin/curl', curl);
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', curl, '-s', '-o', '/dev/null', `http://10.79.${octet}.2:8080/`]);
      rmSync(curl, { force: true });
      const key = `aztraffic_workload_bytes_total{direction="ingress",category="unclassified",namespace="",workload="fetch-dk-${id}",workload_kind="process"}`;
      const m = await until('attributed', async () => {
        const x = parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
        return (x.get(key) ?? 0) >= 600_000 ? x : undefined;
      });
      expect(m.get(key)).toBeLessThan(600_000 * 1.1);
    } finally {
      execFileSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
    }
  });
});
