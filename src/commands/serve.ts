// `serve` (the default command): live capture → pipeline → /metrics, for as long as it runs.
import { defaultRouteInterface, interfaceAddresses, interfacesWithMacs } from '../sources/interfaces.js';
import { captureFilterError, LiveCapture } from '../sources/live.js';
import { ConfigError } from '../config/errors.js';
import { DnsBudget } from '../decode/dns.js';
import { parseListenAddress } from '../config/listen-address.js';
import { log } from '../config/log.js';
import { releaseStartUpMemory } from '../config/settle.js';
import { registerHoldFamily } from '../metrics/families/hold.js';
import { registerInterfaceCounters } from '../metrics/interface-counters.js';
import type { TopologyManager } from '../topology/manager.js';
import type { Attribution } from '../attribution/attribution.js';
import type { PodWatcher } from '../attribution/kube-pods.js';
import type { Owner } from '../attribution/sockets.js';
import type { WorkloadsFamily } from '../metrics/families/workloads.js';
import type { Running as RunningCommand } from './running.js';
import { readFiles, setUpBeforeFiles, topologyManager, type CommonOptions, type Setup } from './setup.js';

export interface ServeOptions extends CommonOptions {
  interface?: string;
  'capture.filter': string;
  'capture.bufferBytes': number;
  'capture.snaplen': number;
  'capture.dns': boolean;
  localIp?: string[];
  'web.listenAddress': string;
  'web.telemetryPath': string;
  'web.config.file'?: string;
  'web.shutdownGrace': number;
  'metrics.flushInterval': number;
  'aws.discovery': boolean;
  'topology.refreshInterval': number;
  'ipRanges.url': string;
  'ipRanges.cache'?: string;
  'ipRanges.refreshInterval': number;
  'topology.hold': number;
  'workload.attribution': boolean;
  'workload.processes': boolean;
  'workload.flowTableSize': number;
  'workload.fixed'?: Owner;
  'kubernetes.nodeName'?: string;
}

export interface Running extends RunningCommand {
  url: string;
}

/** The interfaces named by --interface, else the default route's; the capture filter checked on each. */
function firstInterfaces(o: ServeOptions): string[] {
  const first = o.interface !== undefined ? o.interface.split(',').map((i) => i.trim()).filter(Boolean) : [defaultRouteInterface()].filter((i): i is string => i !== undefined);
  if (first.length === 0) throw new ConfigError('--interface not given and no default route to take it from');
  if (first.includes('any') && first.length > 1) throw new ConfigError(`--interface ${o.interface}: "any" already captures every interface`);
  for (const iface of first) {
    const filterError = captureFilterError(o['capture.filter'], iface);
    if (filterError) throw new ConfigError(`--capture.filter ${JSON.stringify(o['capture.filter'])}: ${filterError}`);
  }
  return first;
}

/** The interfaces captured on, each with its capture and its state in the metrics. */
class Captures {
  private readonly live = new Map<string, LiveCapture>();

  constructor(
    private readonly o: ServeOptions,
    private readonly s: Setup,
  ) {}

  start(iface: string): void {
    if (this.live.has(iface)) return;
    const { metrics } = this.s;
    metrics.captureUp.set({ interface: iface }, 0);
    metrics.captureErrors.inc({ interface: iface }, 0);
    metrics.captureFiltered.set({ interface: iface }, this.o['capture.filter'] === '' ? 0 : 1);
    // capture_up follows every change of state, retries that succeed included
    const capture = new LiveCapture(
      {
        iface,
        filter: this.o['capture.filter'],
        bufferBytes: this.o['capture.bufferBytes'],
        snaplen: this.o['capture.snaplen'],
        dnsBufferBytes: 4 << 20,
        learnDns: this.o['capture.dns'],
      },
      this.s.pipeline,
      log,
      (state) => {
        metrics.captureUp.set({ interface: iface }, state === 'running' ? 1 : 0);
        if (state === 'failed') metrics.captureErrors.inc({ interface: iface });
      },
    );
    this.live.set(iface, capture);
    capture.start();
  }

  has(iface: string): boolean {
    return this.live.has(iface);
  }

  names(): string[] {
    return [...this.live.keys()];
  }

  allRunning(): boolean {
    return [...this.live.values()].every((c) => c.state === 'running');
  }

  stop(): void {
    for (const c of this.live.values()) c.stop();
  }
}

/**
 * This host's addresses (its interfaces', --local-ip, the topology's, its pods'), set on the pipeline:
 * at start, whenever they change (DHCP, IPv6 privacy addresses, an ENI attached, the CNI adding pod
 * IPs), and on demand when what they map to changed (a topology, pods). Early in boot the interface may
 * have no address yet: looked at every 2 s for two minutes, then every 30 s.
 */
class LocalAddressFollower {
  private locals: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();

  constructor(
    private readonly now: () => string[],
    private readonly s: Setup,
    private readonly interfaces: () => string[],
  ) {}

  start(): void {
    this.locals = this.now();
    this.s.pipeline.setLocalIps(this.locals);
    log.info(`local addresses: ${this.locals.join(', ') || 'none'}`, { interface: this.interfaces().join(',') });
    this.schedule();
  }

  /** Look again; set them when they changed, or always with `reapply` (their workloads or topology changed). */
  update(reapply = false): void {
    const now = this.now();
    const changed = now.join() !== this.locals.join();
    if (changed) {
      // what was counted with the old addresses is flushed under them
      this.s.metrics.flush();
      this.locals = now;
      log.info(`local addresses changed: ${now.join(', ')}`, { interface: this.interfaces().join(',') });
    }
    if (changed || reapply) this.s.pipeline.setLocalIps(this.locals);
  }

  private schedule(): void {
    this.timer = setTimeout(
      () => {
        this.update();
        this.schedule();
      },
      Date.now() - this.startedAt < 120_000 ? 2_000 : 30_000,
    );
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

export async function serve(o: ServeOptions): Promise<Running> {
  const addr = parseListenAddress(o['web.listenAddress']);
  if (o['workload.attribution'] && o['kubernetes.nodeName']) {
    const { kubeConfigProblem } = await import('../attribution/kube-pods.js');
    const problem = kubeConfigProblem();
    if (problem) throw new ConfigError(`--kubernetes.node-name ${o['kubernetes.nodeName']}: ${problem}`);
  }
  // --interface names the interfaces; without it, the default route's, then every ENI discovery finds
  const first = firstInterfaces(o);
  const { WebSecurity, serveApp } = await import('../web/app.js');
  const security = await WebSecurity.load(o['web.config.file'], log);
  const s = await setUpBeforeFiles(o, true);
  const { pipeline, metrics } = s;
  // live, DNS shares the thread that counts: its decoding has a budget of its own
  pipeline.dnsBudget = new DnsBudget();
  // a remote's name is the one its address had when the bytes flowed: an address named anew (shared by
  // CloudFront, S3, load balancers) flushes first, at most ten times a second (beyond, the bytes of those
  // 100 ms take the newer name)
  pipeline.onRename = () => metrics.flush();

  // the web server first: it answers, not ready, while a large topology file compiles
  let captures: Captures | undefined;
  let manager: TopologyManager | undefined;
  const web = await serveApp(
    {
      metrics,
      telemetryPath: o['web.telemetryPath'],
      // not ready while a topology source has never answered: bytes are held, not yet on their bill lines
      isReady: () => captures !== undefined && captures.allRunning() && manager !== undefined && manager.loaded && manager.neverAnswered().length === 0,
      title: `Live capture on ${first.join(', ')}`,
    },
    security,
    addr,
  );
  try {
    await readFiles(o, s);
  } catch (e) {
    await web.close();
    throw e;
  }

  // a first boot: until every topology source has answered, what is counted is held, not billed
  // against a topology the exporter does not have yet
  const sourcesAwaited = o['aws.discovery'] || (o['ipRanges.url'] !== 'none' && !s.loaded.ipRanges);
  if (o['topology.hold'] > 0 && sourcesAwaited) pipeline.engine.startHold();
  registerHoldFamily(metrics.registry, () => pipeline.engine.holdState);
  const live = (captures = new Captures(o, s));
  const attribution = o['workload.attribution'] ? await startAttribution(o, s) : undefined;
  const locals = new LocalAddressFollower(
    () => [...new Set([...interfaceAddresses(live.names()), ...(o.localIp ?? []), ...pipeline.topology.localIps, ...(attribution?.podIps ?? [])])],
    s,
    () => live.names(),
  );
  for (const iface of first) live.start(iface);
  locals.start();
  registerInterfaceCounters(metrics.registry, () => live.names());

  // bounded work between scrapes: the remote table is emptied on every flush
  const flushTimer = setInterval(() => metrics.flush(), o['metrics.flushInterval'] * 1000);
  flushTimer.unref();

  // discovery once the captures run: /-/ready says 503 until the first attempt is over
  const topology = (manager = topologyManager(o, s));
  log.info(`serving metrics on ${web.url}${o['web.telemetryPath']}`, { url: web.url });
  topology.onSnapshot((t) => {
    // every ENI of the instance (EKS: pods on a secondary ENI leave through it)
    if (o.interface === undefined) {
      for (const iface of interfacesWithMacs(t.localMacs)) {
        if (!live.has(iface)) {
          log.info(`capturing on ${iface} too: an ENI of this instance`, { interface: iface });
          live.start(iface);
        }
      }
    }
    locals.update(true);
    if (pipeline.engine.holding && topology.neverAnswered().length === 0) {
      const held = pipeline.engine.releaseHold();
      log.info(`every topology source has answered: ${held} bytes held since start classified`, { bytes: held });
    }
  });
  if (pipeline.engine.holding) {
    setTimeout(() => {
      if (!pipeline.engine.holding) return;
      const held = pipeline.engine.expireHold();
      log.warn(`topology sources ${topology.neverAnswered().join(', ')} never answered in ${o['topology.hold'] / 1000} s (--topology.hold): ${held} bytes held since start counted unclassified; from now on traffic is classified with what is known`, { bytes: held });
    }, o['topology.hold']).unref();
  }
  await topology.start();
  // start-up's garbage given back once the first topology is in force (and not while a scrape waits)
  setTimeout(() => {
    const ms = releaseStartUpMemory();
    if (ms !== undefined) log.debug(`start-up memory released in ${ms.toFixed(1)} ms`, {});
  }, 2000).unref();

  let pods: PodWatcher | undefined;
  if (attribution && o['kubernetes.nodeName']) {
    const { PodWatcher } = await import('../attribution/kube-pods.js');
    const { kubernetesFamily } = await import('../metrics/families/kubernetes.js');
    pods = new PodWatcher(
      o['kubernetes.nodeName'],
      log,
      (list) => {
        attribution.setPods(list);
        locals.update(true);
        log.debug(`pods of this node: ${list.length}`, { pods: list.length });
      },
      kubernetesFamily(metrics.registry),
    );
    try {
      await pods.start();
    } catch (e) {
      throw new ConfigError(`--kubernetes.node-name ${o['kubernetes.nodeName']}: no Kubernetes configuration (in-cluster service account or KUBECONFIG): ${(e as Error).message.split('\n')[0]}`);
    }
  }

  return {
    url: web.url,
    reload: () => web.reload(),
    async stop() {
      topology.stop();
      pods?.stop();
      attribution?.stop();
      live.stop();
      clearInterval(flushTimer);
      locals.stop();
      metrics.flush();
      // one last scrape window, so that the final counts are not lost
      const grace = o['web.shutdownGrace'];
      if (grace > 0) {
        log.info(`capture stopped; serving the last counts for ${grace}s`);
        await new Promise((r) => setTimeout(r, grace * 1000));
      }
      await web.close();
    },
  };
}

/** Workload attribution: the metric family, and the lookups of socket owners that feed it. */
async function startAttribution(o: ServeOptions, s: Setup): Promise<Attribution> {
  const { Attribution } = await import('../attribution/attribution.js');
  if (o['workload.processes'] && !o['workload.fixed']) {
    const { socketOwnersProblem } = await import('../attribution/sockets.js');
    const problem = socketOwnersProblem();
    // attribution still runs: pods by address, and whatever sockets can be read
    if (problem) log.warn(`${problem}: bytes of this host's own addresses will mostly be workload_kind="unknown" (--workload.processes=false to not look)`, {});
  }
  // the family reads the attribution's workloads, and the attribution reports lookups to the family
  const family: { workloads?: WorkloadsFamily } = {};
  const attribution = new Attribution(s.pipeline.engine, {
    processes: o['workload.processes'],
    flowTableSize: o['workload.flowTableSize'],
    fixed: o['workload.fixed'],
    onLookup: (result, n) => family.workloads?.lookup(result, n),
    onMethod: (method) => family.workloads?.method(method),
    onProblem: (lookup, message) => {
      family.workloads?.kernelLookup(lookup, false);
      log.warn(message, { lookup });
    },
  });
  const workloads = s.metrics.attributeWorkloads(attribution.workloads, o['workload.topK'] ?? 100, () => attribution.heldWorkloads());
  family.workloads = workloads;
  for (const r of ['found', 'unknown', 'table_full'] as const) workloads.lookup(r, 0);
  if (o['workload.processes'] && !o['workload.fixed']) {
    for (const l of ['socket', 'first_packets', 'conntrack'] as const) workloads.kernelLookup(l, attribution.kernelAnswers(l));
    const first = attribution.firstPackets;
    if (first) workloads.firstPackets(first);
  }
  return attribution;
}
