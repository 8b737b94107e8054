// The worker's side of a parallel read (parallel-read.ts): it claims the file's parts from the back and
// counts each with a pipeline of its own, until it meets the reading thread. It learns no names: DNS
// frames are kept, in file order, for the reading thread to learn from in turn.
import type { MessagePort } from 'node:worker_threads';
import { Pipeline } from '../pipeline.js';
import { Topology } from '../../topology/topology.js';
import { claim, CONTROL, DNS_FIELDS, FREE, WORKER, type CountJob, type DnsFrames, type PartResult } from './count-job.js';
import { CHUNK, readPartRange } from '../../sources/file-reader.js';

class GiveUp extends Error {}

/** DNS frames kept in growing buffers, up to a bound. */
class DnsRecorder {
  private data = new Uint8Array(64 << 10);
  private meta = new Float64Array(DNS_FIELDS * 256);
  private bytes = 0;
  private count = 0;

  constructor(private readonly maxBytes: number) {}

  readonly keep = (linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number, now: number): void => {
    if (this.bytes + capLen > this.data.length) {
      if (this.bytes + capLen > this.maxBytes) throw new GiveUp(`more than ${this.maxBytes} bytes of DNS frames`);
      const d = new Uint8Array(Math.min(this.maxBytes, Math.max(2 * this.data.length, this.bytes + capLen)));
      d.set(this.data.subarray(0, this.bytes));
      this.data = d;
    }
    if ((this.count + 1) * DNS_FIELDS > this.meta.length) {
      const m = new Float64Array(this.meta.length * 2);
      m.set(this.meta);
      this.meta = m;
    }
    this.data.set(buf.subarray(off, off + capLen), this.bytes);
    this.meta.set([this.bytes, capLen, wireLen, linkType, now], this.count * DNS_FIELDS);
    this.bytes += capLen;
    this.count++;
  };

  frames(): DnsFrames {
    return { data: this.data.slice(0, this.bytes), meta: this.meta.slice(0, this.count * DNS_FIELDS), count: this.count };
  }
}

/** How a part's reading ended, when it did not end at its bound: for PartResult.why. */
function partEnd(r: ReturnType<typeof readPartRange>, to: number): string | undefined {
  if (r.restructured) return "a pcapng section or interface block in its part: the interfaces differ from the file's head";
  if (r.stopped) return `its part is cut short or corrupt at byte ${r.stopped.offset}: reading on here says where`;
  if (to !== Infinity && r.end !== to) return `its part's records end at byte ${r.end}, not at the next part's start ${to}`;
  return undefined;
}

/** Bytes a part's remote entries take in its result (RemoteTable.exportEntries: address, key, zone, bytes, cost). */
const ENTRY_BYTES = 40;

/** One pipeline for every part: its tables are made once, and emptied between parts. */
class PartCounter {
  private readonly pipeline: Pipeline;
  private dns = new DnsRecorder(0);
  /** Read into, part after part. */
  private readonly buffer = Buffer.allocUnsafe(CHUNK);

  constructor(private readonly job: CountJob) {
    this.pipeline = new Pipeline(new Topology(job.compiled), { remoteTableSize: job.remoteTableSize });
    this.pipeline.setLocalIps(job.localIps);
    this.pipeline.engine.setUsagePrices((usageType) => job.usagePrices[usageType]);
    this.pipeline.deferDns = (linkType, buf, off, capLen, wireLen, now) => this.dns.keep(linkType, buf, off, capLen, wireLen, now);
    // one table would have been drained here, its names as known at this point: only one thread can do that
    this.pipeline.engine.drainRemotesWhenFull(() => {
      throw new GiveUp(`more than ${job.remoteTableSize} remotes in a part`);
    });
  }

  /** Count a part, its DNS frames kept up to `dnsBytes`; GiveUp if it cannot be merged as it is. */
  count(part: number, dnsBytes: number, reads: Int32Array): PartResult {
    const { job, pipeline } = this;
    pipeline.resetCounts();
    this.dns = new DnsRecorder(dnsBytes);
    // the last part to the file's end, wherever it is now (a capture still being written): as one thread reads
    const to = part + 2 < job.bounds.length ? job.bounds[part + 1] : Infinity;
    const r = readPartRange(job.path, pipeline, job.format, job.bounds[part], to, reads, this.buffer);
    const why = partEnd(r, to);
    if (why !== undefined) return { ok: false, job: job.id, part, why };
    const { frames, corruptRecords, corruptBytes } = r;
    return { ok: true, job: job.id, part, frames, corruptRecords, corruptBytes, counts: pipeline.exportCounts(), dns: this.dns.frames() };
  }
}

/**
 * Count parts from the back until the reading thread has one, posting each part's result as it ends.
 * A part that cannot be merged as it is (its remotes fill the table, its DNS frames overflow what may be
 * held) is handed back: the reading thread reads it, and the worker stops there.
 */
export function countParts(job: CountJob, port: MessagePort): void {
  const control = new Int32Array(job.control);
  const reads = control.subarray(CONTROL.READS, CONTROL.READS + 1);
  const counter = new PartCounter(job);
  let held = 0;
  for (let part = job.bounds.length - 2; part > 0; part--) {
    if (Atomics.load(control, CONTROL.STOP) !== 0) break;
    // room for this part's remote entries at their most, and some DNS frames
    const dnsBytes = job.resultBytes - held - job.remoteTableSize * ENTRY_BYTES;
    if (dnsBytes <= 0) break;
    if (!claim(control, part, WORKER)) break;
    let result: PartResult;
    try {
      result = counter.count(part, dnsBytes, reads);
    } catch (e) {
      if (!(e instanceof GiveUp)) throw e;
      port.postMessage({ ok: false, job: job.id, part, why: e.message, returned: true } satisfies PartResult);
      Atomics.store(control, CONTROL.OWNER + part, FREE);
      break;
    }
    // the large parts are moved, not copied
    let moved: ArrayBuffer[] = [];
    if (result.ok) {
      const { dns } = result;
      const { remotes } = result.counts;
      held += dns.data.byteLength + dns.meta.byteLength + remotes.count * ENTRY_BYTES;
      moved = [dns.data, dns.meta, remotes.words, remotes.keys, remotes.zones, remotes.bytes, remotes.cost].map((a) => a.buffer as ArrayBuffer);
    }
    port.postMessage(result, moved);
    if (!result.ok) break;
  }
}
