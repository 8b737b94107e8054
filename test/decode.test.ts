import { describe, expect, it } from 'vitest';
import { Decoded, decodeFrame, LinkType, PacketMeta, PACKET_OUTGOING } from '../src/decode/packet.js';
import { arp, ethernet, ipv4, ipv6, nullLink, sll, sll2 } from '../scripts/lib/frames.js';
import { ipv4ToString, ipv6WordsToString } from '../src/net/ip.js';

function decode(link: number, frame: Buffer, wireLen = frame.length, capLen = frame.length) {
  const m = new PacketMeta();
  // place the frame at an offset inside a larger buffer, as the file reader does
  const buf = Buffer.concat([Buffer.alloc(7, 0xee), frame, Buffer.alloc(5, 0xee)]);
  const r = decodeFrame(link, buf, 7, capLen, wireLen, m);
  return { r, m, src: m.family === 4 ? ipv4ToString(m.src4) : ipv6WordsToString(m.src6), dst: m.family === 4 ? ipv4ToString(m.dst4) : ipv6WordsToString(m.dst6) };
}

const tcp4 = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', l4: { proto: 6, sport: 40000, dport: 443, payloadLen: 100 } });
const udp6 = ipv6({ src: '2001:db8::1', dst: '2001:db8::2', l4: { proto: 17, sport: 53, dport: 5353, payloadLen: 30 } });

describe('link layers', () => {
  it('Ethernet IPv4 and IPv6', () => {
    const a = decode(LinkType.ETHERNET, ethernet(tcp4));
    expect(a).toMatchObject({ r: Decoded.OK, src: '10.0.0.1', dst: '10.0.0.2' });
    expect(a.m.ipBytes).toBe(140);
    expect([a.m.srcPort, a.m.dstPort, a.m.proto]).toEqual([40000, 443, 6]);
    const b = decode(LinkType.ETHERNET, ethernet(udp6));
    expect(b).toMatchObject({ r: Decoded.OK, src: '2001:db8::1', dst: '2001:db8::2' });
    expect(b.m.ipBytes).toBe(40 + 8 + 30);
    expect([b.m.srcPort, b.m.dstPort]).toEqual([53, 5353]);
  });

  it('counts the IP length, not Ethernet padding', () => {
    const small = ipv4({ src: '10.0.0.1', dst: '10.0.0.2', l4: { proto: 6, sport: 1, dport: 2 } });
    const f = ethernet(small);
    expect(f.length).toBe(60);
    expect(decode(LinkType.ETHERNET, f, 64).m.ipBytes).toBe(40);
  });

  it('802.1Q, QinQ (0x88a8 and 0x9100) tags', () => {
    expect(decode(LinkType.ETHERNET, ethernet(tcp4, [[0x8100, 10]]))).toMatchObject({ r: Decoded.OK, dst: '10.0.0.2' });
    const q = decode(LinkType.ETHERNET, ethernet(udp6, [[0x88a8, 100], [0x8100, 10]]));
    expect(q).toMatchObject({ r: Decoded.OK, dst: '2001:db8::2' });
    expect(q.m.dstPort).toBe(5353);
    expect(decode(LinkType.ETHERNET, ethernet(tcp4, [[0x9100, 7], [0x8100, 8]])).r).toBe(Decoded.OK);
    // a tag cut short
    const cut = ethernet(tcp4, [[0x8100, 10]]).subarray(0, 16);
    expect(decode(LinkType.ETHERNET, cut).r).toBe(Decoded.TRUNCATED_LINK);
  });

  it('Linux cooked SLL and SLL2, with the packet type', () => {
    const a = decode(LinkType.LINUX_SLL, sll(tcp4, PACKET_OUTGOING));
    expect(a).toMatchObject({ r: Decoded.OK, src: '10.0.0.1' });
    expect(a.m.linuxPacketType).toBe(PACKET_OUTGOING);
    const b = decode(LinkType.LINUX_SLL2, sll2(udp6, 0));
    expect(b).toMatchObject({ r: Decoded.OK, dst: '2001:db8::2' });
    expect(b.m.linuxPacketType).toBe(0);
    expect(decode(LinkType.LINUX_SLL, sll(tcp4).subarray(0, 10)).r).toBe(Decoded.TRUNCATED_LINK);
    expect(decode(LinkType.LINUX_SLL2, sll2(tcp4).subarray(0, 19)).r).toBe(Decoded.TRUNCATED_LINK);
  });

  it('raw IP: 101, 12, 14, 228, 229', () => {
    for (const lt of [LinkType.RAW, LinkType.RAW_BSD12, LinkType.RAW_BSD14, LinkType.IPV4]) {
      expect(decode(lt, tcp4)).toMatchObject({ r: Decoded.OK, src: '10.0.0.1' });
    }
    for (const lt of [LinkType.RAW, LinkType.IPV6]) expect(decode(lt, udp6)).toMatchObject({ r: Decoded.OK, src: '2001:db8::1' });
    expect(decode(LinkType.RAW, Buffer.alloc(0)).r).toBe(Decoded.TRUNCATED_IP);
  });

  it('BSD null/loopback in either byte order, and LOOP', () => {
    expect(decode(LinkType.NULL, nullLink(tcp4))).toMatchObject({ r: Decoded.OK, src: '10.0.0.1' });
    expect(decode(LinkType.NULL, nullLink(udp6, true))).toMatchObject({ r: Decoded.OK, src: '2001:db8::1' });
    expect(decode(LinkType.LOOP, nullLink(tcp4, true))).toMatchObject({ r: Decoded.OK, src: '10.0.0.1' });
    const other = Buffer.concat([Buffer.from([7, 0, 0, 0]), tcp4]);
    expect(decode(LinkType.NULL, other).r).toBe(Decoded.NOT_IP);
    expect(decode(LinkType.NULL, Buffer.from([2, 0])).r).toBe(Decoded.TRUNCATED_LINK);
  });

  it('non-IP frames and unknown link types are told apart', () => {
    expect(decode(LinkType.ETHERNET, arp()).r).toBe(Decoded.NOT_IP);
    expect(decode(147, tcp4).r).toBe(Decoded.UNKNOWN_LINK_TYPE);
    expect(decode(LinkType.ETHERNET, Buffer.alloc(13)).r).toBe(Decoded.TRUNCATED_LINK);
  });
});

describe('IPv4', () => {
  it('options: ports are found after them', () => {
    const p = ipv4({ src: '1.2.3.4', dst: '5.6.7.8', options: Buffer.from([1, 1, 1, 0, 0x94, 4, 0, 0]), l4: { proto: 17, sport: 1000, dport: 2000, payloadLen: 10 } });
    const d = decode(LinkType.RAW, p);
    expect(d.r).toBe(Decoded.OK);
    expect(d.m.ipBytes).toBe(28 + 8 + 10);
    expect([d.m.srcPort, d.m.dstPort]).toEqual([1000, 2000]);
    expect(d.m.payloadLength).toBe(10);
  });

  it('fragments: every one counts, only the first has ports', () => {
    const first = ipv4({ src: '1.2.3.4', dst: '5.6.7.8', moreFragments: true, l4: { proto: 17, sport: 53, dport: 999, payloadLen: 1472 } });
    const later = ipv4({ src: '1.2.3.4', dst: '5.6.7.8', fragOffset8: 185, l4: { proto: 17 }, rawPayload: Buffer.alloc(500, 0x41) });
    const a = decode(LinkType.RAW, first);
    expect([a.r, a.m.ipBytes, a.m.srcPort]).toEqual([Decoded.OK, 1500, 53]);
    const b = decode(LinkType.RAW, later);
    expect([b.r, b.m.ipBytes, b.m.srcPort, b.m.dstPort, b.m.proto]).toEqual([Decoded.OK, 520, -1, -1, 17]);
  });

  it('snaplen: bytes from the length field, not the captured length', () => {
    const f = ethernet(ipv4({ src: '1.2.3.4', dst: '5.6.7.8', l4: { proto: 6, sport: 80, dport: 50000, payloadLen: 1460 } }));
    const d = decode(LinkType.ETHERNET, f, f.length, 96);
    expect(d.m.ipBytes).toBe(1500);
    expect(d.m.cut).toBe(true);
    // cut inside the TCP header: counted, no ports
    const e = decode(LinkType.ETHERNET, f, f.length, 14 + 20 + 2);
    expect([e.r, e.m.ipBytes, e.m.srcPort]).toEqual([Decoded.OK, 1500, -1]);
  });

  it('TSO: a zero length field falls back to the wire length minus the link header', () => {
    const p = ipv4({ src: '1.2.3.4', dst: '5.6.7.8', totalLength: 0, l4: { proto: 6, sport: 1, dport: 2, payloadLen: 100 } });
    const d = decode(LinkType.ETHERNET, ethernet(p), 14 + 64000, 14 + 140);
    expect([d.r, d.m.ipBytes]).toEqual([Decoded.OK, 64000]);
  });

  it('malformed headers are errors, never exceptions', () => {
    expect(decode(LinkType.RAW, tcp4.subarray(0, 19)).r).toBe(Decoded.TRUNCATED_IP);
    const badIhl = Buffer.from(tcp4);
    badIhl[0] = 0x44;
    expect(decode(LinkType.RAW, badIhl).r).toBe(Decoded.BAD_IHL);
    const badVer = Buffer.from(tcp4);
    badVer[0] = 0x55;
    expect(decode(LinkType.ETHERNET, ethernet(badVer)).r).toBe(Decoded.BAD_IP_VERSION);
    const shortLen = Buffer.from(tcp4);
    shortLen.writeUInt16BE(12, 2);
    expect(decode(LinkType.RAW, shortLen).r).toBe(Decoded.BAD_IP_LENGTH);
    const longLen = Buffer.from(tcp4);
    longLen.writeUInt16BE(9000, 2);
    expect(decode(LinkType.RAW, longLen).r).toBe(Decoded.BAD_IP_LENGTH);
  });
});

describe('IPv6', () => {
  const base = { src: '2600:1f18::1', dst: '2600:1f18::2' };

  it('walks hop-by-hop, routing and destination-options headers to the ports', () => {
    const p = ipv6({
      ...base,
      ext: [
        { type: 0, data: Buffer.alloc(6) },
        { type: 43, data: Buffer.alloc(14) },
        { type: 60, data: Buffer.alloc(6) },
      ],
      l4: { proto: 6, sport: 443, dport: 51000, payloadLen: 10 },
    });
    const d = decode(LinkType.RAW, p);
    expect([d.r, d.m.proto, d.m.srcPort, d.m.dstPort, d.m.ipBytes]).toEqual([Decoded.OK, 6, 443, 51000, p.length]);
  });

  it('fragment header: first fragment has ports, later ones do not', () => {
    const first = ipv6({ ...base, ext: [{ type: 44, data: Buffer.from([0, 1, 0, 0, 0, 7]) }], l4: { proto: 17, sport: 5, dport: 6, payloadLen: 100 } });
    const d = decode(LinkType.RAW, first);
    expect([d.r, d.m.proto, d.m.srcPort]).toEqual([Decoded.OK, 17, 5]);
    // offset 100 (in 8-byte units) << 3
    const later = ipv6({ ...base, ext: [{ type: 44, data: Buffer.from([0x03, 0x20, 0, 0, 0, 7]) }], l4: { proto: 17 }, rawPayload: Buffer.alloc(200) });
    const e = decode(LinkType.RAW, later);
    expect([e.r, e.m.proto, e.m.srcPort, e.m.ipBytes]).toEqual([Decoded.OK, 17, -1, 40 + 8 + 200]);
  });

  it('an extension header running past the payload is an error; one cut by snaplen is not', () => {
    const p = ipv6({ ...base, ext: [{ type: 0, data: Buffer.alloc(6) }], l4: { proto: 6, sport: 1, dport: 2 } });
    const bad = Buffer.from(p);
    bad[41] = 200; // header length far beyond the packet
    expect(decode(LinkType.RAW, bad).r).toBe(Decoded.BAD_IPV6_EXT);
    const cut = decode(LinkType.RAW, p, p.length, 44);
    expect([cut.r, cut.m.ipBytes, cut.m.srcPort]).toEqual([Decoded.OK, p.length, -1]);
  });

  it('jumbo/TSO: payload length 0 uses the wire length', () => {
    const p = ipv6({ ...base, payloadLength: 0, l4: { proto: 6, sport: 1, dport: 2, payloadLen: 20 } });
    const d = decode(LinkType.RAW, p, 70000, p.length);
    expect([d.r, d.m.ipBytes]).toEqual([Decoded.OK, 70000]);
  });

  it('truncated or lying headers', () => {
    expect(decode(LinkType.RAW, udp6.subarray(0, 39)).r).toBe(Decoded.TRUNCATED_IP);
    const long = Buffer.from(udp6);
    long.writeUInt16BE(5000, 4);
    expect(decode(LinkType.RAW, long).r).toBe(Decoded.BAD_IP_LENGTH);
  });
});
