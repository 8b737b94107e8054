// Flow-log records as a second thread hands them over: batches of records in shared typed arrays
// (no object per record), each taken by the counting thread in the order they were read, and given back.
import { FlowRecord } from './record.js';

/** Records per batch. */
export const BATCH = 8192;
/**
 * Batches in turn: the parsing thread fills the next while the counting thread takes one; before
 * counting starts (the topology loading) it fills them all (~130k records, 8 MB).
 */
export const BATCHES = 16;

const F64 = 4; // bytes, packets, start, end
const I32 = 9; // src4, dst4, pktSrc4, pktDst4, eni, srcPort, dstPort, proto, flags
const V6 = 16; // src6, dst6, pktSrc6, pktDst6

/** One batch's arrays over its shared buffer. */
export class Batch {
  readonly f: Float64Array;
  readonly i: Int32Array;
  readonly v6: Uint32Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.f = new Float64Array(buffer, 0, F64 * BATCH);
    this.i = new Int32Array(buffer, 8 * F64 * BATCH, I32 * BATCH);
    this.v6 = new Uint32Array(buffer, 8 * F64 * BATCH + 4 * I32 * BATCH, V6 * BATCH);
  }

  static bytes(): number {
    return 8 * F64 * BATCH + 4 * (I32 + V6) * BATCH;
  }

  /** Record k from r. */
  put(k: number, r: FlowRecord): void {
    const f = this.f;
    const i = this.i;
    const a = F64 * k;
    f[a] = r.ipBytes;
    f[a + 1] = r.packets;
    f[a + 2] = r.start;
    f[a + 3] = r.end;
    const b = I32 * k;
    i[b] = r.src4;
    i[b + 1] = r.dst4;
    i[b + 2] = r.pktSrc4;
    i[b + 3] = r.pktDst4;
    i[b + 4] = r.eni;
    i[b + 5] = r.srcPort;
    i[b + 6] = r.dstPort;
    i[b + 7] = r.proto;
    i[b + 8] = r.family | (r.pktFamily << 4) | ((r.direction + 1) << 8) | ((r.trafficPath + 1) << 12);
    if (r.family === 6 || r.pktFamily === 6) {
      const c = V6 * k;
      const v = this.v6;
      for (let w = 0; w < 4; w++) {
        v[c + w] = r.src6[w];
        v[c + 4 + w] = r.dst6[w];
        v[c + 8 + w] = r.pktSrc6[w];
        v[c + 12 + w] = r.pktDst6[w];
      }
    }
  }

  /** Record k into r, its interface numbered by `eni` (the parsing thread's numbers → this thread's). */
  get(k: number, r: FlowRecord, eni: Int32Array): void {
    const f = this.f;
    const i = this.i;
    const a = F64 * k;
    r.ipBytes = f[a];
    r.packets = f[a + 1];
    r.start = f[a + 2];
    r.end = f[a + 3];
    const b = I32 * k;
    r.src4 = i[b] >>> 0;
    r.dst4 = i[b + 1] >>> 0;
    r.pktSrc4 = i[b + 2] >>> 0;
    r.pktDst4 = i[b + 3] >>> 0;
    const e = i[b + 4];
    r.eni = e < 0 ? -1 : eni[e];
    r.srcPort = i[b + 5];
    r.dstPort = i[b + 6];
    r.proto = i[b + 7];
    const flags = i[b + 8];
    r.family = flags & 15;
    r.pktFamily = (flags >> 4) & 15;
    r.direction = ((flags >> 8) & 15) - 1;
    r.trafficPath = ((flags >> 12) & 15) - 1;
    if (r.family === 6 || r.pktFamily === 6) {
      const c = V6 * k;
      const v = this.v6;
      for (let w = 0; w < 4; w++) {
        r.src6[w] = v[c + w];
        r.dst6[w] = v[c + 4 + w];
        r.pktSrc6[w] = v[c + 8 + w];
        r.pktDst6[w] = v[c + 12 + w];
      }
    }
  }
}
