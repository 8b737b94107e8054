// Random and mutated frames: the decoder never throws, never reads outside the captured bytes, and
// only counts bytes that a valid IP header states.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decoded, decodeFrame, LinkType, PacketMeta } from '../src/decode/packet.js';
import { ethernet, ipv4, ipv6, sll, sll2 } from '../scripts/lib/frames.js';

const LINKS = [LinkType.ETHERNET, LinkType.LINUX_SLL, LinkType.LINUX_SLL2, LinkType.RAW, LinkType.NULL, LinkType.LOOP, LinkType.IPV4, LinkType.IPV6, 12, 14, 999];

function linkHeaderOf(link: number, b: Buffer): number {
  switch (link) {
    case LinkType.ETHERNET: {
      let p = 12;
      while (p + 2 <= b.length && [0x8100, 0x88a8, 0x9100].includes(b.readUInt16BE(p))) p += 4;
      return p + 2;
    }
    case LinkType.LINUX_SLL:
      return 16;
    case LinkType.LINUX_SLL2:
      return 20;
    case LinkType.NULL:
    case LinkType.LOOP:
      return 4;
    default:
      return 0;
  }
}

/** The billed size an independent reading of the header gives (0 where it should be rejected). */
function expectedBytes(link: number, b: Buffer, wireLen: number): number {
  const p = linkHeaderOf(link, b);
  const v = b[p] >> 4;
  if (v === 4) {
    const total = b.readUInt16BE(p + 2);
    return total === 0 ? wireLen - p : total;
  }
  const plen = b.readUInt16BE(p + 4);
  return plen === 0 ? wireLen - p : 40 + plen;
}

function snapshot(m: PacketMeta): string {
  return JSON.stringify([m.family, m.src4, m.dst4, [...m.src6], [...m.dst6], m.proto, m.srcPort, m.dstPort, m.ipBytes, m.payloadOffset, m.payloadLength]);
}

function check(link: number, frame: Buffer, wireLen: number): void {
  const m = new PacketMeta();
  // decode twice with different guard bytes around the frame: a read outside the captured bytes
  // would make the two results differ
  const other = new PacketMeta();
  const guardA = Buffer.concat([Buffer.alloc(3, 0xaa), frame, Buffer.alloc(64, 0xaa)]);
  const guardB = Buffer.concat([Buffer.alloc(3, 0x55), frame, Buffer.alloc(64, 0x55)]);
  let r = -1;
  expect(() => {
    r = decodeFrame(link, guardA, 3, frame.length, wireLen, m);
  }).not.toThrow();
  expect(decodeFrame(link, guardB, 3, frame.length, wireLen, other)).toBe(r);
  if (r === Decoded.OK) expect(snapshot(other)).toBe(snapshot(m));
  expect(r).toBeGreaterThanOrEqual(0);
  expect(r).toBeLessThanOrEqual(Decoded.BAD_IPV6_EXT);
  if (r === Decoded.OK) {
    expect(m.ipBytes).toBe(expectedBytes(link, frame, wireLen));
    expect(m.ipBytes).toBeLessThanOrEqual(wireLen);
    expect(m.ipBytes).toBeGreaterThanOrEqual(20);
    expect(m.payloadOffset + m.payloadLength).toBeLessThanOrEqual(3 + frame.length);
    const decoded = m.family === 4 ? 4 : 6;
    expect(frame[linkHeaderOf(link, frame)] >> 4).toBe(decoded);
  }
}

const validFrame = fc
  .record({
    v6: fc.boolean(),
    proto: fc.constantFrom(6, 17, 1, 132),
    sport: fc.integer({ min: 0, max: 65535 }),
    dport: fc.integer({ min: 0, max: 65535 }),
    len: fc.integer({ min: 0, max: 1400 }),
    link: fc.constantFrom(LinkType.ETHERNET, LinkType.LINUX_SLL, LinkType.LINUX_SLL2, LinkType.RAW),
  })
  .map(({ v6, proto, sport, dport, len, link }) => {
    const l4 = { proto, sport, dport, payloadLen: len };
    const ip = v6 ? ipv6({ src: '2001:db8::1', dst: '2001:db8::2', l4 }) : ipv4({ src: '10.1.2.3', dst: '10.3.2.1', l4 });
    const frame = link === LinkType.ETHERNET ? ethernet(ip) : link === LinkType.LINUX_SLL ? sll(ip) : link === LinkType.LINUX_SLL2 ? sll2(ip) : ip;
    return { link, frame };
  });

describe('decoder properties', () => {
  it('random bytes on every link type: no throw, bytes only from valid headers', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LINKS), fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.integer({ min: 0, max: 70000 }), (link, bytes, extra) => {
        const frame = Buffer.from(bytes);
        check(link, frame, frame.length + (extra % 3 === 0 ? extra : 0));
      }),
      { numRuns: 20000 },
    );
  });

  it('mutated valid frames: flipped bytes, cuts and lying lengths', () => {
    fc.assert(
      fc.property(
        validFrame,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        fc.boolean(),
        ({ link, frame }, flips, cutAt, cut) => {
          const f = Buffer.from(frame);
          for (const [pos, val] of flips) f[pos % f.length] = val;
          const captured = cut ? f.subarray(0, cutAt % (f.length + 1)) : f;
          check(link, captured, f.length);
        },
      ),
      { numRuns: 20000 },
    );
  });

  it('unmutated valid frames decode with the exact length', () => {
    fc.assert(
      fc.property(validFrame, ({ link, frame }) => {
        const m = new PacketMeta();
        expect(decodeFrame(link, frame, 0, frame.length, frame.length, m)).toBe(Decoded.OK);
        expect(m.ipBytes).toBe(expectedBytes(link, frame, frame.length));
      }),
      { numRuns: 2000 },
    );
  });
});
