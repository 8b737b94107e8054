// The parser made for one format (lineParser) against the field-by-field one (parseFields): the same
// verdict and the same record for lines of every field order, valid and damaged.
import { describe, expect, it } from 'vitest';
import { fieldKinds, lineParser, MALFORMED, parseFields } from '../src/sources/flow-logs/fields.js';
import { FlowRecord, InterfaceIds } from '../src/sources/flow-logs/record.js';

let seed = 11;
const rand = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
const int = (n: number): number => Math.floor(rand() * n);

const FIELDS = ['version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status', 'vpc-id', 'pkt-srcaddr', 'pkt-dstaddr', 'flow-direction', 'traffic-path', 'tcp-flags'];

const v4 = (): string => `${int(256)}.${int(256)}.${int(256)}.${int(256)}`;
const v6 = (): string => pick(['2600:1f18:1234:5600::15', '::1', '2a00:1450:4001:81b::200e', '::ffff:10.0.0.1', 'fe80::1:2:3:4', '1:2:3:4:5:6:7:8']);

function value(field: string): string {
  if (rand() < 0.05) return '-';
  switch (field) {
    case 'interface-id':
      return `eni-0${int(20).toString(16)}a1b2c3d4e5f6`;
    case 'srcaddr':
    case 'dstaddr':
    case 'pkt-srcaddr':
    case 'pkt-dstaddr':
      return rand() < 0.8 ? v4() : v6();
    case 'action':
      return pick(['ACCEPT', 'REJECT']);
    case 'log-status':
      return pick(['OK', 'OK', 'NODATA', 'SKIPDATA']);
    case 'flow-direction':
      return pick(['ingress', 'egress']);
    case 'vpc-id':
      return 'vpc-0abc';
    default:
      return String(rand() < 0.1 ? int(2 ** 40) : int(70000));
  }
}

/** A line damaged where it is likeliest to go wrong: a byte changed, a field lost or added, emptied, an overlong number. */
function damage(line: string): string {
  const k = int(7);
  const at = int(line.length);
  if (k === 0) return line.slice(0, at) + pick(['x', ' ', '.', ':', '-', '9', 'A', '\r']) + line.slice(at + 1);
  if (k === 1) return line.slice(0, at) + line.slice(at + 1);
  if (k === 2) return `${line} 5`;
  if (k === 3) return line.replace(/ [^ ]+$/, '');
  if (k === 4) return line.replace(' ', '  ');
  if (k === 5) return line.replace(/\b\d+\b/, '123456789012345678901234');
  return line.replace(/\d+\.\d+\.\d+\.\d+/, pick(['1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '01.2.3.4', '1.2.3.4a']));
}

const SEEN: (keyof FlowRecord)[] = ['family', 'src4', 'dst4', 'src6', 'dst6', 'ipBytes', 'packets', 'proto', 'srcPort', 'dstPort', 'start', 'end', 'action', 'status', 'direction', 'pktFamily', 'pktSrc4', 'pktDst4', 'pktSrc6', 'pktDst6', 'trafficPath'];
const seen = (r: FlowRecord, ids: InterfaceIds): unknown[] => [r.eni < 0 ? '-' : ids.name(r.eni), ...SEEN.map((k) => (r[k] instanceof Uint32Array ? [...(r[k] as Uint32Array)] : r[k]))];

describe('the parser made for one format', () => {
  it('gives parseFields’s verdict and record on 4,000 lines of 40 formats, half of them damaged', () => {
    const verdicts = new Map<number, number>();
    for (let f = 0; f < 40; f++) {
      const names = FIELDS.filter((n) => ['srcaddr', 'dstaddr', 'bytes'].includes(n) || rand() < 0.6).sort(() => rand() - 0.5);
      const kinds = fieldKinds(names);
      const parse = lineParser(kinds);
      const idsA = new InterfaceIds();
      const idsB = new InterfaceIds();
      const a = new FlowRecord();
      const b = new FlowRecord();
      for (let n = 0; n < 100; n++) {
        let line = names.map(value).join(' ');
        if (rand() < 0.5) line = damage(line);
        const bytes = Buffer.from(line, 'latin1');
        const want = parseFields(bytes, 0, bytes.length, kinds, a, idsA);
        const got = parse(bytes, 0, bytes.length, b, idsB);
        expect(MALFORMED[got], `${names.join(' ')}\n${line}`).toBe(MALFORMED[want]);
        if (want === 0) expect(seen(b, idsB), line).toEqual(seen(a, idsA));
        verdicts.set(want, (verdicts.get(want) ?? 0) + 1);
      }
    }
    // the damage reached every kind of verdict the formats can give, not only the good lines
    expect([...verdicts.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('reads a line inside a larger buffer only between its bounds', () => {
    const kinds = fieldKinds(['srcaddr', 'dstaddr', 'bytes']);
    const parse = lineParser(kinds);
    const r = new FlowRecord();
    const b = Buffer.from('xx 10.0.0.1 10.0.0.2 1500 7 yy', 'latin1');
    expect(parse(b, 3, 25, r, new InterfaceIds())).toBe(0);
    expect([r.src4, r.dst4, r.ipBytes]).toEqual([0x0a000001, 0x0a000002, 1500]);
    expect(parse(b, 3, 27, r, new InterfaceIds())).toBe(1);
  });
});
