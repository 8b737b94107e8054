// AWS's ip-ranges.json: downloaded at start and refreshed (an unchanged syncToken means no rebuild),
// with a copy on disk for the next start when the download fails.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IpRanges } from './model.js';

export const IP_RANGES_URL = 'https://ip-ranges.amazonaws.com/ip-ranges.json';

export interface FetchedIpRanges {
  ranges: IpRanges;
  fromCache: boolean;
}

async function parse(text: string, where: string): Promise<IpRanges> {
  // the schema library only when there is something to check (the CLI reads IP_RANGES_URL at start)
  const { IpRangesSchema } = await import('./model.js');
  const r = IpRangesSchema.safeParse(JSON.parse(text));
  if (!r.success) throw new Error(`${where}: not in ip-ranges.json format: ${r.error.issues[0].message}`);
  if (r.data.prefixes.length === 0) throw new Error(`${where}: no prefixes`);
  return r.data;
}

/** Download (url undefined: only the cache), keeping a copy at cachePath; fall back to that copy. */
export async function fetchIpRanges(url: string | undefined, cachePath: string | undefined, timeoutMs = 20_000): Promise<FetchedIpRanges> {
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
