// AWS's ip-ranges.json: downloaded at start and refreshed (an unchanged syncToken means no rebuild),
// with a copy on disk for the next start when the download fails.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IpRanges } from './model.js';

export const IP_RANGES_URL = 'https://ip-ranges.amazonaws.com/ip-ranges.json';

export interface FetchedIpRanges {
  ranges: IpRanges;
  fromCache: boolean;
  /** The copy that came with the package: neither the download nor a cached copy could be had. */
  bundled?: boolean;
}

/** Unix seconds when AWS made these ranges (createDate, "2026-08-22-21-17-05"); undefined when not said. */
export function createdAt(ranges: IpRanges): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$/.exec(ranges.createDate ?? '');
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
}

/** Which copy these ranges are, for people: "of 2026-08-22-21-17-05 (105 days old[; note])". */
export function describeCopy(ranges: IpRanges, note?: string, now = Date.now()): string {
  const made = createdAt(ranges);
  const age = made === undefined ? 'of unknown age' : `${Math.floor((now / 1000 - made) / 86_400)} days old`;
  return `of ${ranges.createDate ?? '?'} (${age}${note ? `; ${note}` : ''})`;
}

/** The copy that came with the package (BUNDLED_IP_RANGES), read and checked. */
export async function bundledIpRanges(path: string): Promise<IpRanges> {
  const { gunzipSync } = await import('node:zlib');
  return parse(gunzipSync(readFileSync(path)).toString('utf8'), path);
}

async function parse(text: string, where: string): Promise<IpRanges> {
  // the schema library only when there is something to check (the CLI reads IP_RANGES_URL at start)
  const { IpRangesSchema } = await import('./model.js');
  const r = IpRangesSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new Error(`${where}: not in ip-ranges.json format: ${r.error.issues[0].message}`);
  if (r.data.prefixes.length === 0) throw new Error(`${where}: no prefixes`);
  return r.data;
}

/**
 * Download (url undefined: only the cache), keeping a copy at cachePath; fall back to that copy, then to
 * the package's own (`bundled`, when given).
 */
export async function fetchIpRanges(url: string | undefined, cachePath: string | undefined, timeoutMs = 20_000, bundled?: string): Promise<FetchedIpRanges> {
  try {
    return await downloadOrCached(url, cachePath, timeoutMs);
  } catch (e) {
    if (bundled === undefined) throw e;
    try {
      return { ranges: await bundledIpRanges(bundled), fromCache: false, bundled: true };
    } catch (b) {
      throw new Error(`${(e as Error).message}; the package's own copy: ${(b as Error).message}`);
    }
  }
}

async function downloadOrCached(url: string | undefined, cachePath: string | undefined, timeoutMs: number): Promise<FetchedIpRanges> {
  try {
    if (url === undefined) throw new Error('downloads are off (--ip-ranges.url none)');
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const text = await res.text();
    const ranges = await parse(text, url);
    if (cachePath) {
      // atomic: a reader never sees half a file
      writeFileSync(`${cachePath}.tmp`, text);
      renameSync(`${cachePath}.tmp`, cachePath);
    }
    return { ranges, fromCache: false };
  } catch (e) {
    const why = url === undefined ? (e as Error).message : `download of ${url} failed: ${(e as Error).message}`;
    if (!cachePath) throw new Error(why);
    let text: string;
    try {
      text = readFileSync(cachePath, 'utf8');
    } catch {
      throw new Error(`${why}, and there is no cached copy at ${cachePath}`);
    }
    return { ranges: await parse(text, cachePath), fromCache: true };
  }
}
