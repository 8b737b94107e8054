// aztraffic_flow_logs_*: what reading flow logs gave (records by result, objects by result), and how late
// the newest record is (records reach S3 5–10 minutes after their interval ends).
import client from 'prom-client';

/** What one object's reading gave (FlowLogRead's figures). */
export interface ObjectRead {
  records: number;
  nodata: number;
  skipdata: number;
  rejected: number;
  malformed: number;
  /** The read stopped before the object's end (what came before was counted). */
  stopped: boolean;
}

export class FlowLogsFamily {
  private readonly records: client.Counter<'result'>;
  private readonly objects: client.Counter<'result'>;
  private readonly pollErrors: client.Counter;
  /** Seconds since the epoch: the end of the newest record counted. */
  newestEnd = 0;

  constructor(registers: client.Registry[], lag: boolean) {
    this.records = new client.Counter({
      name: 'aztraffic_flow_logs_records_total',
      help: 'Flow-log records read, by result: counted; nodata and skipdata (intervals without traffic, or traffic AWS could not log); rejected (dropped by a security group or ACL, no transfer); malformed (named in the log).',
      labelNames: ['result'],
      registers,
    });
    this.objects = new client.Counter({
      name: 'aztraffic_flow_logs_objects_total',
      help: 'Flow-log objects read, by result: counted; incomplete (the read stopped, what came before was counted); failed (could not be read at any attempt, not counted).',
      labelNames: ['result'],
      registers,
    });
    for (const r of ['counted', 'nodata', 'skipdata', 'rejected', 'malformed']) this.records.inc({ result: r }, 0);
    for (const r of ['counted', 'incomplete', 'failed']) this.objects.inc({ result: r }, 0);
    this.pollErrors = new client.Counter({
      name: 'aztraffic_flow_logs_poll_errors_total',
      help: 'Polls of the flow-log location that failed (listing or reading an object); the next poll tries again.',
      registers: lag ? registers : [],
    });
    if (!lag) return;
    const gauge: client.Gauge = new client.Gauge({
      name: 'aztraffic_flow_logs_lag_seconds',
      help: 'Now minus the end of the newest flow-log record counted: how late the figures are (AWS delivers records 5–10 minutes after their interval).',
      registers,
      collect: () => {
        if (this.newestEnd > 0) gauge.set(Math.max(0, Date.now() / 1000 - this.newestEnd));
      },
    });
  }

  /** One object read. */
  note(r: ObjectRead): void {
    this.records.inc({ result: 'counted' }, r.records);
    this.records.inc({ result: 'nodata' }, r.nodata);
    this.records.inc({ result: 'skipdata' }, r.skipdata);
    this.records.inc({ result: 'rejected' }, r.rejected);
    this.records.inc({ result: 'malformed' }, r.malformed);
    this.objects.inc({ result: r.stopped ? 'incomplete' : 'counted' });
  }

  /** An object given up after its attempts. */
  failed(): void {
    this.objects.inc({ result: 'failed' });
  }

  pollFailed(): void {
    this.pollErrors.inc();
  }

  /** A record's end (seconds): the newest is what the lag is measured from. */
  seen(end: number): void {
    if (end > this.newestEnd) this.newestEnd = end;
  }
}
