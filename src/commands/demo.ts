// `demo`: serve, fed by the bundled sample capture (the story in the README) replayed in a loop.
import { replayLoop } from '../capture/replay.js';
import { parseListenAddress } from '../config/listen-address.js';
import { log } from '../log.js';
import { setUp, type CommonOptions } from './setup.js';

export interface DemoOptions extends CommonOptions {
  'web.listenAddress': string;
  'web.telemetryPath': string;
  'demo.capture': string;
}

export async function demo(o: DemoOptions): Promise<() => Promise<void>> {
  const addr = parseListenAddress(o['web.listenAddress']);
  const s = setUp(o, true);
  s.pipeline.setLocalIps(s.loaded.topology.localIps);
  const replay = replayLoop(o['demo.capture'], s.pipeline);
  // express loads only for the commands that serve: analyze starts faster without it
  const { createApp, listen } = await import('../web/app.js');
  const app = createApp({
    metrics: s.metrics,
    prices: s.prices,
    telemetryPath: o['web.telemetryPath'],
    isReady: () => true,
    title: 'Demo: the bundled sample capture, replayed in a loop at its recorded pace',
  });
  const web = await listen(app, addr.host, addr.port);
  log.info(`demo serving metrics on ${web.url}${o['web.telemetryPath']}`, { url: web.url, local_ips: s.loaded.topology.localIps.join(',') });
  return async () => {
    replay.stop();
    await web.close();
  };
}
