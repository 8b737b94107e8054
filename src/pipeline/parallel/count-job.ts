// What the thread reading a file hands the worker that counts parts of it (parallel-read.ts), and what
// the worker hands back.
import type { PipelineCounts } from '../pipeline.js';
import type { CompiledTopology } from '../../topology/topology.js';
import type { PartFormat } from '../../sources/file-reader.js';

/**
 * The file in parts between record starts: the reading thread takes them from the front, the worker from
 * the back, each claiming a part before reading it, until they meet.
 */
export interface CountJob {
  /** Results carry it: one of an earlier job is not this one's. */
  id: number;
  path: string;
  format: PartFormat;
  /** Record starts: part i is [bounds[i], bounds[i + 1]); the last bound is the file's size when it was cut (the last part is read to the end). */
  bounds: number[];
  compiled: CompiledTopology;
  localIps: string[];
  /** $/GB of every usage type the topology's combinations name, as priced in this thread: the worker counts the same cost. */
  usagePrices: Record<string, number>;
  remoteTableSize: number;
  /**
   * Most bytes of results (DNS frames, remote entries) the worker holds for the reading thread; a part
   * that would take more is handed back (the reading thread reads it) and the worker claims no more.
   */
  resultBytes: number;
  /** Int32Array over it, see CONTROL. */
  control: SharedArrayBuffer;
}

/** Slots of a job's control array. */
export const CONTROL = {
  /** 1 once the worker has posted its last part's result. */
  DONE: 0,
  /** The worker's reads so far: it is alive. */
  READS: 1,
  /** Set by the reading thread: claim no more parts. */
  STOP: 2,
  /** Then one per part: who reads it (a part the worker gives up goes back to FREE). */
  OWNER: 3,
} as const;
export const FREE = 0;
export const READER = 1;
export const WORKER = 2;
/** The worker's unless the reading thread reaches it first (the last part, with --read.parallel auto). */
export const PROMISED = 3;

/**
 * Take a part for `who`: free, promised (whoever comes first), or given to `who` already. False: the
 * other thread has it.
 */
export function claim(control: Int32Array, part: number, who: typeof READER | typeof WORKER): boolean {
  const i = CONTROL.OWNER + part;
  const was = Atomics.compareExchange(control, i, FREE, who);
  if (was === PROMISED) return Atomics.compareExchange(control, i, PROMISED, who) === PROMISED;
  return was === FREE || was === who;
}

/** DNS frames in file order: their bytes, and per frame (offset, capLen, wireLen, link type, clock). */
export interface DnsFrames {
  data: Uint8Array;
  meta: Float64Array;
  count: number;
}

export const DNS_FIELDS = 5;

/** What the worker counted in one part. */
export type PartResult =
  | {
      ok: true;
      job: number;
      part: number;
      frames: number;
      corruptRecords: number;
      corruptBytes: number;
      counts: PipelineCounts;
      dns: DnsFrames;
    }
  /** returned: the worker handed the part back (FREE again) for the reading thread to read. */
  | { ok: false; job: number; part: number; why: string; returned?: boolean };
