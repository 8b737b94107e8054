// A local fake S3 that speaks the REST API the SDK uses for reading flow logs, path-style:
// ListObjectsV2 (list-type=2, prefix, start-after, delimiter, continuation-token, max-keys; XML in the S3
// namespace) and
// GetObject, with the errors that matter: 403 AccessDenied, 404 NoSuchKey, 503 SlowDown (throttling).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeServer } from './aws.js';

const xmlEscape = (s: string): string => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

export class FakeS3 extends FakeServer {
  /** bucket → key → body */
  readonly buckets = new Map<string, Map<string, Buffer>>();
  /** Keys a GetObject is refused (403). */
  readonly denied = new Set<string>();
  /** Key → how many more GetObjects answer 503 SlowDown before one is served. */
  readonly throttled = new Map<string, number>();
  /** Keys listed per page at most (the client may ask for fewer). */
  pageSize = 1000;
  readonly calls: { action: 'ListObjectsV2' | 'GetObject'; key?: string; status: number; startAfter?: string }[] = [];

  put(bucket: string, key: string, body: Buffer | string): void {
    let b = this.buckets.get(bucket);
    if (!b) this.buckets.set(bucket, (b = new Map()));
    b.set(key, Buffer.from(body));
  }

  count(action: 'ListObjectsV2' | 'GetObject', status = 200): number {
    return this.calls.filter((c) => c.action === action && c.status === status).length;
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><RequestId>FAKE</RequestId></Error>`);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://s3');
    const [, bucketName, ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const bucket = this.buckets.get(bucketName);
    if (req.method !== 'GET') return this.error(res, 405, 'MethodNotAllowed', 'only GET here');
    if (!bucket) return this.error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    if (key === '' && url.searchParams.get('list-type') === '2') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const max = Math.min(this.pageSize, Number(url.searchParams.get('max-keys') ?? 1000));
      const after = url.searchParams.get('continuation-token') ?? url.searchParams.get('start-after') ?? '';
      const delimiter = url.searchParams.get('delimiter') ?? '';
      // with a delimiter, the keys below the next one after the prefix are rolled up into one CommonPrefix
      const rolled = (k: string): string => {
        const i = delimiter === '' ? -1 : k.indexOf(delimiter, prefix.length);
        return i < 0 ? k : k.slice(0, i + delimiter.length);
      };
      const entries = [...new Set([...bucket.keys()].filter((k) => k.startsWith(prefix)).map(rolled))].filter((k) => k > after).sort();
      const page = entries.slice(0, max);
      const truncated = entries.length > page.length;
      this.calls.push({ action: 'ListObjectsV2', status: 200, ...(url.searchParams.has('start-after') ? { startAfter: url.searchParams.get('start-after')! } : {}) });
      const contents = page
        .filter((k) => bucket.has(k))
        .map((k) => `<Contents><Key>${xmlEscape(k)}</Key><LastModified>2026-12-06T00:00:00.000Z</LastModified><ETag>"fake"</ETag><Size>${bucket.get(k)!.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`)
        .join('');
      const common = page
        .filter((k) => !bucket.has(k))
        .map((k) => `<CommonPrefixes><Prefix>${xmlEscape(k)}</Prefix></CommonPrefixes>`)
        .join('');
      res.writeHead(200, { 'content-type': 'application/xml' }).end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucketName}</Name><Prefix>${xmlEscape(prefix)}</Prefix>${delimiter ? `<Delimiter>${xmlEscape(delimiter)}</Delimiter>` : ''}<KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${common}${truncated ? `<NextContinuationToken>${xmlEscape(page[page.length - 1])}</NextContinuationToken>` : ''}</ListBucketResult>`,
      );
      return;
    }
    const wait = this.throttled.get(key) ?? 0;
    if (wait > 0) {
      this.throttled.set(key, wait - 1);
      this.calls.push({ action: 'GetObject', key, status: 503 });
      return this.error(res, 503, 'SlowDown', 'Please reduce your request rate.');
    }
    if (this.denied.has(key)) {
      this.calls.push({ action: 'GetObject', key, status: 403 });
      return this.error(res, 403, 'AccessDenied', 'Access Denied');
    }
    const body = bucket.get(key);
    if (!body) {
      this.calls.push({ action: 'GetObject', key, status: 404 });
      return this.error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
    this.calls.push({ action: 'GetObject', key, status: 200 });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, etag: '"fake"' }).end(body);
  }
}
