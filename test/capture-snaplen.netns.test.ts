// The counting handle keeps a port 53 packet longer than the rest (the patched cap's sixth argument to
// open): the kernel filter's verdict is each packet's snapshot length, so a DNS answer up to 576 bytes
// is read whole in the counting handle's batches while every other packet is still cut at the snaplen.
// Two namespaces on a veth: A sends UDP datagrams to B, where a capture in batch mode reports what it
// kept of each (IPv4 and IPv6, port 53 and not, shorter and longer than the port 53 snaplen).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingOutsideCi } from './helpers.js';
import { canUseNetns, ip, Lab } from './netns.js';

const id = String((process.pid % 10000) + 7);
const lab = new Lab(id);
const CAP = join(import.meta.dirname, '..', 'node_modules', 'cap');
let A = '';
let B = '';

/** What a capture on B's p1 kept of each UDP datagram: "port/payload" → caplen, wire length. */
async function capture(port53Snaplen: number, base = 192): Promise<Record<string, [number, number]>> {
  const script = `
const { Cap } = require(${JSON.stringify(CAP)});
const c = new Cap(), buf = Buffer.alloc(1 << 20), seen = {};
c.open('p1', '', 1 << 22, buf, ${base}, ${port53Snaplen});
c.on('packets', (n) => {
  for (let i = 0, o = 0; i < n; i++) {
    const cap = buf.readUInt32LE(o), wire = buf.readUInt32LE(o + 4), f = o + 8;
    const type = buf.readUInt16BE(f + 12);
    const l4 = type === 0x0800 ? f + 14 + (buf[f + 14] & 15) * 4 : type === 0x86dd ? f + 14 + 40 : -1;
    const proto = type === 0x0800 ? buf[f + 23] : type === 0x86dd ? buf[f + 20] : -1;
    if (l4 > 0 && proto === 17 && cap < l4 - f + 4) seen.runt = [cap, wire];
    else if (l4 > 0 && proto === 17) seen[(type === 0x0800 ? 'v4/' : 'v6/') + buf.readUInt16BE(l4 + 2) + '/' + (buf.readUInt16BE(l4 + 4) - 8)] = [cap, wire];
    o += 8 + cap;
  }
});
console.log('open');
setTimeout(() => { console.log(JSON.stringify(seen)); process.exit(0); }, 1500);`;
  const c = lab.spawn(B, process.execPath, ['-e', script]);
  let out = '';
  c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve) => c.stdout!.on('data', () => out.includes('open') && resolve()));
  lab.exec(A, 'python3', [
    '-c',
    [
      'import socket',
      's4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      's6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)',
      "for port, n in ((53, 400), (80, 400), (53, 1000), (5353, 400)): s4.sendto(b'x' * n, ('10.66.0.2', port))",
      "s6.sendto(b'x' * 400, ('fd66::2', 53))",
      // IPv4 with 40 bytes of options: the ports are further in
      's4.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes([1] * 39 + [0]))',
      "for port in (53, 80): s4.sendto(b'x' * 300, ('10.66.0.2', port))",
      // a runt: an IPv4 header that says UDP, and the frame ends within its ports
      'r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)',
      "r.bind(('p0', 0))",
      "r.send(bytes.fromhex('ffffffffffff020000000001' + '0800' + '45000016000000004011' + '0000' + '0a420001' + '0a420002' + '1234'))",
    ].join('\n'),
  ]);
  await new Promise<void>((resolve) => c.on('exit', () => resolve()));
  return JSON.parse(out.split('\n').find((l) => l.startsWith('{')) ?? '{}') as Record<string, [number, number]>;
}

describe.skipIf(missingOutsideCi(canUseNetns()))('a snapshot length of its own for port 53 (the patched cap, batch mode)', () => {
  beforeAll(() => {
    A = lab.ns('sna');
    B = lab.ns('snb');
    lab.veth('p0', A, 'p1', B);
    ip('-n', A, 'addr', 'add', '10.66.0.1/24', 'dev', 'p0');
    ip('-n', B, 'addr', 'add', '10.66.0.2/24', 'dev', 'p1');
    ip('-n', A, 'addr', 'add', 'fd66::1/64', 'dev', 'p0', 'nodad');
    ip('-n', B, 'addr', 'add', 'fd66::2/64', 'dev', 'p1', 'nodad');
  });
  afterAll(() => lab.cleanup());

  it('port 53 whole up to 576 bytes, IPv4 and IPv6; everything else cut at 192', async () => {
    const seen = await capture(576);
    expect(seen['v4/53/400']).toEqual([442, 442]);
    expect(seen['v6/53/400']).toEqual([462, 462]);
    expect(seen['v4/53/1000']).toEqual([576, 1042]);
    expect(seen['v4/80/400']).toEqual([192, 442]);
    expect(seen['v4/5353/400']).toEqual([192, 442]);
    // 14 + 60 + 8 + 300: the ports read past the options
    expect(seen['v4/53/300']).toEqual([382, 382]);
    expect(seen['v4/80/300']).toEqual([192, 382]);
    // a load past a packet's end would end the kernel's program with "drop": a runt is kept, whole
    expect(seen.runt).toEqual([36, 36]);
  });

  it('without it, port 53 is cut as everything else', async () => {
    const seen = await capture(0);
    expect(seen['v4/53/400']).toEqual([192, 442]);
    expect(seen['v4/80/400']).toEqual([192, 442]);
  });

  it('it is refused with a filter, or outside batch mode, with a clear error', async () => {
    const script = `const { Cap } = require(${JSON.stringify(CAP)});
for (const args of [['udp', 1 << 22, Buffer.alloc(1 << 20), 192, 576], ['', 1 << 22, Buffer.alloc(65535), undefined, 576]]) {
  try { new Cap().open('p1', ...args); console.log('opened'); } catch (e) { console.log(e.message); }
}`;
    const out = lab.exec(B, process.execPath, ['-e', script]);
    expect(out.trim().split('\n')).toEqual(['a port 53 snaplen needs batch mode and no filter', 'a port 53 snaplen needs batch mode and no filter']);
  });

  it('it is refused with a base snaplen shorter than what its test reads (libpcap runs it again on the bytes kept)', async () => {
    const script = `const { Cap } = require(${JSON.stringify(CAP)});
try { new Cap().open('p1', '', 1 << 22, Buffer.alloc(1 << 20), 64, 576); console.log('opened'); } catch (e) { console.log(e.message); }`;
    expect(lab.exec(B, process.execPath, ['-e', script]).trim()).toBe('a port 53 snaplen needs a base snaplen that holds the link, IP and transport headers');
  });
});
