// How each topology source is doing: what it last delivered and when, and how often it failed. Sources
// (the files at start, the manager's IMDS, EC2 and ip-ranges refreshes) write here; the topology metric
// family reads it on every scrape. Topology code never calls into metrics.
export interface SourceStatus {
  /** Subnets (or prefixes, for ip-ranges) of the last success; undefined before one. */
  entries?: number;
  /** Unix seconds of the last success. */
  lastSuccess?: number;
  /** Off here (IMDS disabled, no VPC to ask about): nothing to wait for. */
  off?: boolean;
  /** A value is in force (a success, or a fallback such as the cached ip-ranges.json). */
  provided?: boolean;
  /** When the value in force was made by its publisher (ip-ranges.json's createDate), unix seconds. */
  created?: number;
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

  /** Off here: it will not answer, and is not waited for. */
  absent(source: string): void {
    this.of(source).off = true;
  }

  /** A value of the source's is in force, made by its publisher at `created` where known. */
  provided(source: string, created?: number): void {
    const s = this.of(source);
    s.provided = true;
    s.created = created;
  }

  /** Whether a source has loaded successfully at least once (or is off here): a fallback is not that. */
  succeeded(source: string): boolean {
    const s = this.sources.get(source);
    return s !== undefined && (s.lastSuccess !== undefined || s.off === true);
  }

  /** Whether a source has answered at least once with a value (or is off here): a fallback is that. */
  answered(source: string): boolean {
    return this.succeeded(source) || this.sources.get(source)?.provided === true;
  }

  /**
   * A failed load; `count`: as a failed refresh (not a retry of a source that has never loaded, asked
   * every few seconds at boot: that state has its own series, and would otherwise look like a flapping
   * source).
   */
  failure(source: string, message?: string, at = Date.now() / 1000, count = true): void {
    const s = this.of(source);
    if (count) s.errors++;
    s.lastError = message;
    s.lastErrorAt = at;
  }
}
