// analyze's reading of a large pcap or pcapng file in two threads. The file is cut into parts at record
// starts; this thread reads parts from the front, a worker counts parts from the back, each claiming a
// part before reading it, until they meet; then the worker's counts are added as if this thread had
// read on. However fast either thread runs, they end within a part of each other. The result is the
// one thread's, to the byte and the label: where it could differ (a guessed part start is not a
// record's, the remote table would have been drained mid-file, a part is cut short or corrupt, the
// worker failed), this thread reads the rest itself instead.
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { moduleFileExists } from '../../config/module-file.js';
import { log } from '../../config/log.js';
import type { Pipeline } from '../pipeline.js';
import { claim, CONTROL, DNS_FIELDS, PROMISED, READER, WORKER as WORKER_OWNS, type CountJob, type PartResult } from './count-job.js';
import { findRecordStart, peekCapture, readCaptureFile, type ReadResult, type Split } from '../../sources/file-reader.js';

export type ParallelMode = 'auto' | 'on' | 'off';

/**
 * auto: files from this size on: on 1 M packets (121 MB) the worker's start cost more than it saved
 * (0.44–0.56 s against 0.41–0.48 s), on 3 M (364 MB) it saved (0.53–0.78 s against 0.72–0.83 s).
 */
export const PARALLEL_MIN_BYTES = 256 << 20;
/** About this much per part: the threads end within one part's reading (~50 ms) of each other. */
const PART_BYTES = 32 << 20;
/** At least this many parts (small files read with --read.parallel on), at most that many. */
const MIN_PARTS = 4;
const MAX_PARTS = 64;
/**
 * Results (DNS frames, remote entries) the worker holds for this thread at most; a part that would take
 * more it hands back, and this thread reads it. Memory stays bounded whatever the file.
 */
const RESULT_BYTES = 32 << 20;
/** A worker that has read nothing for this long is taken for dead (its parts are read here). */
const STALLED_MS = 10_000;

type Counted = Extract<PartResult, { ok: true }>;

// beside this module: dist/count-worker.js (the bundle), dist/pipeline/parallel/count-worker.js (tsc's output)
const WORKER = new URL('./count-worker.js', import.meta.url);

/**
 * Reads capture files into a pipeline, in two threads where that is sure to count the same. Made
 * before the pipeline (at the command's start): the worker starts while the topology loads.
 */
export class ParallelReader {
  private worker: { thread: Worker; port: MessagePort } | undefined;
  /** Why files are read in one thread whatever they are; undefined: each file is looked at. */
  private readonly off: string | undefined;
  private jobs = 0;

  constructor(
    files: readonly string[],
    private readonly mode: ParallelMode,
  ) {
    this.off =
      mode === 'off'
        ? '--read.parallel off'
        : !moduleFileExists(WORKER)
          ? 'no worker module beside this one (running from source)'
          : mode === 'auto' && availableParallelism() < 2
            ? 'one core'
            : files.some((f) => this.sizeFits(f))
              ? undefined
              : mode === 'on'
                ? 'not a pcap or pcapng file'
                : `no pcap or pcapng file of ${PARALLEL_MIN_BYTES >> 20} MiB or more`;
    if (this.off !== undefined) return;
    const { port1, port2 } = new MessageChannel();
    const thread = new Worker(WORKER, { workerData: { port: port2 }, transferList: [port2] });
    thread.unref();
    thread.on('error', () => {}); // a job's failure is in its results, or the wait for them ends with none
    this.worker = { thread, port: port1 };
  }

  /** Whether a file is large enough to be read in two threads (any size with `on`): its size alone. */
  private largeEnough(path: string): boolean {
    if (this.mode === 'on') return true;
    try {
      return statSync(path).size >= PARALLEL_MIN_BYTES;
    } catch {
      return false; // readCaptureFile says what is wrong with it
    }
  }

  /** A file that can be read in two threads: large enough (looked at first: cheap), and a capture. */
  private sizeFits(path: string): boolean {
    return this.largeEnough(path) && peek(path) !== undefined;
  }

  /** readCaptureFile(path, pipeline), parts of the file counted by the worker where they can be. */
  read(path: string, pipeline: Pipeline): ReadResult {
    const large = this.largeEnough(path);
    const pcap = large ? peek(path) : undefined;
    const why =
      this.off ??
      (this.worker === undefined
        ? 'the worker was stopped'
        : !large
          ? `smaller than ${PARALLEL_MIN_BYTES >> 20} MiB`
          : pcap === undefined
            ? 'not a pcap or pcapng file'
            : pipeline.dedupe !== undefined
              ? 'duplicates are dropped in file order'
              : pipeline.engine.attributes
                ? 'bytes are attributed to workloads'
                : !pipeline.learnDnsInline
                  ? 'names are learned elsewhere'
                  : undefined);
    const bounds = pcap && why === undefined ? partBounds(path, pcap) : [];
    if (pcap === undefined || why !== undefined || bounds.length < 3 || this.worker === undefined) {
      if (this.mode !== 'off') log.debug(`${path}: read in one thread: ${why ?? 'no record starts found to cut it at'}`, { file: path });
      return readCaptureFile(path, pipeline);
    }
    const parts = bounds.length - 1;
    const control = new Int32Array(new SharedArrayBuffer(4 * (CONTROL.OWNER + parts)));
    // the first part is this thread's, the last the worker's: with `on` however late the worker starts (it
    // is one part), with `auto` unless this thread gets there first (a worker slow to start is not waited for)
    control[CONTROL.OWNER] = READER;
    control[CONTROL.OWNER + parts - 1] = this.mode === 'on' ? WORKER_OWNS : PROMISED;
    const job: CountJob = {
      id: ++this.jobs,
      path,
      format: pcap.format,
      bounds,
      compiled: pipeline.topology.compiled(),
      localIps: [...pipeline.localIps],
      usagePrices: pipeline.engine.usagePrices(),
      remoteTableSize: pipeline.remotes.capacity,
      resultBytes: RESULT_BYTES,
      control: control.buffer as SharedArrayBuffer,
    };
    this.worker.port.postMessage(job);
    let next = 1; // the part whose start this thread reaches next
    let took = false;
    let results: Map<number, PartResult> | string | undefined;
    const readOn = (reason: string | undefined): undefined => {
      if (reason !== undefined) log.debug(`${path}: the worker's parts (from byte ${bounds[next]}) are read in this thread: ${reason}`, { file: path });
      split.at = next + 1 < bounds.length - 1 && reason === undefined ? bounds[++next] : Infinity;
      return undefined;
    };
    const split: Split = {
      at: bounds[1],
      join: (offset) => {
        if (offset !== bounds[next]) return readOn(`the records before byte ${bounds[next]} end at ${offset}: not a record's start`);
        if (split.restructured) return readOn("a pcapng section or interface block after the first packet: the interfaces differ from the file's head");
        if (claim(control, next, READER)) return readOn(undefined);
        // the worker has this part, and every one after it: its results, once it has stopped
        results ??= this.results(control, job.id);
        if (typeof results === 'string') return readOn(results);
        // a part it handed back (too many remotes, or more DNS frames than it may hold) is this thread's
        if (claim(control, next, READER)) return readOn(undefined);
        const counted: Counted[] = [];
        for (let p = next; p < parts; p++) {
          const r = results.get(p);
          if (r === undefined) return readOn(`no result for part ${p}`);
          if (!r.ok) return readOn(r.why);
          counted.push(r);
        }
        if (!counted.every((r) => pipeline.engine.canMerge(r.counts.engine))) return readOn("its usage combinations are not this topology's");
        if (!pipeline.remotes.mergesWithoutFilling(counted.map((r) => r.counts.remotes))) return readOn('the remote table would have filled');
        // one thread splits a remote's bytes where an answer names its address anew: a part's cannot be
        if (pipeline.wouldRename(counted.flatMap((r) => dnsFramesOf(r)))) return readOn('an address is named anew within them');
        for (const r of counted) merge(pipeline, r);
        took = true;
        const sum = (f: (r: Counted) => number): number => counted.reduce((n, r) => n + f(r), 0);
        const frames = sum((r) => r.frames);
        log.debug(`${path}: read in two threads: parts ${next}–${parts - 1} of ${parts} (from byte ${bounds[next]}, ${frames} frames) by the worker`, {
          file: path,
          parts,
          worker_from: bounds[next],
          worker_frames: frames,
        });
        return { frames, corruptRecords: sum((r) => r.corruptRecords), corruptBytes: sum((r) => r.corruptBytes) };
      },
    };
    try {
      return readCaptureFile(path, pipeline, Infinity, Infinity, split);
    } finally {
      // what the worker handed back, and why
      if (results === undefined && this.worker !== undefined && Atomics.load(control, CONTROL.DONE) === 1) results = this.results(control, job.id);
      if (typeof results === 'object') {
        for (const r of results.values()) if (!r.ok && r.returned) log.debug(`${path}: part ${r.part} of ${parts} was read in this thread: ${r.why}`, { file: path });
      }
      // no part left to the worker; one it has and whose result was not taken: stop it, results and all
      Atomics.store(control, CONTROL.STOP, 1);
      let busy = false;
      for (let p = 1; p < parts; p++) busy = !claim(control, p, READER) || busy;
      if (busy && !took) this.close();
    }
  }

  /**
   * The worker's results, by part, once it has stopped claiming parts; why there are none if it stalls
   * (its thread died, say).
   */
  private results(control: Int32Array, job: number): Map<number, PartResult> | string {
    let reads = -1;
    while (Atomics.wait(control, CONTROL.DONE, 0, STALLED_MS) === 'timed-out') {
      const now = Atomics.load(control, CONTROL.READS);
      if (now === reads) {
        this.close();
        return `the worker read nothing for ${STALLED_MS / 1000} s`;
      }
      reads = now;
    }
    const got = new Map<number, PartResult>();
    for (let m = receiveMessageOnPort(this.worker!.port); m !== undefined; m = receiveMessageOnPort(this.worker!.port)) {
      const r = m.message as PartResult;
      if (r.job !== job) continue;
      if (r.part < 0) return r.ok ? 'a result of no part' : r.why;
      got.set(r.part, r);
    }
    return got;
  }

  /** Stop the worker (files are read in one thread from now on). */
  close(): void {
    if (this.worker === undefined) return;
    void this.worker.thread.terminate();
    this.worker.port.close();
    this.worker = undefined;
  }
}

type PartedFile = NonNullable<ReturnType<typeof peekCapture>>;

function peek(path: string): PartedFile | undefined {
  try {
    return peekCapture(path);
  } catch {
    return undefined; // readCaptureFile says what is wrong with it
  }
}

/** The file's first record of packets, record starts found near evenly spaced offsets past it, and its size. */
function partBounds(path: string, file: PartedFile): number[] {
  const parts = Math.min(MAX_PARTS, Math.max(MIN_PARTS, Math.ceil(file.size / PART_BYTES)));
  const bounds = [file.first];
  for (let i = 1; i < parts; i++) {
    const at = findRecordStart(path, file.format, Math.floor(file.first + ((file.size - file.first) * i) / parts));
    if (at !== undefined && at > bounds[bounds.length - 1] && at < file.size) bounds.push(at);
  }
  bounds.push(file.size);
  return bounds;
}

/** A part's DNS frames, in file order, each with the clock it had in one thread (the newest packet so far). */
function dnsFramesOf(r: Counted): { linkType: number; buf: Buffer; off: number; capLen: number; wireLen: number; now: number }[] {
  const d = r.dns;
  const buf = Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength);
  const out = [];
  for (let i = 0; i < d.count; i++) {
    const [off, capLen, wireLen, linkType, now] = d.meta.subarray(i * DNS_FIELDS, (i + 1) * DNS_FIELDS);
    out.push({ linkType, buf, off, capLen, wireLen, now });
  }
  return out;
}

/** Add a part's counts to the pipeline's, as if it had read the frames itself. */
function merge(pipeline: Pipeline, r: Counted): void {
  // names first
  for (const f of dnsFramesOf(r)) pipeline.dnsFrame(f.linkType, f.buf, f.off, f.capLen, f.wireLen, f.now);
  pipeline.mergeCounts(r.counts);
}
