// `analyze FILE...`: the offline pipeline over captures (pcap, pcapng) and VPC flow logs (text, gzip, Parquet, S3).
import { readCaptureFile } from '../sources/file-reader.js';
import { ParallelReader, type ParallelMode } from '../pipeline/parallel/parallel-read.js';
import { guessLocalIp } from '../sources/local-guess.js';
import { ConfigError } from '../config/errors.js';
import { Decoded } from '../decode/packet.js';
import { log } from '../config/log.js';
import { BUNDLED_IP_RANGES } from '../config/version.js';
import type { PodTimes } from '../attribution/pod-times.js';
import { buildReport, fmtRate, type CaptureSummary } from '../metrics/report.js';
import type { FrameSink } from '../sources/frame-sink.js';
import { Timeline } from '../metrics/timeline.js';
import { HOURS_PER_MONTH } from '../classify/prices.js';
import { defaultCacheDir } from '../topology/compiled-cache.js';
import { loadTopologyCached } from '../topology/load-cached.js';
import type { IpRanges } from '../topology/model.js';
import { FORMATS, type FormatName, type OutputFormat } from './analyze-formats.js';
import { assemble, priceBookOf, type CommonOptions, type Setup } from './assemble.js';
import { countFlowLogs, startReading } from './analyze-flow-logs.js';
import type { AthenaOptions } from '../sources/flow-logs/athena.js';

export interface AnalyzeOptions extends CommonOptions {
  localIp?: string[];
  /** `kubectl get pods -A -o json`: attribute bytes to the pods of the capturing host by address. */
  pods?: string[];
  format: FormatName;
  'ipRanges.url': string;
  'ipRanges.cache'?: string;
  /** Where compiled topologies are kept; 'none': not kept; undefined: the user's cache directory. */
  'cache.dir'?: string;
  /** Read pcap and pcapng files in two threads: auto (large files, given two cores), on, off. */
  'read.parallel'?: ParallelMode;
  /** A guard for CI: exit 1 when the bill lines' dollars per hour exceed this. */
  maxDollarsPerHour?: number;
  /** Flow-log objects and files whose key time is in this window (seconds since the epoch). */
  'flowLogs.since'?: number;
  'flowLogs.until'?: number;
  /** What reads flow logs: this program's parser, embedded DuckDB summing them first, or Athena summing the table. */
  'flowLogs.engine'?: 'stream' | 'duckdb' | 'athena';
  'athena.workgroup'?: string;
  'athena.database'?: string;
  'athena.table'?: string;
  'athena.output'?: string;
  'athena.dayColumn'?: string;
}

/** The Athena query's settings, from the flags. */
function athenaOptions(o: AnalyzeOptions): AthenaOptions | undefined {
  if (o['flowLogs.engine'] !== 'athena') return undefined;
  const day = o['athena.dayColumn'] ?? 'day';
  return { workgroup: o['athena.workgroup'] ?? 'primary', database: o['athena.database'] ?? 'default', table: o['athena.table']!, ...(o['athena.output'] ? { output: o['athena.output'] } : {}), ...(day ? { dayColumn: day } : {}) };
}

/** Remote table entries for flow logs, at least. */
const FLOW_LOG_REMOTES = 262_144;

/**
 * Without ip-ranges.json, S3, SQS and the EC2 public IPs of the region would be billed as internet: get
 * it as serve does (download, else the cache, else the package's own copy), and say which in the report.
 */
async function obtainIpRanges(o: AnalyzeOptions, caveats: string[]): Promise<IpRanges | undefined> {
  if (o['ipRanges.file']) return undefined;
  const url = o['ipRanges.url'];
  const cache = o['ipRanges.cache'];
  const { fetchIpRanges, describeCopy } = await import('../topology/ip-ranges.js');
  try {
    // the package's own copy last: offline, an older list is far better than none
    const got = await fetchIpRanges(url === 'none' ? undefined : url, cache, 10_000, BUNDLED_IP_RANGES);
    if (got.bundled) {
      const why = url === 'none' ? '--ip-ranges.url none' : `no download from ${url}`;
      caveats.push(`ip-ranges.json is the package's own copy ${describeCopy(got.ranges, `${why}${cache ? `, no copy in ${cache}` : ''}`)}: addresses AWS added since are counted as internet; give --ip-ranges.file for the current one`);
      log.warn(`WARNING: ${caveats[caveats.length - 1]}`);
    } else log.info(got.fromCache ? `ip-ranges.json from the cache ${cache}` : `ip-ranges.json downloaded from ${url}`, { prefixes: got.ranges.prefixes.length });
    return got.ranges;
  } catch (e) {
    caveats.push(
      `no ip-ranges.json (${(e as Error).message}): AWS services (S3, SQS, ...), EC2 public IPs of the region and other regions are all counted as internet: give --ip-ranges.file (AWS publishes it at https://ip-ranges.amazonaws.com/ip-ranges.json)`,
    );
    log.warn(`WARNING: ${caveats[caveats.length - 1]}`);
    return undefined;
  }
}

/**
 * Attribute by address to the pods of the capturing host (the file lists every pod of the cluster):
 * their addresses become local. Returns the local addresses with theirs. Says what it cannot do: pods
 * on the host network share the host's addresses, and analyze has no processes to tell them apart.
 */
async function attributePods(files: readonly string[], local: string[], s: Setup, topK: number): Promise<{ local: string[]; times?: PodTimes }> {
  const { loadPodsFiles, podsOfHost } = await import('../attribution/pods-file.js');
  const { Attribution } = await import('../attribution/attribution.js');
  const { PodTimes } = await import('../attribution/pod-times.js');
  const file = files.join(', ');
  const all = await loadPodsFiles(files);
  const mine = podsOfHost(all, local);
  const attribution = new Attribution(s.pipeline.engine, { processes: false });
  s.metrics.attributeWorkloads(attribution.workloads, topK);
  const hostNetwork = mine.filter((p) => p.hostNetwork);
  if (mine.length === 0) {
    log.warn(`${file}: none of its ${all.length} pods runs on this host (${local.join(', ')}): no bytes are attributed to pods; pass --local-ip with the node's address`, { pods: all.length });
  } else {
    log.info(`${file}: ${mine.length} of ${all.length} pods run on this host; bytes are attributed by their addresses`, { pods: mine.length });
  }
  if (hostNetwork.length > 0) {
    log.warn(
      `${hostNetwork.length} host-network pod(s) (${hostNetwork.slice(0, 5).map((p) => `${p.namespace}/${p.name}`).join(', ')}${hostNetwork.length > 5 ? ', ...' : ''}) share the host's addresses: analyze has no processes to tell them apart, so the host's own bytes are workload_kind="unknown"`,
      { pods: hostNetwork.length },
    );
  }
  // every pod address is the host's for the whole capture; whose it is changes with time
  const withPods = [...new Set([...local, ...mine.flatMap((p) => p.ips)])];
  const times = new PodTimes(s.pipeline, mine, (holding) => {
    attribution.setPods(holding);
    s.pipeline.setLocalIps(withPods);
  });
  if (!times.reused) {
    attribution.setPods(mine);
    return { local: withPods };
  }
  log.info(`${file}: addresses held by more than one pod over time: each packet's bytes go to the pod that held its address then`, {});
  return { local: withPods, times };
}

/** Runs the analysis; resolves to the exit code: 1 when a file could not be read to its end. */
export async function analyze(files: string[], o: AnalyzeOptions, out: (s: string) => void): Promise<number> {
  // the second thread starts while the topology loads; the HTML report's timeline takes every frame in
  // file order, and bytes attributed to pods are counted in one thread
  const format: OutputFormat = FORMATS[o.format];
  // what each file is, by its content: captures, flow logs (text, gzip, Parquet), folders of them, S3
  const { expandInputs } = await import('../sources/flow-logs/inputs.js');
  const skipped: string[] = [];
  const given = expandInputs(files, (path, why) => {
    skipped.push(`${path}: ${why}`);
    log.warn(`${path}: skipped: ${why}`, { file: path });
  });
  const captures = given.flatMap((i) => (i.kind === 'capture' ? [i.path] : []));
  const flowLogs = given.filter((i) => i.kind !== 'capture');
  const engine = o['flowLogs.engine'] ?? 'stream';
  // Athena reads the table of the flow-log bucket: the flow logs are there, not in files
  const fromAthena = engine === 'athena';
  if (fromAthena && flowLogs.length > 0) throw new ConfigError('--flow-logs.engine athena reads the table --athena.table names, not files: give no flow-log file with it');
  if (fromAthena && !o['athena.table']) throw new ConfigError('--flow-logs.engine athena: --athena.table names the table of the flow logs (see docs/flow-logs.md for its CREATE EXTERNAL TABLE)');
  if (files.length === 0 && !fromAthena) throw new ConfigError('analyze: give capture or flow-log files, folders or s3://BUCKET/PREFIX (or --flow-logs.engine athena)');
  if (captures.length === 0 && flowLogs.length === 0 && !fromAthena) throw new ConfigError(`${files.join(' ')}: no capture or flow-log file in it`);
  const readsFlowLogs = flowLogs.length > 0 || fromAthena;
  const reader = new ParallelReader(captures, format.timeline || o.pods ? 'off' : (o['read.parallel'] ?? 'auto'));
  const window = { since: o['flowLogs.since'], until: o['flowLogs.until'] };
  const thread = engine === 'stream' ? await startReading(flowLogs, window, o['read.parallel'] ?? 'auto') : undefined;
  // every named file is checked before anything is downloaded or said
  const inputs = { topologyFile: o['topology.file'], ipRangesFile: o['ipRanges.file'] };
  const cacheDir = o['cache.dir'] === 'none' ? undefined : o['cache.dir'] || defaultCacheDir();
  const loadedFromFiles = await loadTopologyCached(inputs, cacheDir);
  const priceBook = await priceBookOf(o['prices.file']);
  // a VPC's flow logs name far more remotes than one host's capture: a table that holds them all between
  // drains (each drain ranks every entry it holds; 262,144 entries take ~25 MB)
  const counting = readsFlowLogs ? { ...o, 'remote.tableSize': Math.max(o['remote.tableSize'], FLOW_LOG_REMOTES) } : o;
  let setup = assemble(loadedFromFiles, priceBook, counting, false);
  for (const file of captures) readCaptureFile(file, setup.pipeline, 0);
  const caveats: string[] = [];
  const ipRanges = await obtainIpRanges(o, caveats);
  if (ipRanges) setup = assemble((await import('../topology/load.js')).loadTopology({ ...inputs, ipRanges }), priceBook, counting, false);
  const { loaded, pipeline, metrics } = setup;
  let local = o.localIp ?? [];
  // a flow log's records say which interface logged them: the host's own addresses are a capture's question
  if (local.length === 0 && captures.length > 0) local = loaded.topology.localIps;
  if (local.length === 0 && captures.length > 0) {
    const guess = guessLocalIp(captures);
    if (!guess) throw new ConfigError(`${files.join(' ')}: no IP packets found to tell which host captured them; pass --local-ip`);
    const share = ((100 * guess.packets) / guess.sampled).toFixed(1);
    caveats.push(`no --local-ip and no local_ips in the topology: this host is taken to be ${guess.ip} (in ${share}% of the first ${guess.sampled} IP packets); pass --local-ip to override`);
    log.warn(caveats[caveats.length - 1], { local_ip: guess.ip });
    local = [guess.ip];
  }
  let podTimes: PodTimes | undefined;
  // with flow logs, pods are named by their addresses on the logged interfaces (countFlowLogs)
  if (o.pods && !readsFlowLogs) ({ local, times: podTimes } = await attributePods(o.pods, local, setup, o['workload.topK'] ?? 100));
  pipeline.setLocalIps(local);
  // with addresses that change hands, frames pass through the pods' times on their way in
  const sink: FrameSink = podTimes ?? pipeline;
  // every remote ranks over the whole capture, whatever order it comes in
  metrics.accumulateRemotes();
  // a remote's name is the one its address had when the bytes flowed (an address named anew first hands
  // what it counted over under the old name)
  pipeline.onRename = () => metrics.takeRemotes();
  const started = process.hrtime.bigint();
  let frames = 0;
  let exitCode = 0;
  const problems: CaptureSummary['problems'] = [];
  // a format that charts bytes over the capture's time: a sink in front of the pipeline marks them
  const timeline = format.timeline ? new Timeline(sink, (out) => pipeline.engine.categoryBytes(out)) : undefined;
  for (const file of captures) {
    const res = timeline || podTimes ? readCaptureFile(file, timeline ?? sink) : reader.read(file, pipeline);
    frames += res.frames;
    if (res.corruptRecords > 0) {
      pipeline.decodeErrors[Decoded.CORRUPT_RECORD] += res.corruptRecords;
      problems.push({ file, skipped_records: res.corruptRecords, skipped_bytes: res.corruptBytes });
      log.warn(`${file}: ${res.corruptRecords} corrupt record(s), ${res.corruptBytes} bytes, were skipped; reading went on`, { file });
    }
    if (res.stopped) {
      pipeline.decodeErrors[Decoded.CORRUPT_RECORD]++;
      exitCode = 1;
      const s = res.stopped;
      problems.push({ file, stopped_at_offset: s.offset, unread_bytes: s.bytes, reason: s.reason });
      log.error(`${file}: read ${res.frames} frames, then stopped at byte ${s.offset}: ${s.reason}; the last ${s.bytes} bytes of the file were not read`, {
        file,
        offset: s.offset,
        unread_bytes: s.bytes,
      });
    }
  }
  reader.close();
  let flowLogsRead: CaptureSummary['flow_logs'];
  if (readsFlowLogs) {
    const pods = o.pods ? await (await import('../attribution/pods-file.js')).loadPodsFiles(o.pods) : [];
    const got = await countFlowLogs(flowLogs, setup, { topK: o['workload.topK'] ?? 100, window, pods, thread, engine, athena: athenaOptions(o), alsoCaptures: captures.length > 0 }, timeline, { caveats, problems });
    exitCode = Math.max(exitCode, got.exitCode);
    flowLogsRead = got.read;
  }
  if (skipped.length > 0) caveats.push(`${skipped.length} file(s) in the folders given are neither captures nor flow logs, and were skipped: ${skipped.slice(0, 3).join('; ')}${skipped.length > 3 ? '; …' : ''}`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  log.debug(`read and counted ${frames} frames in ${seconds.toFixed(3)} s`, { frames, seconds, frames_per_second: Math.round(frames / seconds) });
  if (pipeline.decode.renamesMerged > 0) {
    caveats.push(`${pipeline.decode.renamesMerged} time(s) an address was named anew within 100 ms of another renaming (addresses shared by CDNs, S3, load balancers): the bytes of those moments are under the newer name`);
  }
  // a month projected from seconds of traffic multiplies whatever those seconds held a million times
  const span = pipeline.now - pipeline.first;
  if (span > 0 && span < 3600) {
    const times = Math.round((HOURS_PER_MONTH * 3600) / span);
    const what = captures.length > 0 ? 'the capture spans' : 'the flow logs span';
    caveats.push(`${what} only ${span < 60 ? `${span.toFixed(1)} s` : `${(span / 60).toFixed(1)} min`}: its dollars per hour and per month are that window's rate, multiplied ${times.toLocaleString('en-US')} times for a month; ${captures.length > 0 ? 'capture' : 'read'} an hour or more (or use serve) before budgeting from it`);
  }
  if (loaded.regionSource === 'default') caveats.push(`no region in a topology file and no AWS_REGION: ${loaded.topology.region} assumed, for its prices and for what is "in the region"`);
  const capture: CaptureSummary = {
    first_packet_time: Number.isFinite(pipeline.first) ? new Date(pipeline.first * 1000).toISOString() : null,
    last_packet_time: pipeline.now > 0 ? new Date(pipeline.now * 1000).toISOString() : null,
    duration_seconds: Number.isFinite(pipeline.first) && pipeline.now > pipeline.first ? pipeline.now - pipeline.first : null,
    caveats,
    problems,
    ...(flowLogsRead ? { flow_logs: flowLogsRead } : {}),
  };
  // cheaper paths at the capture's own rate, as its dollars per hour are
  metrics.savings.over(capture.duration_seconds);
  out(await format.render({ files, local, topology: loaded.topology, metrics, capture, chart: timeline?.chart() }));
  const limit = o.maxDollarsPerHour;
  if (limit !== undefined) {
    const rate = (await buildReport(metrics, capture)).capture?.dollars_per_hour ?? null;
    if (rate === null) throw new ConfigError(`--max-dollars-per-hour: ${files.join(' ')} carries no packet times: no rate per hour to compare`);
    if (rate > limit) {
      log.error(`--max-dollars-per-hour ${limit}: the capture's bill lines cost $${fmtRate(rate)} per hour, more than allowed`, { dollars_per_hour: rate, limit });
      return Math.max(exitCode, 1);
    }
  }
  return exitCode;
}
