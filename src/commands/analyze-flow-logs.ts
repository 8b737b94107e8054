// analyze's flow-log inputs: read into the engine through the record counter, each object's troubles
// named in the report, and what the records could not say said beside the figures.
import type { PodInfo } from '../attribution/pods.js';
import { availableParallelism } from 'node:os';
import { Workloads } from '../attribution/workloads.js';
import { log } from '../config/log.js';
import type { CaptureSummary } from '../metrics/report.js';
import type { Timeline } from '../metrics/timeline.js';
import { PATH_NAMES } from '../classify/bill.js';
import { FlowRecordCounter, TRAFFIC_PATH_NAMES } from '../pipeline/flow-records.js';
import type { Input } from '../sources/flow-logs/inputs.js';
import type { FlowLogRead, RecordSink } from '../sources/flow-logs/read.js';
import type { FlowLogThread } from '../sources/flow-logs/threaded.js';
import type { AthenaOptions } from '../sources/flow-logs/athena.js';
import type { FlowRecord, InterfaceIds } from '../sources/flow-logs/record.js';
import type { FlowLogWindow } from '../sources/flow-logs/read-all.js';
import type { Setup } from './assemble.js';

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(bytes < 1e7 ? 6 : 3)} GB`;

/** Reading threads at most: one counting thread takes records ~3× as fast as one thread reads and parses them. */
const READERS = 4;

/** Count the flow logs into the summary; resolves to the exit code (1: an object or file could not be read to its end) and what was read. */
export interface FlowLogOptions {
  /** Workload series kept. */
  topK: number;
  window: FlowLogWindow;
  /** Pods of the cluster (--pods files): their addresses name them. */
  pods: readonly PodInfo[];
  /** The thread reading and parsing them while this one counts (started early); none: read here. */
  thread?: FlowLogThread;
  /** stream: record by record; duckdb: summed by embedded DuckDB first; athena: summed by Athena over the table. */
  engine?: 'stream' | 'duckdb' | 'athena';
  athena?: AthenaOptions;
  /** Captures were read too: aztraffic_build_info keeps source="capture". */
  alsoCaptures?: boolean;
}

/**
 * Read and parse flow logs in other threads, one per core up to READERS (parallel: auto, given two
 * cores; on; off), started now: they parse while the topology loads.
 */
export async function startReading(inputs: readonly Input[], window: FlowLogWindow, parallel: 'auto' | 'on' | 'off'): Promise<FlowLogThread | undefined> {
  if (inputs.length === 0 || parallel === 'off') return undefined;
  const { startFlowLogThread, threadAvailable } = await import('../sources/flow-logs/threaded.js');
  const cores = availableParallelism();
  if (!threadAvailable() || (parallel === 'auto' && cores < 2)) return undefined;
  const threads = Math.min(cores, READERS, inputs.length);
  log.debug(`flow logs: read in ${threads} thread(s) beside the counting one`, { threads });
  return startFlowLogThread(inputs, window, threads);
}

export async function countFlowLogs(inputs: Input[], s: Setup, o: FlowLogOptions, timeline: Timeline | undefined, summary: Pick<CaptureSummary, 'caveats' | 'problems'>): Promise<{ exitCode: number; read: NonNullable<CaptureSummary['flow_logs']> }> {
  const { caveats, problems } = summary;
  const { readFlowLogs } = await import('../sources/flow-logs/read-all.js');
  // the same records in the same order either way: a second thread parses while this one counts
  const thread = o.thread;
  type Read = (i: Input[], sink: RecordSink, ids: InterfaceIds, w: FlowLogWindow, done: (r: FlowLogRead) => void) => Promise<unknown>;
  let read: Read = thread ? (_i, sink, ids, _w, done) => thread.consume(sink, ids, done) : readFlowLogs;
  if (o.engine === 'duckdb') {
    const { readWithDuckdb, localInputs } = await import('../sources/flow-logs/duckdb.js');
    // a chart over time needs the sums per hour
    read = async (i, sink, ids, w, done) => readWithDuckdb(await localInputs(i, w), sink, ids, done, { hourly: timeline !== undefined });
  }
  if (o.engine === 'athena') {
    const { readWithAthena } = await import('../sources/flow-logs/athena.js');
    read = async (_i, sink, ids, w, done) => {
      const q = await readWithAthena(o.athena!, w, sink, ids, done, timeline !== undefined);
      log.info(`athena: query ${q.id} scanned ${q.scannedBytes} bytes`, { query: q.id, scanned_bytes: q.scannedBytes });
      caveats.push(`summed by Athena (query ${q.id}), which scanned ${gb(q.scannedBytes)} ($${((q.scannedBytes / 1e12) * 5).toFixed(4)} at $5 per TB scanned)`);
    };
  }
  const workloads = new Workloads();
  s.metrics.attributeWorkloads(workloads, o.topK);
  s.pipeline.engine.attribute(new Map());
  const counter = new FlowRecordCounter(s.pipeline, workloads, o.pods);
  const sink = timeline
    ? (r: FlowRecord): void => {
        timeline.tick(r.end);
        counter.count(r);
      }
    : counter.count;
  let exitCode = 0;
  const family = s.metrics.flowLogs(false, o.alsoCaptures);
  const all = { objects: 0, records: 0, nodata: 0, skipdata: 0, rejected: 0, rejectedBytes: 0, malformed: 0 };
  await read(inputs, sink, counter.ids, o.window, (r: FlowLogRead) => {
    all.objects++;
    all.records += r.records;
    all.nodata += r.nodata;
    all.skipdata += r.skipdata;
    all.rejected += r.rejected;
    all.rejectedBytes += r.rejectedBytes;
    all.malformed += r.malformed;
    // an object not read at all failed; one that stopped part way was counted up to there
    if (r.stopped !== undefined && r.stopped.line <= 0 && r.records === 0) family.failed();
    else family.note({ ...r, stopped: r.stopped !== undefined });
    if (r.malformed > 0) {
      problems.push({ file: r.name, malformed_lines: r.malformed, reason: r.examples.join('; ') });
      log.warn(`${r.name}: ${r.malformed} malformed line(s) not counted (${r.examples.join('; ')}); the rest were counted`, { file: r.name, malformed: r.malformed });
    }
    if (r.stopped) {
      exitCode = 1;
      // a SQL engine's sums are on the first file's read: another's says only where it stopped
      const where = r.stopped.line <= 0 ? 'not read' : r.records > 0 || (o.engine ?? 'stream') === 'stream' ? `read ${r.records} records, then stopped at line ${r.stopped.line}` : `stopped at line ${r.stopped.line}`;
      problems.push({ file: r.name, reason: `${where}: ${r.stopped.reason}` });
      log.error(`${r.name}: ${where}: ${r.stopped.reason}`, { file: r.name });
    }
  });
  counter.finish();
  const st = counter.stats;
  log.info(`flow logs: ${all.records} records of ${all.objects} object(s) counted`, { records: all.records, objects: all.objects, interfaces: counter.ids.size });
  if (all.nodata + all.skipdata > 0) caveats.push(`${all.nodata} NODATA and ${all.skipdata} SKIPDATA record(s)${all.skipdata > 0 ? ': SKIPDATA means AWS could not log some flows of those intervals, so their bytes are missing here' : ' (intervals without traffic)'}`);
  if (all.rejected > 0) caveats.push(`${all.rejected} REJECT record(s), ${gb(all.rejectedBytes)}: dropped by a security group or network ACL at the interface, not counted (a capture on the host would not see them either)`);
  if (st.filledInBytes > 0) caveats.push(`${gb(st.filledInBytes)} counted from NAT gateway, endpoint or load balancer interfaces for hosts whose own interface is not in the logs`);
  if (st.seenOnHostBytes > 0) caveats.push(`${gb(st.seenOnHostBytes)} seen on NAT gateway, endpoint or load balancer interfaces were counted once, on their host's own interface`);
  if (st.outerLegBytes > 0) caveats.push(`${gb(st.outerLegBytes)} on the far side of NAT gateways, endpoints and load balancers (the same bytes as their side to a host, or a load balancer's to its clients) are not counted: no host carries them`);
  if (st.natWithoutPktBytes > 0) caveats.push(`${gb(st.natWithoutPktBytes)} of NAT gateway records were not counted: the log format lacks pkt-srcaddr and pkt-dstaddr, so the remote behind the gateway is unknown (add them to the format)`);
  if (st.directionUnknownBytes > 0) caveats.push(`${st.directionUnknown} record(s), ${gb(st.directionUnknownBytes)}, not counted: without flow-direction, neither address was their interface's (add flow-direction to the format, or the interfaces to the topology with discover)`);
  for (const d of [...counter.disagreements.values()].sort((a, b) => b.bytes - a.bytes).slice(0, 3)) {
    caveats.push(`${d.records} egress record(s), ${gb(d.bytes)}, logged with traffic-path ${d.trafficPath} (${TRAFFIC_PATH_NAMES[d.trafficPath]}) are on path ${PATH_NAMES[d.path]} by the topology's route tables: is the topology file older than the routes? (discover writes the current one)`);
  }
  if (st.fillInsFullBytes > 0) caveats.push(`${gb(st.fillInsFullBytes)} of path-interface records were not summed: more than a million host and remote pairs`);
  return { exitCode, read: { objects: all.objects, records: all.records } };
}
