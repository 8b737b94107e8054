// The measured side of a reconciliation: Prometheus's HTTP API (instant query), over fetch.
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

/** An instant query at `time` (seconds since the epoch); throws with Prometheus's own error text. */
export async function instantQuery(base: string, query: string, time: number): Promise<Sample[]> {
  const url = `${base.replace(/\/+$/, '')}/api/v1/query`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query, time: String(time) }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    throw new Error(`cannot query Prometheus at ${base}: ${cause ?? (e as Error).message}`);
  }
  const text = await res.text();
  let body: { status?: string; error?: string; data?: { resultType?: string; result?: { metric: Record<string, string>; value: [number, string] }[] } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`Prometheus at ${base} answered HTTP ${res.status} with no API response (is this a Prometheus URL?)`);
  }
  if (body.status !== 'success') throw new Error(`Prometheus at ${base}: ${body.error ?? `HTTP ${res.status}`}`);
  return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
}
