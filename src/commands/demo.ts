// `demo`: serve, fed by the bundled sample capture (the story in the README) replayed in a loop.
import { replayLoop } from '../sources/replay.js';
import { parseListenAddress } from '../config/listen-address.js';
import { log } from '../config/log.js';
import type { Running } from './running.js';
import { setUp, type CommonOptions } from './setup.js';

export interface DemoOptions extends CommonOptions {
  'web.listenAddress': string;
  'web.telemetryPath': string;
  'web.config.file'?: string;
  'demo.capture': string;
  /** `ss -tunapH --cgroup` taken beside the capture: the workloads of its flows. */
  'demo.sockets'?: string;
}

export async function demo(o: DemoOptions): Promise<Running> {
  const addr = parseListenAddress(o['web.listenAddress']);
  // express loads only for the commands that serve: analyze starts faster without it
  const { WebSecurity, serveApp } = await import('../web/app.js');
  const security = await WebSecurity.load(o['web.config.file'], log);
  const s = await setUp(o, true);
  s.pipeline.setLocalIps(s.loaded.topology.localIps);
  if (o['demo.sockets']) {
    // the host's processes and units when the capture was taken, as the live exporter finds them in /proc
    const { Attribution } = await import('../attribution/attribution.js');
    const { readSocketList } = await import('../attribution/ss.js');
    const attribution = new Attribution(s.pipeline.engine, { processes: true, sockets: readSocketList(o['demo.sockets']) });
    s.metrics.attributeWorkloads(attribution.workloads, 100, () => attribution.heldWorkloads());
  }
  const replay = replayLoop(o['demo.capture'], s.pipeline);
  let web: Awaited<ReturnType<typeof serveApp>>;
  try {
    web = await serveApp(
      { metrics: s.metrics, telemetryPath: o['web.telemetryPath'], isReady: () => true, title: 'Demo: the bundled sample capture, replayed in a loop at its recorded pace', captureKind: 'replay' },
      security,
      addr,
    );
  } catch (e) {
    replay.stop();
    throw e;
  }
  log.info(`demo serving metrics on ${web.url}${o['web.telemetryPath']}`, { url: web.url, local_ips: s.loaded.topology.localIps.join(',') });
  return {
    reload: () => web.reload(),
    async stop() {
      replay.stop();
      await web.close();
    },
  };
}
