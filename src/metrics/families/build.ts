// aztraffic_build_info: which exporter and Node.js.
import client from 'prom-client';
import { VERSION } from '../../config/version.js';

/** Set once (and again if its source changes); nothing to do at any of the registry's moments, so in no list of them. */
export class BuildFamily {
  private readonly gauge: client.Gauge<'version' | 'node_version' | 'source'>;

  constructor(registers: client.Registry[]) {
    this.gauge = new client.Gauge({
      name: 'aztraffic_build_info',
      help: 'Version of the exporter and of Node.js, and where its traffic comes from (source: capture, flow_logs); always 1.',
      labelNames: ['version', 'node_version', 'source'],
      registers,
    });
    this.source('capture');
  }

  source(source: 'capture' | 'flow_logs'): void {
    this.gauge.reset();
    this.gauge.set({ version: VERSION, node_version: process.version, source }, 1);
  }
}
