// The one SQL text that sums flow-log records where they lie: DuckDB here over the files, Athena (the
// same text) over the table of the flow-log bucket. Its input is a relation `flow_logs` with the columns
// of AWS's own Athena table for VPC Flow Logs (interface_id, srcaddr, dstaddr, srcport, dstport,
// protocol, packets, bytes, start, "end", action, log_status, flow_direction, pkt_srcaddr, pkt_dstaddr,
// traffic_path; absent fields NULL). Records are summed per interface, addresses, service port (and
// which side holds it), direction and path — and hour, where the bytes are charted over time:
// everything the engine reads of a record but its exact ports and times, so that counting the sums
// gives what counting the records gives (a group's earliest start and latest end stand for its times).

/** The columns of the aggregate, in order (the reader reads them by position). */
export const AGGREGATE_COLUMNS = [
  'interface_id',
  'srcaddr',
  'dstaddr',
  'protocol',
  'service_port',
  'service_side',
  'flow_direction',
  'pkt_srcaddr',
  'pkt_dstaddr',
  'traffic_path',
  'action',
  'log_status',
  'records',
  'packets',
  'bytes',
  'first_start',
  'last_end',
] as const;

/**
 * The service side's port as the engine decides it (servicePort): the well-known one, else the one that
 * is not ephemeral (32768 and above), else the lower; -1 where a port is absent.
 */
const SERVICE_PORT = `CASE
      WHEN srcport IS NULL OR dstport IS NULL THEN -1
      WHEN (srcport < 1024) <> (dstport < 1024) THEN CASE WHEN srcport < 1024 THEN srcport ELSE dstport END
      WHEN (srcport >= 32768) <> (dstport >= 32768) THEN CASE WHEN srcport >= 32768 THEN dstport ELSE srcport END
      WHEN srcport < dstport THEN srcport
      ELSE dstport
    END`;

/** 0: the source holds the service port, 1: the destination, 2: both ports are one (or absent). */
const SERVICE_SIDE = `CASE
      WHEN srcport IS NULL OR dstport IS NULL OR srcport = dstport THEN 2
      WHEN (${SERVICE_PORT}) = srcport THEN 0
      ELSE 1
    END`;

/**
 * The aggregate over `flow_logs` (or `from`: Athena's table; restricted by `where`, e.g. its partitions' dates): a row per
 * group, the earliest start first; `hourly`: a group per hour too (a row for each hour a group is seen,
 * for a chart over time). NODATA, SKIPDATA and REJECT records are groups of their own (the reader counts them
 * apart, as the stream does).
 */
export function aggregateSql(o: { from?: string; where?: string; hourly?: boolean } = {}): string {
  const keys = 'interface_id, srcaddr, dstaddr, protocol, service_port, service_side, flow_direction, pkt_srcaddr, pkt_dstaddr, traffic_path, action, log_status';
  const hour = o.hourly ? ', hour' : '';
  return `SELECT ${keys},
  count(*) AS records, CAST(sum(packets) AS DOUBLE) AS packets, CAST(sum(bytes) AS DOUBLE) AS bytes, min(start) AS first_start, max("end") AS last_end
FROM (
  SELECT interface_id, srcaddr, dstaddr, protocol, flow_direction, pkt_srcaddr, pkt_dstaddr, traffic_path, action, log_status,
    packets, bytes, start, "end",
    ${SERVICE_PORT} AS service_port,
    ${SERVICE_SIDE} AS service_side${o.hourly ? ',\n    CAST(floor(coalesce(start, 0) / 3600) AS BIGINT) AS hour' : ''}
  FROM ${o.from ?? 'flow_logs'}${o.where ? `\n  WHERE ${o.where}` : ''}
) AS r
GROUP BY ${keys}${hour}
ORDER BY first_start, ${keys}${hour}`;
}
