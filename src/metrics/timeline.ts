// Bytes by category over a capture file's time, for the chart of `analyze --format html`: a FrameSink
// in front of the pipeline that, when packet time crosses a bucket boundary, notes the engine's
// cumulative bytes per category. At most MAX_BUCKETS: the bucket width doubles as the capture grows.
import { CATEGORY_COUNT, CATEGORY_NAMES } from '../classify/categories.js';
import type { FrameSink } from '../sources/frame-sink.js';

const MAX_BUCKETS = 240;

export interface TimelineChart {
  step_seconds: number;
  series: string[];
  points: { t: number; values: number[] }[];
}

export class Timeline implements FrameSink {
  private t0 = NaN;
  private last = NaN;
  private width = 1;
  private next = Infinity;
  /** cumulative bytes per category at t0 + i * width */
  private marks: Float64Array[] = [];

  constructor(
    private readonly inner: FrameSink,
    /** the engine's cumulative bytes per category, written into `out` */
    private readonly peek: (out: Float64Array) => void,
  ) {}

  addInterface(name: string, linkType: number): number {
    return this.inner.addInterface(name, linkType);
  }

  interfaceDrops(iface: number, kernel: number | undefined, ifdrop: number | undefined): void {
    this.inner.interfaceDrops?.(iface, kernel, ifdrop);
  }

  frame(linkType: number, buf: Buffer, off: number, capLen: number, wireLen: number, ts: number, iface: number): void {
    this.tick(ts);
    this.inner.frame(linkType, buf, off, capLen, wireLen, ts, iface);
  }

  /** Time moves to `ts` (before what happens at ts is counted): a frame's, or a flow-log record's end. */
  tick(ts: number): void {
    if (ts >= this.next || this.next === Infinity) this.cross(ts);
    if (ts > this.last || this.last !== this.last) this.last = ts;
  }

  private mark(): Float64Array {
    const m = new Float64Array(CATEGORY_COUNT);
    this.peek(m);
    return m;
  }

  private cross(ts: number): void {
    // pcapng simple packet blocks carry no time (0): nothing to chart
    if (ts <= 0) return;
    if (this.next === Infinity) {
      this.t0 = ts;
      this.marks.push(this.mark());
      this.next = ts + this.width;
      return;
    }
    while ((ts - this.t0) / this.width >= MAX_BUCKETS) this.coarser();
    const m = this.mark();
    while (ts >= this.next) {
      this.marks.push(m);
      this.next += this.width;
    }
  }

  /** Twice as wide buckets: every other boundary stays. */
  private coarser(): void {
    this.marks = this.marks.filter((_m, i) => i % 2 === 0);
    this.width *= 2;
    this.next = this.t0 + this.marks.length * this.width;
  }

  /** Bytes per second by category per bucket (the last one up to the last packet). */
  chart(): TimelineChart {
    if (this.marks.length === 0) return { step_seconds: this.width, series: [], points: [] };
    const end = this.mark();
    const marks = [...this.marks, end];
    const times = marks.map((_m, i) => (i < this.marks.length ? this.t0 + i * this.width : Math.max(this.last, this.t0 + (i - 1) * this.width)));
    const used = CATEGORY_NAMES.map((_c, k) => end[k] > 0);
    const series = CATEGORY_NAMES.filter((_c, k) => used[k]);
    const points: TimelineChart['points'] = [];
    for (let i = 1; i < marks.length; i++) {
      const dt = times[i] - times[i - 1];
      if (dt <= 0) continue;
      const values: number[] = [];
      for (let k = 0; k < CATEGORY_COUNT; k++) if (used[k]) values.push((marks[i][k] - marks[i - 1][k]) / dt);
      // the chart draws buckets of one width: the last, partial one is shown at the rate it had
      points.push({ t: times[i - 1] + this.width, values });
    }
    return { step_seconds: this.width, series, points };
  }
}
