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
  if (body === null || typeof body !== 'object') throw new Error(`Prometheus at ${base} answered HTTP ${res.status} with no API response (is this a Prometheus URL?)`);
  if (body.status !== 'success') throw new Error(`Prometheus at ${base}: ${body.error ?? `HTTP ${res.status}`}`);
  // what the query asks for is an instant vector of finite, non-negative byte counts: anything else is
  // said, never turned into NaN% or a TypeError
  const type = body.data?.resultType;
  const result = body.data?.result;
  if (type !== 'vector' || !Array.isArray(result)) throw new Error(`Prometheus at ${base} answered ${type === undefined ? 'no result' : `a ${String(type)}`}, not the instant vector asked for (is this Prometheus's query API?)`);
  return result.map((r): Sample => {
    const metric = r !== null && typeof r === 'object' && r.metric !== null && typeof r.metric === 'object' ? r.metric : {};
    const raw = Array.isArray(r?.value) ? r.value[1] : undefined;
    const value = typeof raw === 'string' ? Number(raw) : NaN;
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`Prometheus at ${base} gave ${JSON.stringify(raw ?? null)} for ${JSON.stringify(metric.usage_type ?? metric)}: not a byte count (a counter reset, a broken recording rule, or not this exporter's series)`);
    }
    return { metric, value };
  });
}
