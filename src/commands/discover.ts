// `discover`: the topology from IMDSv2 + the EC2 API, printed as the YAML that --topology.file reads,
// to review it or to freeze it for hosts without IAM permissions. The same sources and merge as serve.
import yaml from 'js-yaml';
import { log } from '../config/log.js';
import { Ec2UnauthorizedError } from '../topology/aws-errors.js';
import { TopologyManager } from '../topology/manager.js';
import { TopologyStatus } from '../topology/status.js';

export async function discover(out: (s: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // a source's failure is this command's answer, said once as its error: the sources' own warnings
  // would say it a second time
  const manager = new TopologyManager({ discoverAws: true, refreshIntervalMs: 0, ipRangesRefreshMs: 0, env }, new TopologyStatus(), log.atLeast('error'));
  await manager.refreshNow(['imds', 'ec2'], false);
  const imds = manager.imds;
  // without IMDS there is nothing to print; without EC2 permissions, what IMDS knows
  if (!imds) throw manager.errors.get('imds') ?? new Error('IMDS is disabled (AWS_EC2_METADATA_DISABLED=true): nothing to discover');
  const ec2Error = manager.errors.get('ec2');
  if (ec2Error && !(ec2Error instanceof Ec2UnauthorizedError)) throw ec2Error;
  const topology = manager.current();
  out(
    `# discovered by az-traffic-exporter on ${imds.instanceId || 'this instance'} (${imds.zone}${imds.zoneId ? ', ' + imds.zoneId : ''}), ${new Date().toISOString()}\n` +
      `# source: IMDSv2${manager.ec2 ? ' + EC2 API' : ' only'}; use with --topology.file\n` +
      yaml.dump(topology, { lineWidth: -1, noRefs: true }),
  );
}
