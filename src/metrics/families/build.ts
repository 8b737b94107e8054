// aztraffic_build_info: which exporter and Node.js.
import client from 'prom-client';
import { VERSION } from '../../config/version.js';
import type { MetricFamily } from './family.js';

/** Set once; nothing to do at any of the registry's moments. */
export class BuildFamily implements MetricFamily {
  constructor(registers: client.Registry[]) {
    new client.Gauge({
      name: 'aztraffic_build_info',
      help: 'Version of the exporter and of Node.js; always 1.',
      labelNames: ['version', 'node_version'],
      registers,
    }).set({ version: VERSION, node_version: process.version }, 1);
  }
}
