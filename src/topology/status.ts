// How each topology source is doing: what it last delivered and when, and how often it failed. Sources
// (the files at start, the manager's IMDS, EC2 and ip-ranges refreshes) write here; the topology metric
// family reads it on every scrape. Topology code never calls into metrics.
export interface SourceStatus {
  /** Subnets (or prefixes, for ip-ranges) of the last success; undefined before one. */
  entries?: number;
  /** Unix seconds of the last success. */
  lastSuccess?: number;
  errors: number;
  /** The last failure's message and unix seconds; cleared by a success after it. */
  lastError?: string;
  lastErrorAt?: number;
}

export class TopologyStatus {
  readonly sources = new Map<string, SourceStatus>();

  private of(source: string): SourceStatus {
    let s = this.sources.get(source);
    if (!s) this.sources.set(source, (s = { errors: 0 }));
    return s;
  }

  /** Known, so that its error counter exists (at 0) before any failure. */
  expect(source: string): void {
    this.of(source);
  }

  success(source: string, entries: number, at = Date.now() / 1000): void {
    const s = this.of(source);
    s.entries = entries;
    s.lastSuccess = at;
    s.lastError = undefined;
    s.lastErrorAt = undefined;
  }

  failure(source: string, message?: string, at = Date.now() / 1000): void {
    const s = this.of(source);
    s.errors++;
    s.lastError = message;
    s.lastErrorAt = at;
  }
}
