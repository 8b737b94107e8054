// analyze --read.parallel: a pcap or pcapng file read in two threads gives what one thread gives, byte for
// byte in every output format, and where it could not (the remote table would have been drained mid-file,
// the file is cut short) one thread reads on, and says so.
import { spawnSync } from 'node:child_process';
import { appendFileSync, closeSync, copyFileSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { beforeAll, describe, expect, it } from 'vitest';
import { arp, block, ethernet, ipv4, ipv6, PcapngWriter, PcapWriter, type L4 } from '../scripts/lib/frames.js';
import { claim, CONTROL, PROMISED, READER, WORKER } from '../src/pipeline/parallel/count-job.js';
import { findRecordStart, peekCapture } from '../src/sources/file-reader.js';
import { CLI, DEMO, tempDir } from './helpers.js';

const HOST4 = '172.31.51.15';
const HOST6 = '2600:1f18:1234:5600::15';
const RESOLVER = '172.31.0.2';
const FIXED = ['54.144.10.20', '172.31.20.10', '52.216.8.40', '52.48.1.9', '10.200.0.5', '172.31.50.7', '3.80.16.5'];
const FRAMES = 30_000;
const T0 = 1_790_000_000;

const ip = (src: string, dst: string, l4: L4): Buffer => (src.includes(':') ? ipv6({ src, dst, l4 }) : ipv4({ src, dst, l4 }));

/**
 * The story: TCP to fixed remotes of every category and to thousands of distinct internet addresses,
 * IPv6 both ways, ARP and cut IP headers, and DNS answers early and late in the file, the late ones
 * naming remotes seen only after them (names a worker's part must hand back to be learned).
 */
function writeStory(path: string, seed: number, opts: { nanos?: boolean; bigEndian?: boolean; pcapng?: boolean; rename?: boolean } = {}): void {
  // pcapng: a second interface (raw IP, no link header) takes every fourth packet, and statistics blocks
  const ng = opts.pcapng ? new PcapngWriter(path, [{ linkType: 1, name: 'eth0' }, { linkType: 101, name: 'tun0' }]) : undefined;
  const pcap = ng ? undefined : new PcapWriter(path, 1, 262144, opts);
  let n = 0;
  const w = {
    write: (r: { ts: number; frame: Buffer }): void => {
      if (ng === undefined) return pcap!.write(r);
      const raw = ++n % 4 === 0 && r.frame.readUInt16BE(12) !== 0x0806;
      ng.write(raw ? { ts: r.ts, frame: r.frame.subarray(14), iface: 1 } : r);
      if (n % 5000 === 0) ng.writeStats(n % 10000 === 0 ? 1 : 0, r.ts, n, n / 10);
    },
    close: (): void => (ng ?? pcap!).close(),
  };
  let t = T0 + seed * 1000;
  let id = 1;
  const dns = (name: string, type: 'A' | 'AAAA', data: string): void => {
    const questions = [{ type, name }];
    const q = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions });
    const r = dnsPacket.encode({ type: 'response', id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions, answers: [{ type, name, ttl: 3600, data }] });
    w.write({ ts: (t += 0.001), frame: ethernet(ip(HOST4, RESOLVER, { proto: 17, sport: 40000 + id, dport: 53, payload: q })) });
    w.write({ ts: (t += 0.001), frame: ethernet(ip(RESOLVER, HOST4, { proto: 17, sport: 53, dport: 40000 + id, payload: r })) });
    id++;
  };
  for (let i = 0; i < FRAMES; i++) {
    t += 0.0005;
    if (i === 100) dns('mirror.example.com', 'A', FIXED[0]);
    // the mirror's address answered for another name late in the file (a CDN's shared address)
    if (opts.rename && i === Math.floor(FRAMES * 0.9)) dns('cdn.example.net', 'A', FIXED[0]);
    if (i === Math.floor(FRAMES * 0.8)) {
      dns('late.example.com', 'A', '140.82.112.99');
      dns('late6.example.com', 'AAAA', '2606:4700::99');
    }
    const late = i > FRAMES * 0.8 && i % 5 === 0;
    const size = 60 + ((i * 37) % 1400);
    // late ones: both addresses, both ways
    const out = late ? i % 20 < 10 : i % 2 === 0;
    let remote: string;
    if (late) remote = i % 10 === 0 ? '140.82.112.99' : '2606:4700::99';
    else if (i % 7 === 0) remote = '2600:1f18:1234:5600::22';
    else if (i % 3 === 0) remote = `140.82.${(i >> 8) & 255}.${i & 255}`;
    else remote = FIXED[(i >> 1) % FIXED.length];
    const local = remote.includes(':') ? HOST6 : HOST4;
    const [src, dst] = out ? [local, remote] : [remote, local];
    const l4: L4 = { proto: 6, sport: out ? 45000 + (i % 50) : 443, dport: out ? 443 : 45000 + (i % 50), payloadLen: size };
    w.write({ ts: t, frame: ethernet(ip(src, dst, l4)) });
    if (i % 997 === 0) w.write({ ts: t, frame: arp() });
    if (i % 1499 === 0) w.write({ ts: t, frame: ethernet(ipv4({ src: HOST4, dst: FIXED[1], l4 })).subarray(0, 14 + 12) });
  }
  w.close();
}

const ARGS = ['--topology.file', join(DEMO, 'topology.yaml'), '--ip-ranges.file', join(DEMO, 'ip-ranges.json'), '--cache.dir', 'none', '--log.level', 'debug'];

function analyze(files: string[], mode: 'on' | 'off' | 'auto', format: string, extra: string[] = []) {
  const r = spawnSync('node', [CLI, 'analyze', ...files, ...ARGS, '--read.parallel', mode, '--format', format, ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 });
  // the time the files were loaded is the only thing two runs may differ in
  const stdout = r.stdout.replace(/"lastSuccess": [0-9.]+/g, '"lastSuccess": 0').replace(/^aztraffic_topology_last_success_timestamp_seconds.*$/gm, '');
  return { status: r.status, stdout, stderr: r.stderr };
}

describe('claiming parts', () => {
  it('a free part goes to whoever claims it first; a promised one too; one given to the worker stays its', () => {
    const control = new Int32Array(CONTROL.OWNER + 3);
    control[CONTROL.OWNER + 1] = PROMISED;
    control[CONTROL.OWNER + 2] = WORKER;
    expect([claim(control, 0, READER), claim(control, 0, WORKER), claim(control, 0, READER)]).toEqual([true, false, true]);
    expect([claim(control, 1, WORKER), claim(control, 1, READER), claim(control, 1, WORKER)]).toEqual([true, false, true]);
    expect([claim(control, 2, READER), claim(control, 2, WORKER)]).toEqual([false, true]);
    control[CONTROL.OWNER + 1] = PROMISED;
    expect([claim(control, 1, READER), claim(control, 1, WORKER)]).toEqual([true, false]);
  });
});

describe('analyze --read.parallel', () => {
  let dir: string;
  let a: string;
  let b: string;
  beforeAll(() => {
    dir = tempDir();
    a = join(dir, 'a.pcap');
    b = join(dir, 'b.pcap');
    writeStory(a, 0);
    writeStory(b, 1);
  });

  it('on: the last parts are counted by a worker, and every format is the one thread result, to the byte', () => {
    for (const format of ['json', 'prometheus', 'table']) {
      const one = analyze([a], 'off', format);
      const two = analyze([a], 'on', format);
      expect(one.status, one.stderr).toBe(0);
      expect(two.status, two.stderr).toBe(0);
      expect(two.stderr).toMatch(/a\.pcap: read in two threads: parts \d–3 of 4 \(from byte \d+, \d+ frames\) by the worker/);
      expect(one.stderr).not.toMatch(/two threads/);
      expect(two.stdout).toBe(one.stdout);
    }
    // the names learned from the worker's part are there, with their remotes' bytes
    const report = JSON.parse(analyze([a], 'on', 'json').stdout) as { remotes: { remote: string }[]; decode_errors: Record<string, number> };
    const names = report.remotes.map((r) => r.remote);
    expect(names).toEqual(expect.arrayContaining(['late.example.com', 'late6.example.com', 'mirror.example.com']));
  });

  it('two files in one run, one big-endian with nanosecond times: each read in two threads, the sum the one thread sum', () => {
    const c = join(dir, 'c.pcap');
    writeStory(c, 2, { nanos: true, bigEndian: true });
    const one = analyze([a, b, c], 'off', 'prometheus');
    const two = analyze([a, b, c], 'on', 'prometheus');
    expect(two.stderr.match(/read in two threads/g)).toHaveLength(3);
    expect(two.stdout).toBe(one.stdout);
    expect(two.stdout).toMatch(/aztraffic_decode_errors_total\{reason="truncated_ip_header"\} [1-9]/);
  });

  it("a remote table one thread would have drained mid-file: the worker's parts are read again here, same result", () => {
    // 1000: a part alone has more distinct remotes; 2200: a part has fewer, this thread's and its together more
    for (const size of ['1000', '2200']) {
      const one = analyze([a], 'off', 'json', ['--remote.table-size', size]);
      const two = analyze([a], 'on', 'json', ['--remote.table-size', size]);
      expect(two.stderr).toMatch(new RegExp(`(are read in this thread: the remote table would have filled|was read in this thread: more than ${size} remotes in a part)`));
      expect(two.stdout).toBe(one.stdout);
    }
  });

  it("an address named anew in the worker's parts: they are read again here, and the bytes before keep the old name", () => {
    const renamed = join(dir, 'renamed.pcap');
    writeStory(renamed, 3, { rename: true });
    const one = analyze([renamed], 'off', 'json');
    const two = analyze([renamed], 'on', 'json');
    expect(two.stderr).toMatch(/are read in this thread: an address is named anew within them/);
    expect(two.stdout).toBe(one.stdout);
    const report = JSON.parse(one.stdout) as { remotes: { remote: string; ingress_bytes: number; egress_bytes: number }[] };
    const bytes = (name: string) => report.remotes.filter((r) => r.remote === name).reduce((n, r) => n + r.ingress_bytes + r.egress_bytes, 0);
    // nine tenths of the file under the first name, the last tenth under the second
    expect(bytes('mirror.example.com') / (bytes('mirror.example.com') + bytes('cdn.example.net'))).toBeCloseTo(0.9, 1);
  });

  it('a file cut short in the worker\'s part: read on here, the same stop reported, exit 1', () => {
    const cut = join(dir, 'cut.pcap');
    copyFileSync(a, cut);
    truncateSync(cut, statSync(cut).size - 7);
    const one = analyze([cut], 'off', 'json');
    const two = analyze([cut], 'on', 'json');
    expect(two.stderr).toMatch(/are read in this thread: its part is cut short or corrupt at byte \d+/);
    expect([one.status, two.status]).toEqual([1, 1]);
    expect(two.stdout).toBe(one.stdout);
    expect(JSON.parse(two.stdout).capture.problems[0].reason).toMatch(/cut short/);
  });

  it("a corrupt record length in this thread's first part: reading stops there, as in one thread, and the next file is read in one thread", () => {
    const bad = join(dir, 'bad.pcap');
    copyFileSync(a, bad);
    // the first record at or past 1 MB: its captured length made impossible
    const at = findRecordStart(bad, peekCapture(bad)!.format, 1 << 20)!;
    const fd = openSync(bad, 'r+');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(0x7fffffff);
    writeSync(fd, len, 0, 4, at + 8);
    closeSync(fd);
    const one = analyze([bad, b], 'off', 'json');
    const two = analyze([bad, b], 'on', 'json');
    expect([one.status, two.status]).toEqual([1, 1]);
    expect(two.stdout).toBe(one.stdout);
    expect(JSON.parse(two.stdout).capture.problems[0]).toMatchObject({ stopped_at_offset: at, reason: expect.stringMatching(/record length 2147483647/) });
    expect(two.stderr).toMatch(/b\.pcap: read in one thread: the worker was stopped/);
  });

  it('pcapng: two interfaces of two link types, statistics blocks, a corrupt block in the last part: the one thread result, to the byte', () => {
    const ng = join(dir, 'a.pcapng');
    writeStory(ng, 3, { pcapng: true });
    // a block of an interface the file never described (skipped and counted), then packets again
    const epb = (iface: number, frame: Buffer): Buffer => {
      const body = Buffer.alloc(20 + ((frame.length + 3) & ~3));
      body.writeUInt32LE(iface, 0);
      body.writeUInt32LE(0x000665a1, 4); // ~2026 in microseconds, high word
      body.writeUInt32LE(frame.length, 12);
      body.writeUInt32LE(frame.length, 16);
      frame.copy(body, 20);
      return block(6, body);
    };
    const frame = ethernet(ipv4({ src: HOST4, dst: FIXED[1], l4: { proto: 6, sport: 45000, dport: 443, payloadLen: 100 } }));
    appendFileSync(ng, Buffer.concat([epb(7, frame), ...Array.from({ length: 50 }, () => epb(0, frame))]));
    for (const format of ['json', 'prometheus']) {
      const one = analyze([ng], 'off', format);
      const two = analyze([ng], 'on', format);
      expect(two.status, two.stderr).toBe(0);
      expect(two.stderr).toMatch(/a\.pcapng: read in two threads: parts \d–3 of 4/);
      expect(two.stdout).toBe(one.stdout);
    }
    const metrics = analyze([ng], 'on', 'prometheus').stdout;
    expect(metrics).toMatch(/aztraffic_capture_packets_total\{interface="tun0"\} [1-9]/);
    expect(metrics).toMatch(/aztraffic_capture_dropped_packets_total\{interface="eth0",[^}]*\} [1-9]/);
    expect(JSON.parse(analyze([ng], 'on', 'json').stdout).capture.problems[0]).toMatchObject({ skipped_records: 1 });
    // a second section after the packets of the first: its interfaces are not the head's, one thread reads on
    const two = join(dir, 'two-sections.pcapng');
    writeFileSync(two, Buffer.concat([readFileSync(ng), readFileSync(ng)]));
    const one = analyze([two], 'off', 'json');
    const parted = analyze([two], 'on', 'json');
    expect(parted.stderr).toMatch(/read in this thread: a pcapng section or interface block/);
    expect(parted.stdout).toBe(one.stdout);
  });

  it('auto: a small file, a file that is no capture and --format html are read in one thread, and say why at debug', () => {
    expect(analyze([a], 'auto', 'json').stderr).toMatch(/a\.pcap: read in one thread: no pcap or pcapng file of 256 MiB or more/);
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a capture\n');
    const r = analyze([text], 'on', 'json');
    expect([r.status, r.stderr]).toEqual([2, expect.stringMatching(/notes\.txt: neither a pcap\/pcapng capture nor a VPC flow log/)]);
    const html = analyze([a], 'on', 'html');
    expect(html.status, html.stderr).toBe(0);
    expect(html.stderr).not.toMatch(/two threads/);
  });
});
