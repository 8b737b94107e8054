// The aggregate's rows (aggregate-sql.ts), from DuckDB or Athena, each handed on as one record standing
// for its group: its ports made such that the engine finds the same service port on the same side.
import { ipv6BigIntToWords, parseCidr } from '../../net/ip.js';
import { AGGREGATE_COLUMNS } from './aggregate-sql.js';
import type { FlowLogRead, RecordSink } from './read.js';
import { Action, FlowDirection, FlowRecord, LogStatus, type InterfaceIds } from './record.js';

/** A dotted-quad IPv4 address as a number; -1 where the text is none (IPv6, or no address). */
function ipv4Of(t: string): number {
  let a = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      a = a * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + c - 48;
      if (part > 255) return -1;
      digits++;
    } else return -1;
  }
  return dots === 3 && digits > 0 ? a * 256 + part : -1;
}

/** An address as the engine reads it; false where the text is none. */
function setAddress(text: string, r: FlowRecord, source: boolean): boolean {
  const v4 = ipv4Of(text);
  if (v4 >= 0) {
    if (source) r.src4 = v4;
    else r.dst4 = v4;
    r.family = 4;
    return true;
  }
  let c;
  try {
    c = parseCidr(text);
  } catch {
    return false;
  }
  if (c.family === 4) {
    if (source) r.src4 = Number(c.start);
    else r.dst4 = Number(c.start);
    r.family = 4;
  } else {
    (source ? r.src6 : r.dst6).set(ipv6BigIntToWords(c.start));
    r.family = 6;
  }
  return true;
}

/** The packet's own addresses (pkt-srcaddr, pkt-dstaddr) where the log has both. */
function setPacketAddresses(src: string, dst: string, r: FlowRecord): void {
  const a4 = ipv4Of(src);
  const b4 = ipv4Of(dst);
  if (a4 >= 0 && b4 >= 0) {
    r.pktFamily = 4;
    r.pktSrc4 = a4;
    r.pktDst4 = b4;
    return;
  }
  let a, b;
  try {
    a = parseCidr(src);
    b = parseCidr(dst);
  } catch {
    return;
  }
  if (a.family !== b.family) return;
  r.pktFamily = a.family;
  if (a.family === 4) {
    r.pktSrc4 = Number(a.start);
    r.pktDst4 = Number(b.start);
  } else {
    r.pktSrc6.set(ipv6BigIntToWords(a.start));
    r.pktDst6.set(ipv6BigIntToWords(b.start));
  }
}

/**
 * The other side's port of a group whose ports differ: one the engine's servicePort never prefers to the
 * service port (above every well-known and non-ephemeral port, and above every ephemeral one but itself,
 * which as a service port would mean both ports were 65535: a group of equal ports).
 */
const OTHER_PORT = 65535;

/** A value of the aggregate's row by column index (AGGREGATE_COLUMNS): text, a number, or null. */
export type GroupValue = (column: number) => string | number | null;

const num = (v: string | number | null): number | null => (v === null ? null : typeof v === 'number' ? v : Number(v));

/** The aggregate's rows (DuckDB's or Athena's), each counted as one record standing for its group. */
export class GroupCounter {
  private readonly r = new FlowRecord();

  constructor(
    private readonly sink: RecordSink,
    private readonly ids: InterfaceIds,
    private readonly read: FlowLogRead,
    /** Lines that were no record, as DuckDB's relation marks them (log_status MALFORMED): their file, why, how many. */
    private readonly malformed?: (file: string, why: string, lines: number) => void,
  ) {}

  count(v: GroupValue): void {
    const r = this.r;
    const read = this.read;
    r.reset();
    const n = num(v(C.records)) ?? 0;
    r.records = n;
    const st = v(C.log_status);
    if (st === 'MALFORMED' && this.malformed) return this.malformed(String(v(C.srcaddr)), String(v(C.interface_id)), n);
    if (st === 'NODATA' || st === 'SKIPDATA') {
      if (st === 'NODATA') read.nodata += n;
      else read.skipdata += n;
      return;
    }
    const b = num(v(C.bytes));
    const action = v(C.action);
    if (action === 'REJECT') {
      read.rejected += n;
      read.rejectedBytes += b ?? 0;
      return;
    }
    const s = v(C.srcaddr);
    const d = v(C.dstaddr);
    if (typeof s !== 'string' || typeof d !== 'string' || b === null || !setAddress(s, r, true) || !setAddress(d, r, false)) {
      read.malformed += n;
      return;
    }
    r.status = LogStatus.OK;
    r.action = action === 'ACCEPT' ? Action.ACCEPT : Action.NONE;
    r.ipBytes = b;
    r.packets = num(v(C.packets)) ?? 0;
    r.proto = num(v(C.protocol)) ?? -1;
    const port = num(v(C.service_port)) ?? -1;
    const which = num(v(C.service_side));
    // ports that give the engine the same service port and the same side holding it
    r.srcPort = which === 1 ? OTHER_PORT : port;
    r.dstPort = which === 0 ? OTHER_PORT : port;
    const id = v(C.interface_id);
    r.eni = typeof id === 'string' ? this.ids.of(id) : -1;
    r.start = num(v(C.first_start)) ?? 0;
    r.end = num(v(C.last_end)) ?? 0;
    const fd = v(C.flow_direction);
    r.direction = fd === 'ingress' ? FlowDirection.INGRESS : fd === 'egress' ? FlowDirection.EGRESS : FlowDirection.UNKNOWN;
    const ps = v(C.pkt_srcaddr);
    const pd = v(C.pkt_dstaddr);
    if (typeof ps === 'string' && typeof pd === 'string') setPacketAddresses(ps, pd, r);
    r.trafficPath = num(v(C.traffic_path)) ?? -1;
    read.records += n;
    this.sink(r);
  }
}

/** Column indexes of the aggregate by name. */
const C = Object.fromEntries(AGGREGATE_COLUMNS.map((c, i) => [c, i])) as Record<(typeof AGGREGATE_COLUMNS)[number], number>;

