// Where a running exporter finds flow-log objects: an S3 bucket (ListObjectsV2 with StartAfter and
// Delimiter, GetObject) or a local folder laid out the same way (file:///DIR, keys are paths under it).
// Both answer in S3's order (keys sorted by their UTF-8 bytes), so one follower serves both.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../../config/errors.js';
import { parseS3Url } from './inputs.js';
import { s3Client, s3Error, type S3Object } from './s3.js';

export interface Listing {
  objects: S3Object[];
  /** With a delimiter: the folders directly under the prefix (each ending in it). */
  folders: string[];
}

export interface ObjectStore {
  /** What the URL names, for logs and labels. */
  readonly url: string;
  /** The prefix of the URL (the keys' common start). */
  readonly prefix: string;
  /** Objects (and, with `delimiter`, folders) under `prefix` whose keys sort after `startAfter`, in key order. */
  list(prefix: string, startAfter?: string, delimiter?: string): Promise<Listing>;
  /** An object's whole body. */
  get(key: string): Promise<Buffer>;
  /** An object as logs name it (s3://BUCKET/KEY, file:///DIR/KEY). */
  name(key: string): string;
  /** What a failed listing or read says, in one line. */
  why(e: unknown): string;
}

/** S3's key order: by UTF-8 bytes, which for the keys of AWS's layout is JavaScript's order too. */
const byKey = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export class S3Store implements ObjectStore {
  private client: S3Client | undefined;
  readonly bucket: string;
  readonly prefix: string;

  constructor(readonly url: string) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Url(url));
  }

  async list(prefix: string, startAfter?: string, delimiter?: string): Promise<Listing> {
    const { paginateListObjectsV2 } = await import('@aws-sdk/client-s3');
    this.client ??= await s3Client();
    const out: Listing = { objects: [], folders: [] };
    const params = { Bucket: this.bucket, Prefix: prefix, ...(startAfter === undefined ? {} : { StartAfter: startAfter }), ...(delimiter === undefined ? {} : { Delimiter: delimiter }) };
    for await (const page of paginateListObjectsV2({ client: this.client }, params)) {
      for (const o of page.Contents ?? []) if (o.Key !== undefined && !o.Key.endsWith('/')) out.objects.push({ key: o.Key, size: o.Size ?? 0 });
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix !== undefined) out.folders.push(p.Prefix);
    }
    return out;
  }

  async get(key: string): Promise<Buffer> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    this.client ??= await s3Client();
    const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    const body = r.Body as { transformToByteArray(): Promise<Uint8Array> } | undefined;
    if (body === undefined) return Buffer.alloc(0);
    const bytes = await body.transformToByteArray();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  name(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  why(e: unknown): string {
    return s3Error(e);
  }
}

/** A folder as a bucket: keys are '/'-separated paths under it; hidden files and Hive markers are no objects. */
export class FolderStore implements ObjectStore {
  readonly prefix = '';
  readonly dir: string;

  constructor(readonly url: string) {
    const m = /^file:\/\/(\/.*)$/.exec(url);
    if (!m) throw new ConfigError(`${url}: not a folder URL (file:///DIR)`);
    this.dir = resolve(decodeURIComponent(m[1]));
  }

  async list(prefix: string, startAfter = '', delimiter?: string): Promise<Listing> {
    const out: Listing = { objects: [], folders: [] };
    const walk = (rel: string): void => {
      let entries;
      try {
        entries = readdirSync(join(this.dir, rel), { withFileTypes: true });
      } catch (e) {
        // a folder that went away between two looks holds nothing now; the top one missing is an error
        if (rel === '' || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        return;
      }
      for (const e of entries) {
        if (e.name.startsWith('.') || e.name.startsWith('_')) continue;
        const key = rel + e.name;
        if (e.isDirectory()) {
          const folder = `${key}/`;
          // a folder wholly before the cursor, or beside the prefix, holds nothing to list
          if (!(folder.startsWith(prefix) || prefix.startsWith(folder))) continue;
          if (byKey(folder, startAfter) <= 0 && !startAfter.startsWith(folder)) continue;
          if (delimiter === '/' && folder.startsWith(prefix) && folder.length > prefix.length) out.folders.push(folder);
          else walk(folder);
        } else if (e.isFile() && key.startsWith(prefix) && byKey(key, startAfter) > 0 && !key.endsWith('.tmp')) {
          out.objects.push({ key, size: 0 });
        }
      }
    };
    walk('');
    out.objects.sort((a, b) => byKey(a.key, b.key));
    out.folders.sort(byKey);
    return out;
  }

  async get(key: string): Promise<Buffer> {
    return readFileSync(join(this.dir, key));
  }

  name(key: string): string {
    return `${this.url.replace(/\/$/, '')}/${key}`;
  }

  why(e: unknown): string {
    return (e as Error).message;
  }
}

/** The store a --flow-logs.url names. */
export function objectStore(url: string): ObjectStore {
  if (url.startsWith('s3://')) return new S3Store(url);
  if (url.startsWith('file://')) return new FolderStore(url);
  throw new ConfigError(`--flow-logs.url ${url}: expected s3://BUCKET/PREFIX or file:///DIR`);
}
