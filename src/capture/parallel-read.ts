// analyze's reading of a large classic pcap file in two threads: this one counts the file's first part
// while a worker counts the rest from a record's start, then the worker's counts are added as if this
// thread had read on. The result is the one thread's, to the byte and the label: where it could differ
// (the guessed record start was wrong, the remote table would have been drained mid-file, the rest of the
// file is corrupt, the worker failed), this thread reads the rest itself instead.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { log } from '../log.js';
import type { Pipeline } from '../pipeline.js';
import { DNS_FIELDS, type CountJob, type CountResult } from './count-job.js';
import { findPcapRecord, peekPcap, readCaptureFile, type ReadResult, type Split } from './file-reader.js';

export type ParallelMode = 'auto' | 'on' | 'off';

/** auto: files from this size on: on 1 M packets (121 MB) the worker's start cost more than it saved (0.44–0.56 s against 0.41–0.48 s), on 3 M (364 MB) it saved (0.53–0.78 s against 0.72–0.83 s). */
export const PARALLEL_MIN_BYTES = 256 << 20;
/**
 * The worker is slower to start counting than this thread is to go on (the job's hand-over, its code
 * yet to be optimised): this thread reads this much more, so that both end together.
 */
const HEAD_START_BYTES = 16 << 20;
/** DNS frames a worker keeps for this thread to learn names from; more and its share is read here. */
const DNS_BYTES = 32 << 20;
/** A worker that has read nothing for this long is taken for dead (its part is read here). */
const STALLED_MS = 10_000;

// beside this module: dist/count-worker.js (the bundle), dist/capture/count-worker.js (tsc's output)
const WORKER = new URL('./count-worker.js', import.meta.url);

/**
 * Reads capture files into a pipeline, in two threads where that is sure to count the same. Made
 * before the pipeline (at the command's start): the worker starts while the topology loads.
 */
export class ParallelReader {
  private worker: { thread: Worker; port: MessagePort } | undefined;
  /** Why files are read in one thread whatever they are; undefined: each file is looked at. */
  private readonly off: string | undefined;

  constructor(
    files: readonly string[],
    private readonly mode: ParallelMode,
  ) {
    this.off =
      mode === 'off'
        ? '--read.parallel off'
        : !existsSync(fileURLToPath(WORKER))
          ? 'no worker module beside this one (running from source)'
          : mode === 'auto' && availableParallelism() < 2
            ? 'one core'
            : files.some((f) => this.sizeFits(f))
              ? undefined
              : mode === 'on'
                ? 'not a classic pcap file'
                : `no classic pcap file of ${PARALLEL_MIN_BYTES >> 20} MiB or more`;
    if (this.off !== undefined) return;
    const { port1, port2 } = new MessageChannel();
    const thread = new Worker(WORKER, { workerData: { port: port2 }, transferList: [port2] });
    thread.unref();
    thread.on('error', () => {}); // a job's failure is in its result, or the wait for it ends with none
    this.worker = { thread, port: port1 };
  }

  private sizeFits(path: string): boolean {
    const pcap = safePeek(path);
    return pcap !== undefined && (this.mode === 'on' || pcap.size >= PARALLEL_MIN_BYTES);
  }

  /** readCaptureFile(path, pipeline), the rest of the file counted by the worker where it can be. */
  read(path: string, pipeline: Pipeline): ReadResult {
    const pcap = safePeek(path);
    const why =
      this.off ??
      (pcap === undefined
        ? 'not a classic pcap file'
        : pipeline.dedupe !== undefined
          ? 'duplicates are dropped in file order'
          : pipeline.engine.attributes
            ? 'bytes are attributed to workloads'
            : !pipeline.learnDnsInline
              ? 'names are learned elsewhere'
              : !this.sizeFits(path)
                ? `smaller than ${PARALLEL_MIN_BYTES >> 20} MiB`
                : undefined);
    const at = pcap && why === undefined ? findPcapRecord(path, pcap.header, pcap.firstSeconds, splitPoint(pcap.size)) : undefined;
    if (pcap === undefined || why !== undefined || at === undefined || this.worker === undefined) {
      if (this.mode !== 'off') log.debug(`${path}: read in one thread: ${why ?? 'no record start found near its middle'}`, { file: path });
      return readCaptureFile(path, pipeline);
    }
    const { port } = this.worker;
    const done = new SharedArrayBuffer(8);
    const job: CountJob = {
      path,
      header: pcap.header,
      from: at,
      compiled: pipeline.topology.compiled(),
      localIps: [...pipeline.localIps],
      remoteTableSize: pipeline.remotes.capacity,
      dnsBytes: DNS_BYTES,
      done,
    };
    port.postMessage(job);
    const given = (reason: string): undefined => {
      log.debug(`${path}: the worker's part (from byte ${at}) is read in this thread: ${reason}`, { file: path, split_offset: at });
      return undefined;
    };
    let joined = false;
    const split: Split = {
      at,
      join: (offset) => {
        joined = true;
        if (offset !== at) return given(`the records before it end at byte ${offset}: not a record's start`);
        const result = this.result(new Int32Array(done));
        if (result === undefined) return given(`the worker read nothing for ${STALLED_MS / 1000} s`);
        if (!result.ok) return given(result.why);
        if (result.stopped) return given('its part is cut short: reading on here says where');
        if (!pipeline.engine.canMerge(result.counts)) return given("its usage combinations are not this topology's");
        if (!pipeline.remotes.mergesWithoutFilling(result.remotes)) return given('the remote table would have filled');
        merge(pipeline, result);
        log.debug(`${path}: read in two threads, the second from byte ${at} (${result.frames} frames)`, { file: path, split_offset: at, worker_frames: result.frames });
        return { frames: result.frames };
      },
    };
    const res = readCaptureFile(path, pipeline, Infinity, Infinity, split);
    // reading stopped before the worker's part (a corrupt record): its result is not wanted, nor the worker
    if (!joined) this.close();
    return res;
  }

  /** The worker's result for the job whose flag is `done`; undefined if it stalls (its thread died, say). */
  private result(done: Int32Array): CountResult | undefined {
    let reads = -1;
    while (Atomics.wait(done, 0, 0, STALLED_MS) === 'timed-out') {
      const now = Atomics.load(done, 1);
      if (now === reads) {
        this.close();
        return undefined;
      }
      reads = now;
    }
    return receiveMessageOnPort(this.worker!.port)?.message as CountResult | undefined;
  }

  /** Stop the worker (reading goes on in one thread). */
  close(): void {
    if (this.worker === undefined) return;
    void this.worker.thread.terminate();
    this.worker.port.close();
    this.worker = undefined;
  }
}

function safePeek(path: string): ReturnType<typeof peekPcap> {
  try {
    return peekPcap(path);
  } catch {
    return undefined; // readCaptureFile says what is wrong with it
  }
}

/** Where the worker's part starts: past the middle by what this thread reads while the worker starts. */
function splitPoint(size: number): number {
  const head = Math.min(HEAD_START_BYTES, size / 4);
  return Math.floor((size + head) / 2);
}

/** Add the worker's counts to the pipeline's, as if it had read the frames itself. */
function merge(pipeline: Pipeline, r: Extract<CountResult, { ok: true }>): void {
  // names first, in file order, each at the clock it had in one thread (the newest packet so far)
  const d = r.dns;
  const frames = Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength);
  for (let i = 0; i < d.count; i++) {
    const [off, capLen, wireLen, linkType, now] = d.meta.subarray(i * DNS_FIELDS, (i + 1) * DNS_FIELDS);
    pipeline.dnsFrame(linkType, frames, off, capLen, wireLen, now);
  }
  pipeline.engine.mergeCounts(r.counts);
  pipeline.remotes.merge(r.remotes);
  pipeline.capture.packets[pipeline.addInterface('if0')] += r.frames;
  for (let i = 0; i < r.decodeErrors.length; i++) pipeline.decodeErrors[i] += r.decodeErrors[i];
  pipeline.decode.nonIp += r.nonIp;
  if (r.now > pipeline.now) pipeline.now = r.now;
  pipeline.engine.now = pipeline.now;
  if (r.first < pipeline.first) pipeline.first = r.first;
}
