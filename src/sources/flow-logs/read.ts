// What reading one flow-log object gave: records, and what could not be counted, each named.
import { Action, LogStatus, type FlowRecord } from './record.js';

/** Where records go: the counting of the pipeline. */
export type RecordSink = (r: FlowRecord) => void;

/** Malformed lines named in full, per object; the rest are counted. */
const NAMED = 5;

export class FlowLogRead {
  /** The fields of the object's format (its header, or the default format's). */
  fields: readonly string[] = [];
  lines = 0;
  /** Records handed on to be counted. */
  records = 0;
  /** NODATA and SKIPDATA records: no traffic, or traffic the log could not record (counted apart). */
  nodata = 0;
  skipdata = 0;
  /** REJECTed records: traffic the security group or ACL dropped at the interface, not billed as transfer. */
  rejected = 0;
  rejectedBytes = 0;
  malformed = 0;
  /** The first malformed lines: "line N: reason". */
  readonly examples: string[] = [];
  /** A stream that broke (a gzip cut short, an S3 read that failed): the line it stopped at, and why. */
  stopped: { line: number; reason: string } | undefined;

  constructor(readonly name: string) {}

  malformedLine(line: number, reason: string): void {
    this.malformed++;
    if (this.examples.length < NAMED) this.examples.push(`line ${line}: ${reason}`);
  }

  /** A parsed record: counted apart (no data, rejected) or handed to the sink. */
  take(r: FlowRecord, sink: RecordSink): void {
    if (r.status !== LogStatus.OK) {
      if (r.status === LogStatus.NODATA) this.nodata++;
      else this.skipdata++;
      return;
    }
    if (r.action === Action.REJECT) {
      this.rejected++;
      this.rejectedBytes += r.ipBytes;
      return;
    }
    this.records++;
    sink(r);
  }
}
