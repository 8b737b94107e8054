// The fields of VPC Flow Logs records (versions 2–5 and later), as the text header names them
// (`interface-id`) and the Parquet delivery's columns (`interface_id`), and what the readers take from them.
import { Action, FlowDirection, FlowRecord, InterfaceIds, LogStatus } from './record.js';

/** What a column is to the readers: one of these, or IGNORED (read past). */
export const Field = {
  IGNORED: 0,
  INTERFACE_ID: 1,
  SRCADDR: 2,
  DSTADDR: 3,
  SRCPORT: 4,
  DSTPORT: 5,
  PROTOCOL: 6,
  PACKETS: 7,
  BYTES: 8,
  START: 9,
  END: 10,
  ACTION: 11,
  LOG_STATUS: 12,
  PKT_SRCADDR: 13,
  PKT_DSTADDR: 14,
  FLOW_DIRECTION: 15,
  TRAFFIC_PATH: 16,
} as const;

const READ: Record<string, number> = {
  'interface-id': Field.INTERFACE_ID,
  srcaddr: Field.SRCADDR,
  dstaddr: Field.DSTADDR,
  srcport: Field.SRCPORT,
  dstport: Field.DSTPORT,
  protocol: Field.PROTOCOL,
  packets: Field.PACKETS,
  bytes: Field.BYTES,
  start: Field.START,
  end: Field.END,
  action: Field.ACTION,
  'log-status': Field.LOG_STATUS,
  'pkt-srcaddr': Field.PKT_SRCADDR,
  'pkt-dstaddr': Field.PKT_DSTADDR,
  'flow-direction': Field.FLOW_DIRECTION,
  'traffic-path': Field.TRAFFIC_PATH,
};

/** Every field AWS documents (versions 2–8): a header of these is a flow log's. */
const KNOWN = new Set([
  'version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status',
  'vpc-id', 'subnet-id', 'instance-id', 'tcp-flags', 'type', 'pkt-srcaddr', 'pkt-dstaddr',
  'region', 'az-id', 'sublocation-type', 'sublocation-id', 'pkt-src-aws-service', 'pkt-dst-aws-service', 'flow-direction', 'traffic-path',
  'ecs-cluster-arn', 'ecs-cluster-name', 'ecs-container-instance-arn', 'ecs-container-instance-id', 'ecs-container-id', 'ecs-second-container-id', 'ecs-service-name', 'ecs-task-definition-arn', 'ecs-task-arn', 'ecs-task-id',
  'reject-reason', 'resource-id', 'encryption-status',
]);

/** The fields a record cannot be counted without. */
const REQUIRED = ['srcaddr', 'dstaddr', 'bytes'];

/** The default format (version 2), for files without a header line. */
export const DEFAULT_FIELDS = ['version', 'account-id', 'interface-id', 'srcaddr', 'dstaddr', 'srcport', 'dstport', 'protocol', 'packets', 'bytes', 'start', 'end', 'action', 'log-status'];

/** A Parquet column's name as the text header writes it (`log_status` → `log-status`). */
export const fieldOfColumn = (column: string): string => column.replace(/_/g, '-');

/**
 * The fields a header line names, or undefined where the line is no flow-log header: every name is one
 * AWS documents (a later version's may be among them, if most are known) and the required ones are there.
 */
export function headerFields(line: string): string[] | undefined {
  const names = line.trim().split(/\s+/);
  if (!REQUIRED.every((r) => names.includes(r))) return undefined;
  const unknown = names.filter((n) => !KNOWN.has(n));
  if (unknown.some((n) => !/^[a-z][a-z0-9-]*$/.test(n)) || unknown.length * 2 > names.length) return undefined;
  return names;
}

/** Each field's meaning to the readers. */
export const fieldKinds = (names: readonly string[]): Uint8Array => Uint8Array.from(names, (n) => READ[n] ?? Field.IGNORED);

// Values from bytes, with no string: the text reader's whole work per record.

/** A decimal number in b[s, e), or -1 where it is none ("-" is absent: -2). */
export function parseNumber(b: Uint8Array, s: number, e: number): number {
  if (e - s === 1 && b[s] === 45) return -2;
  if (s === e || e - s > 20) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Where parse4 stopped: e, or the space that ended the address. */
let parsedTo = 0;

/**
 * An IPv4 address from b[s], up to e or a space (where it stopped: parsedTo), as an unsigned 32-bit
 * number, or -1.
 */
export function parse4(b: Uint8Array, s: number, e: number): number {
  let a = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let i = s;
  for (; i < e; i++) {
    const c = b[i];
    if (c === 32) break;
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      a = a * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      const d = c - 48;
      if (d < 0 || d > 9 || digits === 3) return -1;
      octet = octet * 10 + d;
      if (octet > 255) return -1;
      digits++;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  parsedTo = i;
  return a * 256 + octet;
}

const groups = new Uint16Array(8);

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** An IPv6 address in b[s, e) into four 32-bit words; false where it is none. */
export function parse6(b: Uint8Array, s: number, e: number, out: Uint32Array): boolean {
  let n = 0;
  let gap = -1;
  let i = s;
  if (e - s >= 2 && b[i] === 58) {
    if (b[i + 1] !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < e) {
    const gs = i;
    let v = 0;
    let d = 0;
    for (let h = hexDigit(b[i]); i < e && h >= 0; h = hexDigit(b[++i])) {
      v = v * 16 + h;
      d++;
    }
    if (i < e && b[i] === 46) {
      // an embedded IPv4 address ends it (::ffff:1.2.3.4)
      const a = parse4(b, gs, e);
      if (a < 0 || parsedTo !== e || n > 6) return false;
      groups[n++] = a >>> 16;
      groups[n++] = a & 0xffff;
      i = e;
      break;
    }
    if (d === 0 || d > 4 || n === 8) return false;
    groups[n++] = v;
    if (i === e) break;
    if (b[i] !== 58) return false;
    i++;
    if (i < e && b[i] === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === e) return false;
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  const zeros = 8 - n;
  for (let w = 0; w < 4; w++) {
    const hi = groupAt(2 * w, gap, zeros);
    const lo = groupAt(2 * w + 1, gap, zeros);
    out[w] = ((hi << 16) | lo) >>> 0;
  }
  return true;
}

function groupAt(k: number, gap: number, zeros: number): number {
  if (gap < 0 || k < gap) return groups[k];
  if (k < gap + zeros) return 0;
  return groups[k - zeros];
}

/** Reasons a line is malformed, by the code the parsers return. */
export const MALFORMED = ['', 'wrong number of fields', 'an address that is none', 'a number that is none', 'an action that is neither ACCEPT nor REJECT', 'a log-status that is none of OK, NODATA, SKIPDATA', 'a flow-direction that is neither ingress nor egress'] as const;
const BAD_FIELDS = 1;
const BAD_ADDRESS = 2;
const BAD_NUMBER = 3;
const BAD_ACTION = 4;
const BAD_STATUS = 5;
const BAD_DIRECTION = 6;

/** The address in b[s, e) into the record (pkt: pkt-srcaddr/pkt-dstaddr); 0 or BAD_ADDRESS. */
function address(b: Uint8Array, s: number, e: number, r: FlowRecord, source: boolean, pkt: boolean): number {
  if (e - s === 1 && b[s] === 45) return 0;
  let six = false;
  for (let i = s; i < e; i++) if (b[i] === 58) six = true;
  if (!six) {
    const a = parse4(b, s, e);
    if (a < 0 || parsedTo !== e) return BAD_ADDRESS;
    if (pkt) {
      r.pktFamily = 4;
      if (source) r.pktSrc4 = a;
      else r.pktDst4 = a;
    } else {
      r.family = 4;
      if (source) r.src4 = a;
      else r.dst4 = a;
    }
    return 0;
  }
  const out = pkt ? (source ? r.pktSrc6 : r.pktDst6) : source ? r.src6 : r.dst6;
  if (!parse6(b, s, e, out)) return BAD_ADDRESS;
  if (pkt) r.pktFamily = 6;
  else r.family = 6;
  return 0;
}

const eq = (b: Uint8Array, s: number, e: number, word: string): boolean => {
  if (e - s !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (b[s + i] !== word.charCodeAt(i)) return false;
  return true;
};

/**
 * One record's fields (b[s, e) split at single spaces, `kinds` per column) into `r`: 0, or the code of
 * what is wrong (MALFORMED). Each byte is looked at once (numbers, IPv4 addresses and interface ids are
 * parsed while the field's end is sought); allocates nothing once its interface is known.
 */
export function parseFields(b: Uint8Array, s: number, e: number, kinds: Uint8Array, r: FlowRecord, ids: InterfaceIds): number {
  r.reset();
  let pos = s;
  const n = kinds.length;
  for (let col = 0; col < n; col++) {
    if (pos > e) return BAD_FIELDS;
    const k = kinds[col];
    let end = pos;
    if (k === Field.IGNORED) {
      while (end < e && b[end] !== 32) end++;
    } else if (k >= Field.SRCPORT && k <= Field.END) {
      if (b[end] === 45 && (end + 1 === e || b[end + 1] === 32)) end++;
      else {
        let v = 0;
        for (; end < e; end++) {
          const d = b[end] - 48;
          if (d === -16) break; // a space
          if (d < 0 || d > 9) return BAD_NUMBER;
          v = v * 10 + d;
        }
        if (end === pos || end - pos > 20) return BAD_NUMBER;
        numberField(r, k, v);
      }
    } else if (k === Field.SRCADDR || k === Field.DSTADDR) {
      end = address4At(b, pos, e, r, k === Field.SRCADDR);
      if (end < 0) {
        // IPv6, absent, or none: the whole field
        end = pos;
        while (end < e && b[end] !== 32) end++;
        const bad = address(b, pos, end, r, k === Field.SRCADDR, false);
        if (bad !== 0) return bad;
      }
    } else if (k === Field.INTERFACE_ID) {
      let h = 0x811c9dc5;
      for (; end < e; end++) {
        const c = b[end];
        if (c === 32) break;
        h = Math.imul(h ^ c, 0x01000193);
      }
      if (!(end - pos === 1 && b[pos] === 45)) r.eni = ids.ofHashed(b, pos, end, h);
    } else {
      while (end < e && b[end] !== 32) end++;
      // the common words (ACCEPT, OK) compared in line, byte by byte
      if (k === Field.ACTION && end - pos === 6 && b[pos] === 65 && b[pos + 1] === 67 && b[pos + 2] === 67 && b[pos + 3] === 69 && b[pos + 4] === 80 && b[pos + 5] === 84) r.action = Action.ACCEPT;
      else if (k === Field.LOG_STATUS && end - pos === 2 && b[pos] === 79 && b[pos + 1] === 75) r.status = LogStatus.OK;
      else {
        const bad = field(b, pos, end, k, r, ids);
        if (bad !== 0) return bad;
      }
    }
    pos = end + 1;
  }
  return pos === e + 1 ? 0 : BAD_FIELDS;
}

/** An IPv4 address from b[s] to the next space into the record: the field's end, or -1 where it is no IPv4 address. */
function address4At(b: Uint8Array, s: number, e: number, r: FlowRecord, source: boolean): number {
  const a = parse4(b, s, e);
  if (a < 0) return -1;
  r.family = 4;
  if (source) r.src4 = a;
  else r.dst4 = a;
  return parsedTo;
}

function field(b: Uint8Array, s: number, e: number, k: number, r: FlowRecord, ids: InterfaceIds): number {
  switch (k) {
    case Field.INTERFACE_ID:
      if (!(e - s === 1 && b[s] === 45)) r.eni = ids.ofBytes(b, s, e);
      return 0;
    case Field.SRCADDR:
      return address(b, s, e, r, true, false);
    case Field.DSTADDR:
      return address(b, s, e, r, false, false);
    case Field.PKT_SRCADDR:
      return address(b, s, e, r, true, true);
    case Field.PKT_DSTADDR:
      return address(b, s, e, r, false, true);
    case Field.ACTION:
      if (eq(b, s, e, 'ACCEPT')) r.action = Action.ACCEPT;
      else if (eq(b, s, e, 'REJECT')) r.action = Action.REJECT;
      else if (!eq(b, s, e, '-')) return BAD_ACTION;
      return 0;
    case Field.LOG_STATUS:
      if (eq(b, s, e, 'OK')) r.status = LogStatus.OK;
      else if (eq(b, s, e, 'NODATA')) r.status = LogStatus.NODATA;
      else if (eq(b, s, e, 'SKIPDATA')) r.status = LogStatus.SKIPDATA;
      else if (!eq(b, s, e, '-')) return BAD_STATUS;
      return 0;
    case Field.FLOW_DIRECTION:
      if (eq(b, s, e, 'egress')) r.direction = FlowDirection.EGRESS;
      else if (eq(b, s, e, 'ingress')) r.direction = FlowDirection.INGRESS;
      else if (!eq(b, s, e, '-')) return BAD_DIRECTION;
      return 0;
    default: {
      const v = parseNumber(b, s, e);
      if (v === -1) return BAD_NUMBER;
      if (v === -2) return 0;
      numberField(r, k, v);
      return 0;
    }
  }
}

/** A numeric field's value into the record. */
export function numberField(r: FlowRecord, k: number, v: number): void {
  switch (k) {
    case Field.SRCPORT:
      r.srcPort = v;
      break;
    case Field.DSTPORT:
      r.dstPort = v;
      break;
    case Field.PROTOCOL:
      r.proto = v;
      break;
    case Field.PACKETS:
      r.packets = v;
      break;
    case Field.BYTES:
      r.ipBytes = v;
      break;
    case Field.START:
      r.start = v;
      break;
    case Field.END:
      r.end = v;
      break;
    case Field.TRAFFIC_PATH:
      r.trafficPath = v;
      break;
  }
}

/** The string version of `field` for Parquet cells (strings, numbers, bigints); a scratch buffer stands in for bytes. */
const scratch = new Uint8Array(256);
export function parseCell(value: unknown, k: number, r: FlowRecord, ids: InterfaceIds): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (k === Field.INTERFACE_ID || k === Field.SRCADDR || k === Field.DSTADDR || k === Field.PKT_SRCADDR || k === Field.PKT_DSTADDR || k === Field.ACTION || k === Field.LOG_STATUS || k === Field.FLOW_DIRECTION) return BAD_NUMBER;
    numberField(r, k, Number(value));
    return 0;
  }
  if (typeof value !== 'string' || value.length > scratch.length) return BAD_NUMBER;
  if (k === Field.INTERFACE_ID) {
    if (value !== '-') r.eni = ids.of(value);
    return 0;
  }
  for (let i = 0; i < value.length; i++) scratch[i] = value.charCodeAt(i);
  return field(scratch, 0, value.length, k, r, ids);
}

/** One record's line parsed into `r`: 0, or the code of what is wrong (MALFORMED). */
export type LineParser = (b: Uint8Array, s: number, e: number, r: FlowRecord, ids: InterfaceIds) => number;

/** The record's property each numeric field sets (numberField's). */
const NUMBER_PROPERTY: Record<number, keyof FlowRecord> = {
  [Field.SRCPORT]: 'srcPort',
  [Field.DSTPORT]: 'dstPort',
  [Field.PROTOCOL]: 'proto',
  [Field.PACKETS]: 'packets',
  [Field.BYTES]: 'ipBytes',
  [Field.START]: 'start',
  [Field.END]: 'end',
  [Field.TRAFFIC_PATH]: 'trafficPath',
};

/**
 * parseFields made for one format: the fields' code in their order, in one function (no dispatch per
 * field, numbers and IPv4 addresses parsed in line), the same result for every line. Made once per
 * header; a flow log's text is ~10 M lines a GB, where the dispatch per field was a third of the parse.
 */
export function lineParser(kinds: Uint8Array): LineParser {
  const code: string[] = ['r.reset();', 'let p = s, q = 0, v = 0, d = 0, c = 0, a = 0, o = 0, nd = 0, dots = 0, h = 0, bad = 0;'];
  const n = kinds.length;
  for (let col = 0; col < n; col++) {
    const k = kinds[col];
    code.push(`if (p > e) return ${BAD_FIELDS};`);
    const prop = NUMBER_PROPERTY[k];
    if (k === Field.IGNORED) code.push('while (p < e && b[p] !== 32) p++;');
    else if (prop !== undefined) {
      code.push(
        `q = p;
if (b[p] === 45 && (p + 1 === e || b[p + 1] === 32)) p++;
else {
  v = 0;
  for (; p < e; p++) { d = b[p] - 48; if (d === -16) break; if (d < 0 || d > 9) return ${BAD_NUMBER}; v = v * 10 + d; }
  if (p === q || p - q > 20) return ${BAD_NUMBER};
  r.${prop} = v;
}`,
      );
    } else if (k === Field.SRCADDR || k === Field.DSTADDR) {
      const source = k === Field.SRCADDR;
      code.push(
        `q = p; a = 0; o = 0; nd = 0; dots = 0; bad = 0;
for (; p < e; p++) {
  c = b[p];
  if (c === 32) break;
  if (c === 46) { if (nd === 0 || dots === 3) { bad = 1; break; } a = a * 256 + o; o = 0; nd = 0; dots++; }
  else { d = c - 48; if (d < 0 || d > 9 || nd === 3) { bad = 1; break; } o = o * 10 + d; if (o > 255) { bad = 1; break; } nd++; }
}
if (bad === 0 && dots === 3 && nd > 0) { r.family = 4; r.${source ? 'src4' : 'dst4'} = a * 256 + o; }
else {
  p = q;
  while (p < e && b[p] !== 32) p++;
  bad = address(b, q, p, r, ${source}, false);
  if (bad !== 0) return bad;
}`,
      );
    } else if (k === Field.INTERFACE_ID) {
      code.push(
        `q = p; h = 0x811c9dc5;
for (; p < e; p++) { c = b[p]; if (c === 32) break; h = Math.imul(h ^ c, 0x01000193); }
if (!(p - q === 1 && b[q] === 45)) r.eni = ids.ofHashed(b, q, p, h);`,
      );
    } else {
      // the common words (ACCEPT, OK) compared in line
      const common =
        k === Field.ACTION
          ? `p - q === 6 && b[q] === 65 && b[q + 1] === 67 && b[q + 2] === 67 && b[q + 3] === 69 && b[q + 4] === 80 && b[q + 5] === 84) r.action = ${Action.ACCEPT}`
          : k === Field.LOG_STATUS
            ? `p - q === 2 && b[q] === 79 && b[q + 1] === 75) r.status = ${LogStatus.OK}`
            : undefined;
      code.push(
        `q = p;
while (p < e && b[p] !== 32) p++;
${common ? `if (${common};\nelse ` : ''}{ bad = field(b, q, p, ${k}, r, ids); if (bad !== 0) return bad; }`,
      );
    }
    code.push('p++;');
  }
  code.push(`return p === e + 1 ? 0 : ${BAD_FIELDS};`);
  // the parser of one format, made from its fields alone (no input text is in its code)
  return new Function('address', 'field', `return function parseLine(b, s, e, r, ids) {\n${code.join('\n')}\n};`)(address, field) as LineParser;
}
