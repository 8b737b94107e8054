// `npx tsx scripts/make-story-flow-logs.ts DIR [IP_RANGES]`: the story's flow logs (scripts/lib/story-flow-logs.ts)
// as AWS delivers them (DIR/AWSLogs/…), and the VPC's topology (DIR/topology.yaml).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import YAML from 'yaml';
import { mirrorAddresses, STORY_TOPOLOGY, storyCorpus } from './lib/story-flow-logs.js';

const [dir, ipRanges = join(import.meta.dirname, '..', '..', 'shared', 'aws', 'ip-ranges.json')] = process.argv.slice(2);
if (!dir) {
  console.error('usage: tsx scripts/make-story-flow-logs.ts DIR [IP_RANGES]');
  process.exit(2);
}
for (const o of storyCorpus(mirrorAddresses(ipRanges))) {
  const f = join(dir, o.key);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, o.body);
}
writeFileSync(join(dir, 'topology.yaml'), YAML.stringify(STORY_TOPOLOGY));
console.log(`${dir}/AWSLogs and ${dir}/topology.yaml written`);
