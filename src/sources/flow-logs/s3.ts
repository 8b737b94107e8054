// Flow logs in S3, where AWS delivers them: `AWSLogs/ACCOUNT/vpcflowlogs/REGION/YYYY/MM/DD/[HH/]…` (or
// Hive-compatible `…/year=YYYY/month=MM/day=DD/[hour=HH/]…`), listed with ListObjectsV2 and read with
// GetObject through the SDK's credential chain and standard settings (AWS_REGION, AWS_ENDPOINT_URL_S3).
// The SDK retries throttling and server errors; what still fails is named, never skipped unsaid.
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../../config/errors.js';

export interface S3Object {
  key: string;
  size: number;
}

/** The time (seconds) an object's key says it covers: its file name's, else its folders' day/hour; undefined where it says none. */
export function keyTime(key: string): { start: number; end: number } | undefined {
  const stamp = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})Z_/.exec(key);
  if (stamp) {
    const t = Date.UTC(+stamp[1], +stamp[2] - 1, +stamp[3], +stamp[4], +stamp[5]) / 1000;
    return { start: t, end: t };
  }
  return folderTime(key);
}

/** The time (seconds) the day or hour folders of a key cover (AWS's layout or Hive's), undefined where it has none. */
export function folderTime(key: string): { start: number; end: number } | undefined {
  const plain = /\/(\d{4})\/(\d{2})\/(\d{2})\/(?:(\d{2})\/)?/.exec(key);
  const hive = /year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/(?:hour=(\d{2})\/)?/.exec(key);
  const m = plain ?? hive;
  if (!m) return undefined;
  const start = Date.UTC(+m[1], +m[2] - 1, +m[3], m[4] === undefined ? 0 : +m[4]) / 1000;
  return { start, end: start + (m[4] === undefined ? 86400 : 3600) };
}

/** Whether an object's key time meets [since, until) (no time in the key: always). */
export function inWindow(key: string, since: number | undefined, until: number | undefined): boolean {
  const t = keyTime(key);
  if (t === undefined) return true;
  // a file's stamp is when its 5-minute delivery window closed: its records may be up to 10 minutes older
  const start = t.start === t.end ? t.start - 600 : t.start;
  return (since === undefined || t.end >= since) && (until === undefined || start < until);
}

export async function s3Client(): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  // an endpoint of one's own (MinIO, LocalStack, a test's fake) takes path-style addresses
  const custom = process.env.AWS_ENDPOINT_URL_S3 !== undefined || process.env.AWS_ENDPOINT_URL !== undefined;
  return new S3Client({ region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1', forcePathStyle: custom });
}

/** Every object under the prefix, in key order (pages of ListObjectsV2). */
export async function listObjects(client: S3Client, bucket: string, prefix: string): Promise<S3Object[]> {
  const { paginateListObjectsV2 } = await import('@aws-sdk/client-s3');
  const out: S3Object[] = [];
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
    for (const o of page.Contents ?? []) if (o.Key !== undefined && !o.Key.endsWith('/')) out.push({ key: o.Key, size: o.Size ?? 0 });
  }
  return out;
}

/** An object's body as a stream. */
export async function getObject(client: S3Client, bucket: string, key: string): Promise<Readable> {
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return r.Body as Readable;
}

/** What an S3 error says, in one line. */
export function s3Error(e: unknown): string {
  const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
  const status = err.$metadata?.httpStatusCode;
  const attempts = err.$metadata?.attempts;
  return `${err.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${err.message ?? String(e)}${attempts && attempts > 1 ? ` after ${attempts} attempts` : ''}`;
}

/**
 * The objects under an s3:// input whose key time is in the window, in key order; a listing that fails
 * or finds none in the window is one error naming the location.
 */
export async function objectsInWindow(client: S3Client, input: { url: string; bucket: string; prefix: string }, since: number | undefined, until: number | undefined): Promise<S3Object[]> {
  let objects: S3Object[];
  try {
    objects = await listObjects(client, input.bucket, input.prefix);
  } catch (e) {
    throw new Error(`${input.url}: the objects could not be listed: ${s3Error(e)}`);
  }
  const picked = objects.filter((o) => inWindow(o.key, since, until));
  if (picked.length === 0) throw new ConfigError(`${input.url}: no object${objects.length > 0 ? ` of the ${objects.length} under it` : ''} in the time window asked for`);
  return picked;
}
