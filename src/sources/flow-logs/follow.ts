// Which flow-log objects a running exporter has yet to count. AWS writes each log's objects under
// `…/REGION/YYYY/MM/DD/[HH/]` (or `year=…/month=…/day=…/[hour=…/]`): a "stream" is the folder above the
// dates. Within a day's folder the keys sort by flow-log id before time, so an object can still appear
// before keys already counted until the folder is over: each stream's cursor (the StartAfter of its
// listing) moves only past folders closed for an hour, and the keys counted beyond it are remembered.
// Streams are found by listing folders with a delimiter (a few requests, not a listing of the bucket).
import { folderTime, keyTime } from './s3.js';
import type { ObjectStore } from './store.js';

/** After its folder's time is over, AWS delivers nothing more into it after this many seconds (it delivers every 5–10 minutes). */
export const SETTLE_SECONDS = 3600;
/** Streams are looked for again this often (a new account, region or log in the bucket). */
const DISCOVER_EVERY_SECONDS = 3600;
/** Folders visited at most per discovery (a bucket of many accounts and regions). */
const MAX_FOLDERS = 10_000;
/** An object that cannot be read is tried at this many polls, then given up and said. */
export const MAX_ATTEMPTS = 3;

export interface FollowState {
  /** Seconds since the epoch: objects whose key time is before are not counted (the first start's). */
  since: number;
  /** Stream folder → the key its listing starts after. */
  streams: Record<string, string>;
  /** Keys counted (or given up) beyond their stream's cursor. */
  counted: string[];
}

export interface Pending {
  key: string;
  size: number;
  /** This is the last attempt: a failure now gives the object up. */
  lastAttempt: boolean;
}

const DATE_FOLDER = /^(?:\d{4}|year=\d{4})\/$/;

/** The end (seconds) of the time the folders of a key cover (day, or hour), or undefined where its folders carry no date. */
export function folderEnd(key: string): number | undefined {
  return folderTime(key)?.end;
}

/** Where a stream's listing starts for a first start at `since`: just before that day's folder. */
function startOf(stream: string, layout: 'plain' | 'hive' | 'flat', since: number): string | undefined {
  if (layout === 'flat' || since <= 0) return undefined;
  const d = new Date(since * 1000);
  const [y, m, day] = [d.getUTCFullYear(), String(d.getUTCMonth() + 1).padStart(2, '0'), String(d.getUTCDate()).padStart(2, '0')];
  return layout === 'plain' ? `${stream}${y}/${m}/${day}` : `${stream}year=${y}/month=${m}/day=${day}`;
}

export class Follower {
  private readonly streams = new Map<string, string | undefined>();
  private readonly counted = new Set<string>();
  private readonly attempts = new Map<string, number>();
  /** Each stream's keys of the last listing, in order: what its cursor may move over. */
  private readonly listed = new Map<string, string[]>();
  private discoveredAt = -Infinity;
  readonly since: number;

  constructor(
    private readonly store: ObjectStore,
    since: number,
    state?: FollowState,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {
    this.since = state?.since ?? since;
    for (const [s, after] of Object.entries(state?.streams ?? {})) this.streams.set(s, after);
    for (const k of state?.counted ?? []) this.counted.add(k);
  }

  /** What the state file keeps. */
  state(): FollowState {
    const streams: Record<string, string> = {};
    for (const [s, after] of this.streams) if (after !== undefined) streams[s] = after;
    // a stream not yet past anything starts where a first start would, which it can find again
    return { since: this.since, streams, counted: [...this.counted].sort() };
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** The objects to count now, oldest first (by key time, then key). */
  async pending(): Promise<Pending[]> {
    if (this.now() - this.discoveredAt >= DISCOVER_EVERY_SECONDS || this.streams.size === 0) {
      await this.discover();
      this.discoveredAt = this.now();
    }
    const out: (Pending & { t: number })[] = [];
    for (const [stream, after] of this.streams) {
      const listing = await this.store.list(stream, after ?? this.startOf(stream), undefined);
      // a flat stream's listing holds the objects of its subfolders too: they are other streams'
      const keys = listing.objects.filter((o) => this.streamOf(o.key) === stream);
      this.listed.set(
        stream,
        keys.map((o) => o.key),
      );
      for (const o of keys) {
        if (this.counted.has(o.key)) continue;
        const t = keyTime(o.key);
        // the first start's window: older objects are not this exporter's to count
        if (t !== undefined && !inSince(t, this.since)) {
          this.counted.add(o.key);
          continue;
        }
        const tried = this.attempts.get(o.key) ?? 0;
        out.push({ key: o.key, size: o.size, lastAttempt: tried + 1 >= MAX_ATTEMPTS, t: t?.start ?? 0 });
      }
    }
    out.sort((a, b) => a.t - b.t || (a.key < b.key ? -1 : 1));
    return out.map(({ key, size, lastAttempt }) => ({ key, size, lastAttempt }));
  }

  /** An object counted (or given up): never again; cursors move over closed folders. */
  done(key: string): void {
    this.counted.add(key);
    this.attempts.delete(key);
    this.advance(this.streamOf(key));
  }

  /** An object that could not be read this time: tried again at the next poll, up to MAX_ATTEMPTS. */
  failed(key: string): void {
    this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
  }

  private advance(stream: string): void {
    const keys = this.listed.get(stream);
    if (keys === undefined) return;
    const now = this.now();
    let i = 0;
    for (; i < keys.length; i++) {
      const end = folderEnd(keys[i]);
      if (!this.counted.has(keys[i]) || end === undefined || end + SETTLE_SECONDS > now) break;
    }
    if (i === 0) return;
    this.streams.set(stream, keys[i - 1]);
    for (const k of keys.slice(0, i)) this.counted.delete(k);
    this.listed.set(stream, keys.slice(i));
  }

  /** A key's stream: the folder above its dates, else its own folder. */
  private streamOf(key: string): string {
    const m = /^(.*?\/)?(?:\d{4}\/\d{2}\/\d{2}\/|year=\d{4}\/month=\d{2}\/day=\d{2}\/)/.exec(key);
    if (m) return m[1] ?? '';
    return key.slice(0, key.lastIndexOf('/') + 1);
  }

  private startOf(stream: string): string | undefined {
    return startOf(stream, this.layouts.get(stream) ?? 'flat', this.since);
  }

  private readonly layouts = new Map<string, 'plain' | 'hive' | 'flat'>();

  /** Walk the folders under the URL's prefix down to the date folders (or folders of objects): each is a stream. */
  private async discover(): Promise<void> {
    const queue = [this.store.prefix];
    let visited = 0;
    while (queue.length > 0 && visited < MAX_FOLDERS) {
      const prefix = queue.shift()!;
      visited++;
      const l = await this.store.list(prefix, undefined, '/');
      const dated = l.folders.filter((f) => DATE_FOLDER.test(f.slice(prefix.length)));
      if (dated.length > 0) this.addStream(prefix, dated[0].slice(prefix.length).startsWith('year=') ? 'hive' : 'plain');
      if (l.objects.length > 0) this.addStream(prefix, 'flat');
      for (const f of l.folders) if (!DATE_FOLDER.test(f.slice(prefix.length))) queue.push(f);
    }
  }

  private addStream(stream: string, layout: 'plain' | 'hive' | 'flat'): void {
    if (!this.layouts.has(stream) || layout !== 'flat') this.layouts.set(stream, layout);
    if (!this.streams.has(stream)) this.streams.set(stream, undefined);
  }
}

/** Whether an object's key time may hold records at or after `since` (a file's stamp closes its 5-minute window, records may be 10 minutes older). */
function inSince(t: { start: number; end: number }, since: number): boolean {
  return t.end >= since;
}
