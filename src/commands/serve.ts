// `serve` (the default command): live capture → pipeline → /metrics, for as long as it runs.
import { defaultRouteInterface, interfaceAddresses } from '../capture/interfaces.js';
import { captureFilterError, LiveCapture } from '../capture/live.js';
import { ConfigError } from '../config/errors.js';
import { parseListenAddress } from '../config/listen-address.js';
import { log } from '../log.js';
import { registerInterfaceCounters } from '../metrics/interface-counters.js';
import { TopologyManager } from '../topology/manager.js';
import type { Running as RunningCommand } from './running.js';
import { followTopology, setUp, type CommonOptions } from './setup.js';

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
}

export interface Running extends RunningCommand {
  url: string;
}

export async function serve(o: ServeOptions): Promise<Running> {
  const addr = parseListenAddress(o['web.listenAddress']);
  const iface = o.interface ?? defaultRouteInterface();
  if (!iface) throw new ConfigError('--interface not given and no default route to take it from');
  const filterError = captureFilterError(o['capture.filter'], iface);
  if (filterError) throw new ConfigError(`--capture.filter ${JSON.stringify(o['capture.filter'])}: ${filterError}`);
  const { WebSecurity, serveApp } = await import('../web/app.js');
  const security = WebSecurity.load(o['web.config.file'], log);
  const s = setUp(o, true);
  const { pipeline, metrics } = s;

  const localIps = (): string[] => [...new Set([...interfaceAddresses(iface), ...(o.localIp ?? []), ...pipeline.topology.localIps])];
  let locals = localIps();
  pipeline.setLocalIps(locals);
  log.info(`local addresses: ${locals.join(', ') || 'none'}`, { interface: iface });
  // addresses change (DHCP, IPv6 privacy addresses, an ENI attached): follow them. Early in boot the
  // interface may have no address yet: look every 2 s for the first two minutes, then every 30 s.
  const startedAt = Date.now();
  let localTimer: NodeJS.Timeout;
  const followLocals = (): void => {
    const now = localIps();
    if (now.join() !== locals.join()) {
      metrics.flush();
      locals = now;
      pipeline.setLocalIps(locals);
      log.info(`local addresses changed: ${locals.join(', ')}`, { interface: iface });
    }
    localTimer = setTimeout(followLocals, Date.now() - startedAt < 120_000 ? 2_000 : 30_000);
    localTimer.unref();
  };
  localTimer = setTimeout(followLocals, 2_000);
  localTimer.unref();

  registerInterfaceCounters(metrics.registry, iface);
  metrics.captureUp.set({ interface: iface }, 0);
  metrics.captureErrors.inc({ interface: iface }, 0);
  // capture_up follows every change of state, retries that succeed included
  const capture = new LiveCapture(
    {
      iface,
      filter: o['capture.filter'],
      bufferBytes: o['capture.bufferBytes'],
      snaplen: o['capture.snaplen'],
      dnsBufferBytes: 4 << 20,
      learnDns: o['capture.dns'],
    },
    pipeline,
    log,
    (state) => {
      metrics.captureUp.set({ interface: iface }, state === 'running' ? 1 : 0);
      if (state === 'failed') metrics.captureErrors.inc({ interface: iface });
    },
  );
  capture.start();

  // bounded work between scrapes: the remote table is emptied on every flush
  const flushTimer = setInterval(() => metrics.flush(), o['metrics.flushInterval'] * 1000);
  flushTimer.unref();

  let web: Awaited<ReturnType<typeof serveApp>>;
  try {
    web = await serveApp(
      { metrics, telemetryPath: o['web.telemetryPath'], isReady: () => capture.state === 'running' && manager.loaded, title: `Live capture on ${iface}` },
      security,
      addr,
    );
  } catch (e) {
    capture.stop();
    clearInterval(flushTimer);
    clearTimeout(localTimer);
    throw e;
  }
  log.info(`serving metrics on ${web.url}${o['web.telemetryPath']}`, { url: web.url });

  // discovery after the web server is up: /-/ready says 503 until the first attempt is over
  const manager = new TopologyManager(
    {
      file: s.loaded.file,
      ipRangesFromFile: s.loaded.ipRanges,
      ipRangesUrl: s.loaded.ipRanges || o['ipRanges.url'] === 'none' ? undefined : o['ipRanges.url'],
      ipRangesCache: o['ipRanges.cache'],
      discoverAws: o['aws.discovery'],
      refreshIntervalMs: o['topology.refreshInterval'],
      ipRangesRefreshMs: o['ipRanges.refreshInterval'],
    },
    metrics.status,
    log,
  );
  followTopology(manager, s);
  manager.onSnapshot(() => {
    locals = localIps();
    pipeline.setLocalIps(locals);
  });
  await manager.start();

  return {
    url: web.url,
    reload: () => web.reload(),
    async stop() {
      manager.stop();
      capture.stop();
      clearInterval(flushTimer);
      clearTimeout(localTimer);
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
