// What the thread reading a file hands a worker counting the rest of it (parallel-read.ts), and what
// the worker hands back.
import type { EngineCounts } from '../engine/engine.js';
import type { RemoteEntries } from '../engine/remote-table.js';
import type { CompiledTopology } from '../topology/topology.js';
import type { PcapHeader, ReadResult } from './file-reader.js';

export interface CountJob {
  path: string;
  header: PcapHeader;
  /** A record's start: this worker reads from here to the end. */
  from: number;
  compiled: CompiledTopology;
  localIps: string[];
  remoteTableSize: number;
  /** Most bytes of DNS frames kept; more, and the share is given up (the main thread reads it). */
  dnsBytes: number;
  /** Int32Array over it: [0] is 1 once the result is posted; [1] counts the worker's reads (it is alive). */
  done: SharedArrayBuffer;
}

/** DNS frames in file order: their bytes, and per frame (offset, capLen, wireLen, link type, clock). */
export interface DnsFrames {
  data: Uint8Array;
  meta: Float64Array;
  count: number;
}

export const DNS_FIELDS = 5;

export type CountResult =
  | {
      ok: true;
      frames: number;
      stopped: ReadResult['stopped'];
      counts: EngineCounts;
      remotes: RemoteEntries;
      decodeErrors: Float64Array;
      nonIp: number;
      now: number;
      first: number;
      dns: DnsFrames;
    }
  | { ok: false; why: string };

