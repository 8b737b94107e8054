import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { closeSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRecordStart, peekCapture, readCaptureFile, readPartRange, type FrameSink } from '../src/sources/file-reader.js';
import { ConfigError } from '../src/config/errors.js';
import { KEEP_BYTES } from '../src/sources/chunks.js';
import { block as pcapngBlock, ethernet, ipv4, ipv6, PcapngWriter, PcapWriter, sll, type Record } from '../scripts/lib/frames.js';
import { tempDir } from './helpers.js';

const dir = tempDir();

interface Seen {
  linkType: number;
  hash: string;
  capLen: number;
  wireLen: number;
  ts: number;
  iface: number;
}

/**
 * Every file is read three ways: in place, read ahead by a thread (what analyze does from 256 MiB on,
 * here from 0 bytes), and its first three frames only (a look, in a small buffer that grows for longer
 * records): all must see exactly the same frames, interfaces, drops and result.
 */
function collect(path: string) {
  const inPlace = collectWith(path, Infinity);
  const readAhead = collectWith(path, 0);
  expect(readAhead).toEqual(inPlace);
  expect(collectWith(path, Infinity, 3).frames).toEqual(inPlace.frames.slice(0, 3));
  return inPlace;
}

function collectWith(path: string, readAheadBytes: number, maxFrames = Infinity) {
  const frames: Seen[] = [];
  const ifaces: { name: string; linkType: number }[] = [];
  const drops: [number, number | undefined, number | undefined][] = [];
  const sink: FrameSink = {
    addInterface: (name, linkType) => ifaces.push({ name, linkType }) - 1,
    frame: (linkType, buf, off, capLen, wireLen, ts, iface) => {
      frames.push({ linkType, hash: createHash('sha1').update(buf.subarray(off, off + capLen)).digest('hex'), capLen, wireLen, ts, iface });
    },
    interfaceDrops: (i, k, f) => drops.push([i, k, f]),
  };
  const result = readCaptureFile(path, sink, maxFrames, readAheadBytes);
  return { frames, ifaces, drops, result };
}

const hash = (b: Buffer) => createHash('sha1').update(b).digest('hex');

function sampleRecords(n: number): Record[] {
  const out: Record[] = [];
  for (let i = 0; i < n; i++) {
    const ip =
      i % 3 === 0
        ? ipv6({ src: '2001:db8::1', dst: '2001:db8::2', l4: { proto: 17, sport: 1000 + i, dport: 53, payloadLen: i % 200 } })
        : ipv4({ src: '10.0.0.1', dst: `10.0.${i % 250}.9`, l4: { proto: 6, sport: 40000, dport: 443, payloadLen: (i * 37) % 1400 } });
    out.push({ ts: 1_700_000_000 + i * 0.001234, frame: ethernet(ip) });
  }
  return out;
}

describe('pcap', () => {
  for (const variant of [{}, { bigEndian: true }, { nanos: true }, { nanos: true, bigEndian: true }]) {
    it(`reads ${JSON.stringify(variant)}, timestamps to the resolution of the format`, () => {
      const path = join(dir, `v-${JSON.stringify(variant).replace(/\W/g, '')}.pcap`);
      const recs = sampleRecords(500);
      const w = new PcapWriter(path, 1, 262144, variant);
      recs.forEach((r) => w.write(r));
      w.close();
      const { frames, ifaces, result } = collect(path);
      expect(result).toEqual({ format: 'pcap', frames: 500, corruptRecords: 0, corruptBytes: 0 });
      expect(ifaces).toEqual([{ name: 'if0', linkType: 1 }]);
      frames.forEach((f, i) => {
        expect(f.hash).toBe(hash(recs[i].frame));
        expect(f.wireLen).toBe(recs[i].frame.length);
        expect(f.ts).toBeCloseTo(recs[i].ts, 5);
      });
    });
  }

  it('snaplen: capLen is what was kept, wireLen what was sent', () => {
    const path = join(dir, 'snap.pcap');
    const w = new PcapWriter(path, 1, 96);
    const recs = sampleRecords(50);
    recs.forEach((r) => w.write(r));
    w.close();
    const { frames } = collect(path);
    frames.forEach((f, i) => {
      expect(f.capLen).toBe(Math.min(96, recs[i].frame.length));
      expect(f.wireLen).toBe(recs[i].frame.length);
    });
  });

  it('reads files larger than its chunk, records straddling chunk ends', () => {
    const path = join(dir, 'big.pcap');
    const w = new PcapWriter(path, 1);
    const frame = ethernet(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', l4: { proto: 6, sport: 1, dport: 2, payloadLen: 1433 } }));
    const n = 20_000; // ~30 MB, several 8 MiB chunks
    for (let i = 0; i < n; i++) w.write({ ts: i, frame });
    w.close();
    const { frames, result } = collect(path);
    expect(result.frames).toBe(n);
    expect(new Set(frames.map((f) => f.hash))).toEqual(new Set([hash(frame)]));
  });

  it('records longer than the room kept before each read-ahead buffer (300 KiB), across buffer ends', () => {
    const path = join(dir, 'long-records.pcap');
    const w = new PcapWriter(path, 1, 1 << 20);
    const frames = Array.from({ length: 40 }, (_, i) => Buffer.alloc(i % 2 ? 300_000 + i : 1500 + i, i));
    frames.forEach((frame, i) => w.write({ ts: i, frame }));
    w.close();
    const { frames: seen, result } = collect(path);
    expect(result.frames).toBe(40);
    // past KEEP_BYTES (tcpdump's largest snaplen) a record's bytes are passed over: its head is counted
    // with its whole length
    expect(seen.map((f) => f.hash)).toEqual(frames.map((f) => hash(f.subarray(0, KEEP_BYTES))));
    expect(seen.map((f) => [f.capLen, f.wireLen])).toEqual(frames.map((f) => [Math.min(f.length, KEEP_BYTES), f.length]));
  });

  it('parallel reading: a record start is found near any offset (payloads that look like record headers do not fool the chain), and a split reads on where its guess is wrong', () => {
    const path = join(dir, 'split.pcap');
    const w = new PcapWriter(path, 1);
    const starts: number[] = [];
    let at = 24;
    for (let i = 0; i < 3000; i++) {
      // payloads full of plausible record headers (lengths within the snap length, times near the first)
      const payload = Buffer.alloc(40 + ((i * 131) % 900));
      for (let o = 0; o + 16 <= payload.length; o += 16) payload.set([0x80, 0x96, 0x98, 0x6a, 0, 0, 0, 0, 60, 0, 0, 0, 60, 0, 0, 0], o);
      const frame = ethernet(ipv4({ src: '10.0.0.1', dst: '10.0.0.2', l4: { proto: 17, sport: 1, dport: 2, payload } }));
      w.write({ ts: 1_788_000_000 + i, frame });
      starts.push(at);
      at += 16 + frame.length;
    }
    w.close();
    const peek = peekCapture(path)!;
    expect([peek.format.kind, peek.first, peek.size]).toEqual(['pcap', 24, at]);
    const isStart = new Set(starts);
    for (let near = 24; near < at - 4096; near += 9973) {
      const found = findRecordStart(path, peek.format, near)!;
      expect(isStart.has(found), `found ${found} near ${near}`).toBe(true);
      // the last of a chain of 16 records: well past `near`, still near it
      expect(found).toBeGreaterThan(near);
      expect(starts.indexOf(found) - starts.findIndex((s) => s >= near)).toBeLessThanOrEqual(16);
    }
    // a worker's part: from a record's start to another's, or to the end
    const all = collectWith(path, Infinity).frames;
    const pcap = peek.format;
    const sink = (into: Seen[]): FrameSink => ({ addInterface: () => 0, frame: (linkType, buf, off, capLen, wireLen, ts, iface) => void into.push({ linkType, hash: hash(buf.subarray(off, off + capLen)), capLen, wireLen, ts, iface }) });
    const part: Seen[] = [];
    expect(readPartRange(path, sink(part), pcap, starts[1000], starts[2000])).toMatchObject({ frames: 1000, end: starts[2000] });
    expect(part).toEqual(all.slice(1000, 2000));
    const tail: Seen[] = [];
    expect(readPartRange(path, sink(tail), pcap, starts[2000], at)).toMatchObject({ frames: 1000, end: at });
    expect(tail).toEqual(all.slice(2000));
    // a part's end that is no record's start: its records end past it, and it says where
    expect(readPartRange(path, sink([]), pcap, starts[1000], starts[2000] - 3)).toMatchObject({ frames: 1000, end: starts[2000] });
    // splits where no record starts, then where one does: join hears where the records really end each time, and reading goes on
    const joins: number[] = [];
    const seen: Seen[] = [];
    const split = {
      at: starts[1500] + 5,
      join: (offset: number) => {
        joins.push(offset);
        split.at = joins.length === 1 ? starts[2500] : Infinity;
        return undefined;
      },
    };
    const r = readCaptureFile(path, sink(seen), Infinity, Infinity, split);
    expect(joins).toEqual([starts[1501], starts[2500]]);
    expect([r.frames, seen]).toEqual([3000, all]);
    // a split taken: reading stops at it, the joiner's frames are added
    const head: Seen[] = [];
    expect(readCaptureFile(path, sink(head), Infinity, Infinity, { at: starts[1500], join: () => ({ frames: 1500, corruptRecords: 0, corruptBytes: 0 }) }).frames).toBe(3000);
    expect(head).toEqual(all.slice(0, 1500));
  });

  it('parallel reading of pcapng: its head (byte order, interfaces) is read, and block starts are found near any offset', () => {
    const path = join(dir, 'split.pcapng');
    const w = new PcapngWriter(path, [{ linkType: 1, name: 'eth0' }, { linkType: 101, name: 'tun0' }]);
    for (let i = 0; i < 3000; i++) {
      // payloads that hold block-like lengths repeated 12 bytes on
      const payload = Buffer.alloc(40 + ((i * 131) % 900));
      for (let o = 0; o + 16 <= payload.length; o += 16) payload.set([0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0], o);
      const ip = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', l4: { proto: 17, sport: 1, dport: 2, payload } });
      w.write(i % 2 ? { ts: 1_788_000_000 + i, frame: ethernet(ip) } : { ts: 1_788_000_000 + i, frame: ip, iface: 1 });
    }
    w.close();
    const b = readFileSync(path);
    const starts: number[] = [];
    for (let o = 0; o < b.length; o += b.readUInt32LE(o + 4)) starts.push(o);
    const peek = peekCapture(path)!;
    expect(peek.format).toEqual({
      kind: 'pcapng',
      head: {
        le: true,
        interfaces: [
          { name: 'eth0', linkType: 1, snapLen: 262144, tsScale: 1e-6 },
          { name: 'tun0', linkType: 101, snapLen: 262144, tsScale: 1e-6 },
        ],
      },
    });
    expect([peek.first, peek.size]).toEqual([starts[3], b.length]);
    for (let near = 100; near < b.length - 4096; near += 7919) {
      const found = findRecordStart(path, peek.format, near)!;
      expect(starts.includes(found), `found ${found} near ${near}`).toBe(true);
      expect(starts.indexOf(found) - starts.findIndex((s) => s >= near)).toBeLessThanOrEqual(16);
    }
    // a part read from the head's interfaces: the frames one reading of the whole file gives there
    const all = collectWith(path, Infinity).frames;
    const part: Seen[] = [];
    const sink: FrameSink = { addInterface: (name) => ['eth0', 'tun0'].indexOf(name), frame: (linkType, buf, off, capLen, wireLen, ts, iface) => void part.push({ linkType, hash: hash(buf.subarray(off, off + capLen)), capLen, wireLen, ts, iface }) };
    expect(readPartRange(path, sink, peek.format, starts[1003], starts[2003])).toMatchObject({ frames: 1000, end: starts[2003], restructured: false });
    expect(part).toEqual(all.slice(1000, 2000));
  });

  it('a file cut mid-record keeps every whole record and says so', () => {
    const path = join(dir, 'cut.pcap');
    const w = new PcapWriter(path, 1);
    sampleRecords(10).forEach((r) => w.write(r));
    w.close();
    const whole = execFileSync('stat', ['-c', '%s', path]).toString().trim();
    execFileSync('truncate', ['-s', String(Number(whole) - 30), path]);
    const { result } = collect(path);
    expect(result.frames).toBe(9);
    // the cut record starts after the header and nine whole records; everything from there is unread
    const lastStart = Number(whole) - (16 + sampleRecords(10)[9].frame.length);
    expect(result.stopped).toEqual({ offset: lastStart, bytes: Number(whole) - 30 - lastStart, reason: expect.stringMatching(/cut short/) });
  });

  it('a corrupt pcap record length stops reading there, and says where and how much is left', () => {
    const path = join(dir, 'badlen.pcap');
    const w = new PcapWriter(path, 1);
    const recs = sampleRecords(10);
    recs.forEach((r) => w.write(r));
    w.close();
    const buf = readFileSync(path);
    // the 4th record's caplen becomes 0x7fffffff
    let off = 24;
    for (let i = 0; i < 3; i++) off += 16 + recs[i].frame.length;
    buf.writeUInt32LE(0x7fffffff, off + 8);
    writeFileSync(path, buf);
    const { result } = collect(path);
    expect(result.frames).toBe(3);
    expect(result.stopped).toEqual({ offset: off, bytes: buf.length - off, reason: expect.stringMatching(/record length 2147483647/) });
  });

  it('a pcapng block whose length disagrees with its trailing copy stops reading there', () => {
    const path = join(dir, 'badlen.pcapng');
    const w = new PcapngWriter(path, [{ linkType: 1, name: 'ens5' }]);
    sampleRecords(5).forEach((r) => w.write(r));
    w.close();
    const buf = readFileSync(path);
    // walk to the third EPB and grow its length by 4 (still a multiple of 4, still in the file)
    let off = 0;
    let epbs = 0;
    while (off < buf.length) {
      const type = buf.readUInt32LE(off);
      const len = buf.readUInt32LE(off + 4);
      if (type === 6 && ++epbs === 3) break;
      off += len;
    }
    buf.writeUInt32LE(buf.readUInt32LE(off + 4) + 4, off + 4);
    writeFileSync(path, buf);
    const { result } = collect(path);
    expect(result.frames).toBe(2);
    expect(result.stopped?.offset).toBe(off);
    expect(result.stopped?.bytes).toBe(buf.length - off);
    expect(result.stopped?.reason).toMatch(/does not match its trailing copy/);
  });

  it('rejects what is not a capture, with a message naming the file', () => {
    const path = join(dir, 'not.pcap');
    writeFileSync(path, 'hello world, no capture here');
    expect(() => collect(path)).toThrow(ConfigError);
    expect(() => collect(path)).toThrow(/not\.pcap: not a pcap or pcapng capture/);
    writeFileSync(path, '');
    expect(() => collect(path)).toThrow(/empty file/);
    expect(() => collect(join(dir, 'missing.pcap'))).toThrow(/missing\.pcap: no such file/);
  });
});

/** Hand-built big-endian pcapng: SHB, two IDBs (Ethernet µs, raw IP ns with if_tsresol 9), EPB, SPB, OPB, ISB. */
function bigEndianPcapng(): { buf: Buffer; frames: Buffer[] } {
  const block = (type: number, body: Buffer) => pcapngBlock(type, body, true);
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const opt = (code: number, v: Buffer) => {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(code, 0);
    h.writeUInt16BE(v.length, 2);
    return Buffer.concat([h, pad(v)]);
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32BE(0x1a2b3c4d, 0);
  shb.writeUInt16BE(1, 4);
  shb.writeBigInt64BE(-1n, 8);
  const idb = (link: number, opts: Buffer) => {
    const f = Buffer.alloc(8);
    f.writeUInt16BE(link, 0);
    f.writeUInt32BE(65535, 4);
    return block(1, Buffer.concat([f, opts]));
  };
  const eth = ethernet(ipv4({ src: '1.1.1.1', dst: '2.2.2.2', l4: { proto: 17, sport: 1, dport: 2, payloadLen: 3 } }));
  const raw = ipv6({ src: '::1', dst: '::2', l4: { proto: 6, sport: 3, dport: 4, payloadLen: 5 } });
  const epb = (iface: number, data: Buffer) => {
    const f = Buffer.alloc(20);
    f.writeUInt32BE(iface, 0);
    f.writeUInt32BE(0, 4);
    f.writeUInt32BE(1_000_000, 8);
    f.writeUInt32BE(data.length, 12);
    f.writeUInt32BE(data.length, 16);
    return block(6, Buffer.concat([f, pad(data)]));
  };
  const spb = (data: Buffer) => {
    const f = Buffer.alloc(4);
    f.writeUInt32BE(data.length, 0);
    return block(3, Buffer.concat([f, pad(data)]));
  };
  const opb = (iface: number, data: Buffer) => {
    const f = Buffer.alloc(20);
    f.writeUInt16BE(iface, 0);
    f.writeUInt32BE(data.length, 12);
    f.writeUInt32BE(data.length, 16);
    return block(2, Buffer.concat([f, pad(data)]));
  };
  const u64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    return b;
  };
  const isb = block(5, Buffer.concat([Buffer.alloc(12), opt(5, u64(7)), opt(6, u64(42)), Buffer.alloc(4)]));
  const buf = Buffer.concat([
    block(0x0a0d0d0a, shb),
    idb(1, Buffer.concat([opt(2, Buffer.from('eth0')), Buffer.alloc(4)])),
    idb(101, Buffer.concat([opt(2, Buffer.from('tun0')), opt(9, Buffer.from([9])), Buffer.alloc(4)])),
    block(0x00000bad, Buffer.alloc(8)), // a custom block: skipped
    epb(0, eth),
    epb(1, raw),
    spb(eth),
    opb(1, raw),
    isb,
  ]);
  return { buf, frames: [eth, raw, eth, raw] };
}

describe('pcapng', () => {
  it('several interfaces with different link types, names and timestamp resolutions', () => {
    const path = join(dir, 'multi.pcapng');
    const w = new PcapngWriter(path, [
      { linkType: 1, name: 'ens5' },
      { linkType: 113, name: 'any' },
    ]);
    const recs = sampleRecords(100);
    recs.forEach((r, i) => w.write(i % 2 ? { ...r, iface: 1, frame: sll(r.frame.subarray(14)) } : r));
    w.writeStats(0, 1_700_000_100, 12, 3);
    w.close();
    const { frames, ifaces, drops, result } = collect(path);
    expect(result).toEqual({ format: 'pcapng', frames: 100, corruptRecords: 0, corruptBytes: 0 });
    expect(ifaces).toEqual([
      { name: 'ens5', linkType: 1 },
      { name: 'any', linkType: 113 },
    ]);
    expect(frames.filter((f) => f.iface === 1).every((f) => f.linkType === 113)).toBe(true);
    expect(frames[0].ts).toBeCloseTo(recs[0].ts, 5);
    expect(drops).toEqual([[0, 12, 3]]);
  });

  it('big-endian sections, EPB, SPB, obsolete packet blocks, if_tsresol, statistics', () => {
    const path = join(dir, 'be.pcapng');
    const { buf, frames: expected } = bigEndianPcapng();
    writeFileSync(path, buf);
    const { frames, ifaces, drops, result } = collect(path);
    expect(result.frames).toBe(4);
    expect(result.corruptRecords).toBe(0);
    expect(ifaces.map((i) => i.name)).toEqual(['eth0', 'tun0']);
    expect(frames.map((f) => f.hash)).toEqual(expected.map(hash));
    expect(frames.map((f) => f.linkType)).toEqual([1, 101, 1, 101]);
    expect(frames[0].ts).toBeCloseTo(1, 9); // 1e6 µs
    expect(frames[1].ts).toBeCloseTo(0.001, 9); // 1e6 ns
    expect(drops).toEqual([[0, 42, 7]]);
  });
});

describe('files written by real tools', () => {
  const recs = sampleRecords(300);
  const ours = join(dir, 'ours.pcap');
  const w = new PcapWriter(ours, 1);
  recs.forEach((r) => w.write(r));
  w.close();

  it('tcpdump -r … -w (pcap)', () => {
    const out = join(dir, 'tcpdump.pcap');
    execFileSync('tcpdump', ['-r', ours, '-w', out], { stdio: 'ignore' });
    const { frames } = collect(out);
    expect(frames.map((f) => f.hash)).toEqual(recs.map((r) => hash(r.frame)));
  });

  it('editcap -F pcapng and -F nsecpcap', () => {
    for (const fmt of ['pcapng', 'nsecpcap']) {
      const out = join(dir, `editcap.${fmt}`);
      execFileSync('editcap', ['-F', fmt, ours, out], { stdio: 'ignore' });
      const { frames, result } = collect(out);
      expect(result.format).toBe(fmt === 'pcapng' ? 'pcapng' : 'pcap');
      expect(frames.map((f) => f.hash)).toEqual(recs.map((r) => hash(r.frame)));
      frames.forEach((f, i) => expect(f.ts).toBeCloseTo(recs[i].ts, 5));
    }
  });

  it('a live capture by tcpdump -w on loopback', async () => {
    const out = join(dir, 'live.pcap');
    const port = 40000 + Math.floor(Math.random() * 20000);
    const count = 20;
    const td = spawn('tcpdump', ['-i', 'lo', '-U', '-n', '-c', String(count), '-w', out, `udp dst port ${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
      td.stderr.on('data', (d: Buffer) => {
        if (d.toString().includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      td.on('exit', (code) => reject(new Error(`tcpdump exited ${code}`)));
    });
    const sock = createSocket('udp4');
    const payload = Buffer.alloc(100, 0x42);
    for (let i = 0; i < count; i++) await new Promise<void>((r) => sock.send(payload, port, '127.0.0.1', () => r()));
    sock.close();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        td.kill();
        reject(new Error('tcpdump did not see the packets'));
      }, 10_000);
      td.on('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const { frames, ifaces } = collect(out);
    expect(ifaces[0].linkType).toBe(1); // Linux loopback is Ethernet-framed
    expect(frames).toHaveLength(count);
    expect(frames.every((f) => f.wireLen === 14 + 20 + 8 + 100)).toBe(true);
  });
});

/** A little-endian microsecond pcap file header of Ethernet, with this snaplen. */
function pcapHeader(snapLen: number): Buffer {
  const h = Buffer.alloc(24);
  h.writeUInt32LE(0xa1b2c3d4, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(snapLen, 16);
  h.writeUInt32LE(1, 20);
  return h;
}

describe('a file large enough to be read ahead by a thread, through the built command', () => {
  it('256 MiB and more: read ahead in the shipped bundle, every frame counted, no hang', () => {
    const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
    // one 1,000-byte record repeated: 280,000 records, ~284 MB, written in 4 MiB writes
    const frame = ethernet(ipv4({ src: '10.0.0.10', dst: '198.51.100.7', l4: { proto: 6, sport: 40000, dport: 443, payloadLen: 1000 - 54 } }));
    const record = Buffer.alloc(16 + frame.length);
    record.writeUInt32LE(1_700_000_000, 0);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    frame.copy(record, 16);
    const header = pcapHeader(65535);
    const perChunk = Math.floor((4 << 20) / record.length);
    const chunk = Buffer.concat(Array.from({ length: perChunk }, () => record));
    const chunks = Math.ceil(280_000 / perChunk);
    const path = join(dir, 'large.pcap');
    writeFileSync(path, header);
    const fd = openSync(path, 'a');
    for (let i = 0; i < chunks; i++) writeSync(fd, chunk);
    closeSync(fd);
    try {
      expect(statSync(path).size).toBeGreaterThan(256 << 20);
      const r = spawnSync(process.execPath, [CLI, 'analyze', path, '--local-ip', '10.0.0.10', '--ip-ranges.url', 'none', '--read.parallel', 'off', '--format', 'json', '--cache.dir', 'none'], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
      expect(r.error).toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { categories: { packets: number }[] };
      expect(report.categories.reduce((n, c) => n + c.packets, 0)).toBe(chunks * perChunk);
    } finally {
      rmSync(path, { force: true });
    }
  }, 90_000);
});

describe('names from a file are made safe to show', () => {
  it('a pcapng interface name with ESC, newline and NUL reaches no terminal, label or page raw', () => {
    const path = join(dir, 'hostile-name.pcapng');
    const w = new PcapngWriter(path, [{ linkType: 1, name: 'eth0\u001b]0;pwned\u0007\u001b[2J\nfake_metric 1\u0000x' }]);
    w.write({ frame: ethernet(ipv4({ src: '10.0.0.10', dst: '198.51.100.7', l4: { proto: 17, sport: 5000, dport: 53, payloadLen: 20 } })), ts: 1_700_000_000 });
    w.close();
    const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
    for (const format of ['table', 'prometheus', 'json', 'html']) {
      const r = spawnSync(process.execPath, [CLI, 'analyze', path, '--local-ip', '10.0.0.10', '--ip-ranges.url', 'none', '--format', format, '--cache.dir', 'none'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      // eslint-disable-next-line no-control-regex -- what must not be there
      expect(r.stdout + r.stderr, format).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
      expect(r.stdout, format).not.toMatch(/^fake_metric 1$/m);
    }
  });
});

describe('records far longer than any snaplen', () => {
  const MiB = 1 << 20;
  const head = ethernet(ipv4({ src: '172.31.16.1', dst: '172.31.51.15', l4: { proto: 17, sport: 5000, dport: 6000, payloadLen: 0 } }));
  /** A capture of `sizes`-byte packets (zeros after the headers), the last cut short by `cut` bytes. */
  function write(path: string, format: 'pcap' | 'pcapng', sizes: number[], cut: number): void {
    const fd = openSync(path, 'w');
    const zeros = Buffer.alloc(MiB);
    const body = (size: number): void => {
      writeSync(fd, head);
      for (let left = size - head.length; left > 0; left -= MiB) writeSync(fd, zeros, 0, Math.min(left, MiB));
    };
    if (format === 'pcap') {
      writeSync(fd, pcapHeader(0x7fffffff));
    } else {
      const shb = Buffer.alloc(16);
      shb.writeUInt32LE(0x1a2b3c4d, 0);
      shb.writeUInt16LE(1, 4);
      shb.writeBigInt64LE(-1n, 8);
      writeSync(fd, pcapngBlock(0x0a0d0d0a, shb));
      const idb = Buffer.alloc(8);
      idb.writeUInt16LE(1, 0);
      writeSync(fd, pcapngBlock(1, idb));
    }
    sizes.forEach((size, i) => {
      const r = Buffer.alloc(format === 'pcap' ? 16 : 28);
      if (format === 'pcap') {
        r.writeUInt32LE(1_700_000_000 + i, 0);
        r.writeUInt32LE(size, 8);
        r.writeUInt32LE(size, 12);
      } else {
        r.writeUInt32LE(6, 0);
        r.writeUInt32LE(28 + size + 4, 4);
        r.writeUInt32LE((1_700_000_000 + i) * 1e6 / 2 ** 32, 12);
        r.writeUInt32LE(size, 20);
        r.writeUInt32LE(size, 24);
      }
      writeSync(fd, r);
      body(size);
      if (format === 'pcapng') writeSync(fd, r.subarray(4, 8));
    });
    closeSync(fd);
    if (cut > 0) execFileSync('truncate', ['-s', String(statSync(path).size - cut), path]);
  }
  /** Frames, wire bytes and the peak resident memory (MiB) of a process that reads `path` and nothing else. */
  function readInChild(path: string, readAhead: boolean): { frames: number; wire: number; stopped?: string; peakMiB: number } {
    const reader = join(import.meta.dirname, '..', 'dist', 'sources', 'file-reader.js');
    const script = `import { readCaptureFile } from ${JSON.stringify(reader)};
let wire = 0;
const r = readCaptureFile(${JSON.stringify(path)}, { addInterface: () => 0, frame: (_l, _b, _o, _c, w) => { wire += w; } }, Infinity, ${readAhead ? 1 : 'Infinity'});
process.stdout.write(JSON.stringify({ frames: r.frames, wire, stopped: r.stopped?.reason, peakMiB: process.resourceUsage().maxRSS / 1024 }));`;
    // a file, not -e: a thread started by the reader inherits the process's -e and would run it too
    const file = join(dir, 'read-in-child.mjs');
    writeFileSync(file, script);
    return JSON.parse(execFileSync(process.execPath, [file], { encoding: 'utf8' })) as { frames: number; wire: number; stopped?: string; peakMiB: number };
  }

  for (const format of ['pcap', 'pcapng'] as const) {
    it(`${format}: 96 MiB records are read in bounded memory, each counted whole; one cut short is not counted`, () => {
      const small = join(dir, `small-records.${format}`);
      write(small, format, [1000, 1000], 0);
      const big = join(dir, `big-records.${format}`);
      write(big, format, [1000, 96 * MiB, 96 * MiB, 1000, 96 * MiB], 10 * MiB);
      try {
        for (const readAhead of [false, true]) {
          const base = readInChild(small, readAhead);
          const r = readInChild(big, readAhead);
          expect(r.frames).toBe(4);
          expect(r.wire).toBe(2 * 96 * MiB + 2000);
          expect(r.stopped).toMatch(/cut short/);
          // whole records in memory took a 96 MiB buffer at least (and a copy per read-ahead buffer)
          expect(r.peakMiB - base.peakMiB, `read ahead: ${readAhead}`).toBeLessThan(48);
        }
      } finally {
        rmSync(big);
      }
    }, 120_000);
  }
});
