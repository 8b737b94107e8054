// The Helm chart's values.schema.json: its `topology` and `prices` values are the topology file and the
// prices file, so their schemas are generated from the zod schemas the exporter validates those files
// with (never written by hand: a key the code reads is a key the chart accepts). The chart's own values
// (image, mode, probes, ...) are described in the committed file; this rewrites only the generated parts.
// Run: npx tsx scripts/make-chart-schema.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { PricesFileSchema } from '../src/classify/prices-file.js';
import { TopologyFileSchema } from '../src/topology/model.js';

export const CHART_SCHEMA = join(import.meta.dirname, '..', 'helm', 'az-traffic-exporter', 'values.schema.json');

/** A file's schema as a chart value: what a user writes (input), in the JSON Schema draft Helm reads. */
function valueSchema(schema: z.ZodType, description: string): Record<string, unknown> {
  // refinements (CIDR and address checks) cannot be said in JSON Schema: the exporter checks them at start
  const generated = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete generated.$schema;
  return { description, ...generated };
}

/** The chart's schema with its generated parts made anew from the code's schemas. */
export function chartSchema(committed: Record<string, unknown>): Record<string, unknown> {
  const properties = { ...(committed.properties as Record<string, unknown>) };
  properties.topology = valueSchema(TopologyFileSchema, 'A topology file (what `az-traffic-exporter discover` prints); generated from the exporter\'s own schema');
  properties.prices = valueSchema(PricesFileSchema, 'A prices file ($/GB by category and by usage type); generated from the exporter\'s own schema');
  return { ...committed, properties };
}

export function renderSchema(schema: Record<string, unknown>): string {
  return JSON.stringify(schema, null, 2) + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CHART_SCHEMA, renderSchema(chartSchema(JSON.parse(readFileSync(CHART_SCHEMA, 'utf8')) as Record<string, unknown>)));
}
