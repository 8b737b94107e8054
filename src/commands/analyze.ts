// `analyze FILE...`: the offline pipeline over pcap/pcapng files.
import { readCaptureFile } from '../capture/file-reader.js';
import { guessLocalIp } from '../classify/local-address.js';
import { ConfigError } from '../config/errors.js';
import { Decoded } from '../decode/packet.js';
import { log } from '../log.js';
import { buildReport, renderTable } from '../metrics/report.js';
import { setUp, type CommonOptions } from './setup.js';

export interface AnalyzeOptions extends CommonOptions {
  localIp?: string[];
  format: 'table' | 'json' | 'prometheus';
}

export async function analyze(files: string[], o: AnalyzeOptions, out: (s: string) => void): Promise<void> {
  const { loaded, prices, pipeline, metrics } = setUp(o, false);
  let local = o.localIp ?? [];
  if (local.length === 0) local = loaded.topology.localIps;
  if (local.length === 0) {
    const guess = guessLocalIp(files);
    if (!guess) throw new ConfigError(`${files.join(' ')}: no IP packets found to tell which host captured them; pass --local-ip`);
    const share = ((100 * guess.packets) / guess.sampled).toFixed(1);
    log.warn(
      `no --local-ip and no local_ips in the topology: assuming this host is ${guess.ip} (in ${share}% of the first ${guess.sampled} IP packets); pass --local-ip to override`,
      { local_ip: guess.ip },
    );
    local = [guess.ip];
  }
  pipeline.setLocalIps(local);
  const started = process.hrtime.bigint();
  let frames = 0;
  for (const file of files) {
    const res = readCaptureFile(file, pipeline);
    frames += res.frames;
    if (res.corruptRecords > 0) {
      pipeline.decodeErrors[Decoded.CORRUPT_RECORD] += res.corruptRecords;
      log.warn(`${file}: ${res.corruptRecords} record(s) cut short or corrupt were skipped`, { file });
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  log.debug(`read and counted ${frames} frames in ${seconds.toFixed(3)} s`, { frames, seconds, frames_per_second: Math.round(frames / seconds) });
  if (o.format === 'prometheus') {
    out(await metrics.render());
    return;
  }
  const report = await buildReport(metrics, prices);
  if (o.format === 'json') out(JSON.stringify({ files, local_ips: local, region: loaded.topology.region, ...report }, null, 2) + '\n');
  else out(renderTable(report));
}
