// `discover`: the topology from IMDSv2 + the EC2 API, printed as the YAML that --topology.file reads,
// to review it or to freeze it for hosts without IAM permissions.
import yaml from 'js-yaml';
import { log } from '../log.js';
import { discoverEc2, ec2Client, ec2Region, Ec2UnauthorizedError, type Ec2Info } from '../topology/ec2.js';
import { discoverImds } from '../topology/imds.js';
import { mergeTopology } from '../topology/manager.js';

export async function discover(out: (s: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const imds = await discoverImds({ env });
  let ec2: Ec2Info | undefined;
  const vpcId = imds.interfaces[0]?.vpcId;
  if (vpcId) {
    try {
      ec2 = await discoverEc2(ec2Client(ec2Region(env, imds)), vpcId);
    } catch (e) {
      if (!(e instanceof Ec2UnauthorizedError)) throw e;
      log.warn(`${e.message}; printing what IMDS knows: this instance's subnets, the rest of the VPC without zones`);
    }
  }
  const topology = mergeTopology(imds, ec2, undefined, env);
  out(
    `# discovered by az-traffic-exporter on ${imds.instanceId || 'this instance'} (${imds.zone}${imds.zoneId ? ', ' + imds.zoneId : ''}), ${new Date().toISOString()}\n` +
      `# source: IMDSv2${ec2 ? ' + EC2 API' : ' only'}; use with --topology.file\n` +
      yaml.dump(topology, { lineWidth: -1, noRefs: true }),
  );
}
