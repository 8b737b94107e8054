// A worker thread's share of a parallel read (parallel-read.ts): counts the records of a classic pcap
// file from a record's start to the end with its own pipeline, and hands back what it counted. It
// learns no names: DNS frames are kept, in file order, for the main thread to learn from in turn.
import { Pipeline } from '../pipeline.js';
import { Topology } from '../topology/topology.js';
import { DNS_FIELDS, type CountJob, type CountResult, type DnsFrames } from './count-job.js';
import { readPcapFrom } from './file-reader.js';

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

export function countShare(job: CountJob): CountResult {
  const pipeline = new Pipeline(new Topology(job.compiled), { remoteTableSize: job.remoteTableSize });
  pipeline.setLocalIps(job.localIps);
  const dns = new DnsRecorder(job.dnsBytes);
  pipeline.deferDns = dns.keep;
  // one table would have been drained here, its names as known at this point: only one thread can do that
  pipeline.engine.drainRemotesWhenFull(() => {
    throw new GiveUp(`more than ${job.remoteTableSize} remotes`);
  });
  try {
    const r = readPcapFrom(job.path, pipeline, job.header, job.from, new Int32Array(job.done, 4, 1));
    return {
      ok: true,
      frames: r.frames,
      stopped: r.stopped,
      counts: pipeline.engine.exportCounts(),
      remotes: pipeline.remotes.exportEntries(),
      decodeErrors: pipeline.decodeErrors,
      nonIp: pipeline.decode.nonIp,
      now: pipeline.now,
      first: pipeline.first,
      dns: dns.frames(),
    };
  } catch (e) {
    if (e instanceof GiveUp) return { ok: false, why: e.message };
    throw e;
  }
}
