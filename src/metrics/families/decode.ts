// aztraffic_decode_errors_total by reason: frames and DNS messages that could not be used.
import client from 'prom-client';
import { DECODE_ERROR_REASONS } from '../../decode/packet.js';
import { Totals } from './totals.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import type { MetricFamily } from './family.js';

export class DecodeFamily implements MetricFamily {
  private readonly totals: Totals<'reason'>;
  private readonly renames: Totals<'outcome'>;

  constructor(registers: client.Registry[]) {
    const counter = new client.Counter({
      name: 'aztraffic_decode_errors_total',
      help: 'Frames that could not be decoded, by reason; they are not counted as traffic.',
      labelNames: ['reason'],
      registers,
    });
    this.totals = new Totals(counter);
    for (const reason of [...DECODE_ERROR_REASONS.filter((r) => r !== ''), 'malformed_dns', 'truncated_dns', 'unsolicited_dns', 'dns_over_budget']) counter.inc({ reason }, 0);
    const renames = new client.Counter({
      name: 'aztraffic_remote_renames_total',
      help: "DNS answers that named an address anew (CDN, S3, load balancer addresses are shared), by outcome: split (the bytes before kept the old name) or merged (within 100 ms of the last split: those moments' bytes are under the newer name).",
      labelNames: ['outcome'],
      registers,
    });
    this.renames = new Totals(renames);
    for (const outcome of ['split', 'merged']) renames.inc({ outcome }, 0);
  }

  take(p: Pipeline): void {
    const d = p.decode;
    DECODE_ERROR_REASONS.forEach((reason, i) => {
      if (reason !== '') this.totals.set({ reason }, d.errors[i]);
    });
    this.totals.set({ reason: 'malformed_dns' }, d.dnsMalformed);
    this.totals.set({ reason: 'truncated_dns' }, d.dnsCut);
    this.totals.set({ reason: 'unsolicited_dns' }, d.dnsUnsolicited);
    this.totals.set({ reason: 'dns_over_budget' }, d.dnsOverBudget);
    this.renames.set({ outcome: 'split' }, d.renamesSplit);
    this.renames.set({ outcome: 'merged' }, d.renamesMerged);
  }
}
