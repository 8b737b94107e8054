// A watch of the API server, read as the client library reads it (one JSON event a line) but with every
// line bounded: the library's line reader keeps a line however long it grows, and one event of 700 MiB
// (a proxy's garbage, a runaway annotation) took the exporter's memory with it. A line past the bound
// ends the watch with an error; the caller lists again.
import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** Larger than any pod the API server stores (etcd's request limit is 1.5 MiB) by far. */
export const MAX_EVENT_BYTES = 16 << 20;

export class EventTooLarge extends Error {}

/** A watch answered with another status than 200 (410: the resourceVersion is gone). */
export class WatchStatus extends Error {
  constructor(readonly statusCode: number) {
    super(`watch answered HTTP ${statusCode}`);
  }
}

export interface WatchCallbacks {
  /** One event; `undefined` object where the line was no JSON (counted by the caller). */
  event(type: string, object: unknown): void;
  /** The watch ended: null when the server ended it, else why. Called once. */
  done(err: Error | null): void;
}

/** Splits a byte stream into lines of at most `max` bytes; nothing is kept past a newline. */
export class BoundedLines {
  private parts: Buffer[] = [];
  private length = 0;

  constructor(
    private readonly max: number,
    private readonly line: (text: string) => void,
  ) {}

  /** Feeds a chunk; throws EventTooLarge when a line grows past the bound. */
  push(chunk: Buffer): void {
    let from = 0;
    for (let nl = chunk.indexOf(10, from); nl >= 0; nl = chunk.indexOf(10, from)) {
      const piece = chunk.subarray(from, nl);
      this.check(piece.length);
      this.parts.push(piece);
      const text = Buffer.concat(this.parts).toString('utf8');
      this.parts = [];
      this.length = 0;
      if (text.trim() !== '') this.line(text);
      from = nl + 1;
    }
    if (from < chunk.length) {
      const rest = chunk.subarray(from);
      this.check(rest.length);
      this.parts.push(rest);
    }
  }

  private check(more: number): void {
    this.length += more;
    if (this.length > this.max) throw new EventTooLarge(`watch: an event of more than ${this.max / (1 << 20)} MiB`);
  }
}

/**
 * Opens a watch of `path` with `params` (watch=true added). Resolves with its AbortController once the
 * server answered 200 (data may flow); rejects on any other answer (WatchStatus) or a failed request.
 */
export async function openWatch(kc: KubeConfig, path: string, params: Record<string, string | number | boolean | undefined>, on: WatchCallbacks, maxLine = MAX_EVENT_BYTES): Promise<AbortController> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the Kubernetes configuration');
  const url = new URL(cluster.server + path);
  url.searchParams.set('watch', 'true');
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, String(v));
  const opts: RequestOptions = { method: 'GET', headers: {} };
  await kc.applyToHTTPSOptions(opts);
  const controller = new AbortController();
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { ...opts, signal: controller.signal }, resolve);
    req.once('error', reject);
    req.end();
  });
  if (response.statusCode !== 200) {
    response.resume();
    controller.abort();
    throw new WatchStatus(response.statusCode ?? 0);
  }
  let ended = false;
  const end = (err: Error | null): void => {
    if (ended) return;
    ended = true;
    controller.abort();
    response.destroy();
    on.done(err);
  };
  const lines = new BoundedLines(maxLine, (text) => {
    let event: { type?: unknown; object?: unknown } | undefined;
    try {
      event = JSON.parse(text) as { type?: unknown; object?: unknown };
    } catch {
      event = undefined;
    }
    if (event && typeof event.type === 'string' && typeof event.object === 'object' && event.object !== null) on.event(event.type, event.object);
    else on.event('', undefined);
  });
  response.on('data', (chunk: Buffer) => {
    if (ended) return;
    try {
      lines.push(chunk);
    } catch (e) {
      end(e as Error);
    }
  });
  response.once('end', () => end(null));
  response.once('error', (e) => end((e as Error).name === 'AbortError' ? null : e));
  response.once('close', () => end(null));
  return controller;
}
