// aztraffic_build_info: which exporter and Node.js.
import client from 'prom-client';
import { VERSION } from '../../config/version.js';

export function registerBuildInfo(registers: client.Registry[]): void {
  new client.Gauge({
    name: 'aztraffic_build_info',
    help: 'Version of the exporter and of Node.js; always 1.',
    labelNames: ['version', 'node_version'],
    registers,
  }).set({ version: VERSION, node_version: process.version }, 1);
}
