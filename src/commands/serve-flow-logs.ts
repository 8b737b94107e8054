// `serve --flow-logs.url`: the agentless exporter. No capture: it polls a bucket (or a folder) for new
// flow-log objects, counts each exactly once through the same engine as analyze, and serves the same
// metric families and page. After each object its cursor and its counters' values are written to the
// state file at once (atomically): a restart, or a kill in the middle of an object, goes on from the last
// object written, and the exposition only ever shows whole objects, so Prometheus sees no reset.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Workloads } from '../attribution/workloads.js';
import { ConfigError } from '../config/errors.js';
import { parseListenAddress } from '../config/listen-address.js';
import { log } from '../config/log.js';
import { releaseStartUpMemory } from '../config/settle.js';
import { VERSION } from '../config/version.js';
import type { FlowLogsFamily } from '../metrics/families/flow-logs.js';
import { counterValues, restoreCounters, type CounterValues } from '../metrics/persist.js';
import { FlowRecordCounter, type LoggedHosts } from '../pipeline/flow-records.js';
import { Follower, type FollowState, type Pending } from '../sources/flow-logs/follow.js';
import { readFlowLogBytes, unread } from '../sources/flow-logs/read-all.js';
import type { FlowLogRead } from '../sources/flow-logs/read.js';
import type { FlowRecord } from '../sources/flow-logs/record.js';
import { objectStore } from '../sources/flow-logs/store.js';
import type { TopologyManager } from '../topology/manager.js';
import { ipv4ToString, parseCidr } from '../net/ip.js';
import type { Running } from './serve.js';
import type { ServeOptions } from './serve.js';
import { readFiles, setUpBeforeFiles, topologyManager } from './setup.js';

export interface FlowLogServeOptions {
  'flowLogs.url': string;
  'flowLogs.state'?: string;
  'flowLogs.pollInterval': number;
  /** Seconds since the epoch: a first start counts objects from this time on. */
  'flowLogs.since': number;
}

/** The page's "now": three deliveries (records arrive every 5–10 minutes). */
const NOW_MS = 15 * 60_000;

interface State {
  format: 'aztraffic-flow-logs-state';
  version: 1;
  url: string;
  exporter: string;
  saved_at: string;
  follow: FollowState;
  counters: CounterValues;
  /** Hosts whose own interface was logged: records of path interfaces are never counted for them. */
  logged: { v4: string[]; v6: string[] };
  /** Each interface's own addresses as the logs taught them: later records without flow-direction find their side. */
  own: Record<string, string[]>;
  newest_record_end: number;
  objects: number;
  records: number;
}

function readState(path: string, url: string): State | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`--flow-logs.state ${path}: ${(e as Error).message}`);
  }
  let s: State;
  try {
    s = JSON.parse(text) as State;
  } catch (e) {
    throw new ConfigError(`--flow-logs.state ${path}: not JSON (${(e as Error).message}); remove it to start over`);
  }
  if (s?.format !== 'aztraffic-flow-logs-state' || s.version !== 1 || typeof s.follow !== 'object' || typeof s.counters !== 'object') {
    throw new ConfigError(`--flow-logs.state ${path}: not a state file of this exporter; remove it to start over`);
  }
  if (s.url !== url) throw new ConfigError(`--flow-logs.state ${path}: the state of ${s.url}, not of ${url}; give that URL, or another state file`);
  return s;
}

/** Written whole or not at all: a temporary file beside it, flushed to disk, then renamed over it. */
function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // the rename itself survives a power loss once the folder is on disk
  try {
    const d = openSync(dirname(path), 'r');
    fsyncSync(d);
    closeSync(d);
  } catch {
    // some file systems cannot sync a folder; the rename is still atomic
  }
}

export async function serveFlowLogs(o: ServeOptions & FlowLogServeOptions): Promise<Running> {
  const url = o['flowLogs.url'];
  const addr = parseListenAddress(o['web.listenAddress']);
  const store = objectStore(url);
  const statePath = o['flowLogs.state'];
  const state = statePath ? readState(statePath, url) : undefined;
  if (statePath) {
    // a state file that cannot be written would lose the cursor at the first restart: said now
    try {
      writeAtomically(`${statePath}.check`, '');
      unlinkSync(`${statePath}.check`);
    } catch (e) {
      throw new ConfigError(`--flow-logs.state ${statePath}: cannot be written (${(e as Error).message})`);
    }
  }
  const { WebSecurity, serveApp } = await import('../web/app.js');
  const { CostHistory } = await import('../web/summary.js');
  const security = await WebSecurity.load(o['web.config.file'], log);
  // one object's remotes between two flushes, as a capture's between two: --remote.table-size (65,536)
  // pairs, the rest under remote="other"; a bigger table costs ~300 bytes a pair at each flush
  const s = await setUpBeforeFiles(o, true);
  const { pipeline, metrics } = s;
  const family: FlowLogsFamily = metrics.flowLogs(true);
  const workloads = new Workloads();
  metrics.attributeWorkloads(workloads, o['workload.topK'] ?? 100);
  pipeline.engine.attribute(new Map());
  // scrapes see what was counted of whole objects: the values the state file keeps
  metrics.pauseFlushes(true);

  const logged: LoggedHosts = { v4: new Set(), v6: new Set() };
  let own: Record<string, string[]> = {};
  const totals = { objects: 0, records: 0 };
  if (state) {
    const r = restoreCounters(metrics.registry, state.counters);
    for (const ip of state.logged?.v4 ?? []) logged.v4.add(Number(parseCidr(ip).start));
    for (const ip of state.logged?.v6 ?? []) logged.v6.add(ip);
    own = state.own ?? {};
    family.newestEnd = state.newest_record_end ?? 0;
    totals.objects = state.objects ?? 0;
    totals.records = state.records ?? 0;
    log.info(`resuming from ${statePath} (saved ${state.saved_at}): ${totals.objects} object(s), ${r.series} series restored`, { objects: totals.objects, series: r.series });
    if (r.unknown.length > 0) log.warn(`${statePath}: counters of an older version not restored: ${r.unknown.join(', ')}`, {});
  }
  const follower = new Follower(store, o['flowLogs.since'], state?.follow);

  let manager: TopologyManager | undefined;
  let polled = false;
  const title = `Flow logs of ${url}`;
  const history = new CostHistory(metrics, { title, captureKind: 'live', topology: () => metrics.topologyInForce, nowMs: NOW_MS, flowLogs: () => ({ ...totals, newest_record_end: family.newestEnd, url }) });
  const web = await serveApp(
    {
      metrics,
      telemetryPath: o['web.telemetryPath'],
      // ready once the topology is in force and the location has answered a first listing
      isReady: () => polled && manager !== undefined && manager.loaded && manager.neverAnswered().length === 0,
      title,
      history,
    },
    security,
    addr,
  );
  await history.start();
  try {
    await readFiles(o, s);
  } catch (e) {
    await web.close();
    throw e;
  }
  const topology = (manager = topologyManager(o, s));
  log.info(`serving metrics on ${web.url}${o['web.telemetryPath']}; flow logs from ${url}`, { url: web.url, flow_logs: url });
  // counting waits for the first answer of every topology source: records are classified once, with it
  await topology.start();
  // start-up's garbage given back once the first topology is in force, before the first object: the
  // peak is then start-up's or an object's, not both
  const released = releaseStartUpMemory();
  if (released !== undefined) log.debug(`start-up memory released in ${released.toFixed(1)} ms`, {});

  const save = async (): Promise<void> => {
    if (!statePath) return;
    const st: State = {
      format: 'aztraffic-flow-logs-state',
      version: 1,
      url,
      exporter: VERSION,
      saved_at: new Date().toISOString(),
      follow: follower.state(),
      counters: await counterValues(metrics.registry),
      logged: { v4: [...logged.v4].map(ipv4ToString), v6: [...logged.v6] },
      own,
      newest_record_end: family.newestEnd,
      ...totals,
    };
    writeAtomically(statePath, JSON.stringify(st));
  };

  /** One object: fetched whole (a failed fetch counts nothing), counted, flushed, and written down. */
  const countObject = async (p: Pending): Promise<void> => {
    const name = store.name(p.key);
    let body: Buffer | undefined;
    log.debug(`${name}: reading`, { object: name });
    try {
      body = await store.get(p.key);
    } catch (e) {
      family.pollFailed();
      follower.failed(p.key);
      const why = store.why(e);
      if (!p.lastAttempt) {
        log.warn(`${name}: could not be read (${why}); trying again at the next poll`, { object: name });
        return;
      }
      log.error(`${name}: could not be read at any of its attempts (${why}); not counted`, { object: name });
      family.failed();
      follower.done(p.key);
      await save();
      return;
    }
    // a counter per object (it reads the topology in force), taught what the objects before taught
    const counter = new FlowRecordCounter(pipeline, workloads, [], logged);
    counter.teach(own);
    const sink = (r: FlowRecord): void => {
      family.seen(r.end);
      counter.count(r);
    };
    let read: FlowLogRead;
    try {
      read = await readFlowLogBytes(name, body, sink, counter.ids);
    } catch (e) {
      read = unread(name, (e as Error).message);
    }
    // the object's bytes are garbage before the flush makes its own (the peak is one or the other)
    body = undefined;
    counter.finish();
    own = counter.ownAddresses();
    noteObject(read, counter);
    totals.objects++;
    totals.records += read.records;
    family.note({ ...read, stopped: read.stopped !== undefined });
    metrics.flush(true);
    follower.done(p.key);
    await save();
  };

  const noteObject = (r: FlowLogRead, counter: FlowRecordCounter): void => {
    if (r.malformed > 0) log.warn(`${r.name}: ${r.malformed} malformed line(s) not counted (${r.examples.join('; ')}); the rest were counted`, { object: r.name, malformed: r.malformed });
    if (r.stopped) log.error(`${r.name}: read ${r.records} records, then stopped at line ${r.stopped.line}: ${r.stopped.reason}`, { object: r.name });
    const st = counter.stats;
    if (st.directionUnknownBytes > 0) log.warn(`${r.name}: ${st.directionUnknown} record(s), ${st.directionUnknownBytes} bytes, not counted: without flow-direction, neither address was their interface's (add flow-direction to the format, or the interfaces to the topology with discover)`, { object: r.name });
    if (st.natWithoutPktBytes > 0) log.warn(`${r.name}: ${st.natWithoutPktBytes} bytes of NAT gateway records not counted: the log format lacks pkt-srcaddr and pkt-dstaddr`, { object: r.name });
    const mem = process.memoryUsage();
    log.debug(`${r.name}: ${r.records} records counted`, { object: r.name, records: r.records, nodata: r.nodata, rejected: r.rejected, rss_mb: Math.round(mem.rss / 1e6), heap_mb: Math.round(mem.heapUsed / 1e6), buffers_mb: Math.round(mem.arrayBuffers / 1e6) });
  };

  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  let current: Promise<void> = Promise.resolve();
  const poll = async (): Promise<void> => {
    let pending: Pending[];
    try {
      pending = await follower.pending();
    } catch (e) {
      family.pollFailed();
      log.error(`${url}: the objects could not be listed (${store.why(e)}); trying again in ${o['flowLogs.pollInterval'] / 1000} s`, { url });
      return;
    }
    if (!polled) log.info(`${url}: ${follower.streamCount} log folder(s), ${pending.length} object(s) to count`, { streams: follower.streamCount, objects: pending.length });
    polled = true;
    const before = totals.objects;
    for (const p of pending) {
      if (stopping) break;
      await countObject(p);
    }
    if (totals.objects > before) log.info(`${totals.objects - before} flow-log object(s) counted; newest record ${family.newestEnd > 0 ? `${Math.round(Date.now() / 1000 - family.newestEnd)} s old` : 'none yet'}`, { objects: totals.objects - before });
  };
  const loop = (): void => {
    current = poll().finally(() => {
      if (!stopping) timer = setTimeout(loop, o['flowLogs.pollInterval']);
    });
  };
  loop();

  return {
    url: web.url,
    reload: () => web.reload(),
    async stop() {
      stopping = true;
      clearTimeout(timer);
      // the object being counted is finished and written down: nothing to count again at the next start
      await current;
      topology.stop();
      history.stop();
      const grace = o['web.shutdownGrace'];
      if (grace > 0) {
        log.info(`polling stopped; serving the last counts for ${grace}s`);
        await new Promise((r) => setTimeout(r, grace * 1000));
      }
      await web.close();
    },
  };
}
