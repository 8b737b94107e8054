// IMDSv2 (token flow only, never IMDSv1): where this instance is and what its interfaces hold.
// The SDK honours AWS_EC2_METADATA_SERVICE_ENDPOINT; AWS_EC2_METADATA_DISABLED=true turns it off.
import { MetadataService } from '@aws-sdk/ec2-metadata-service';
import { ImdsDisabledError, ImdsUnreachableError } from './aws-errors.js';

export interface ImdsInterface {
  mac: string;
  vpcId: string;
  subnetId: string;
  subnetCidrs: string[]; // IPv4 and IPv6 of the interface's subnet
  vpcCidrs: string[]; // every IPv4/IPv6 CIDR of its VPC
  /** Every address of the interface: primary and secondary IPv4, IPv6, and delegated prefixes (EKS). */
  localIps: string[];
  publicIps: string[];
  /** The ENI's id (eni-…), '' where IMDS does not say. */
  interfaceId: string;
}

export interface ImdsInfo {
  region: string;
  zone: string;
  zoneId: string;
  instanceId: string;
  /** The instance's account, '' where IMDS does not say (identity-credentials/ec2/info). */
  accountId: string;
  interfaces: ImdsInterface[];
}


/** What went wrong, in words: the SDK says "IMDSv1 is disabled and fetching token is disabled" for no answer at all. */
function imdsFailure(e: Error): string {
  const m = e.message.split('\n')[0];
  if (/IMDSv1 is disabled and fetching token is disabled|fetching token/i.test(m)) return 'no answer to the IMDSv2 token request';
  if (/timed? ?out|ETIMEDOUT/i.test(m)) return 'no answer in time';
  return m;
}


function isNotFound(e: unknown): boolean {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
}

export interface ImdsOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export async function discoverImds(o: ImdsOptions = {}): Promise<ImdsInfo> {
  const env = o.env ?? process.env;
  if ((env.AWS_EC2_METADATA_DISABLED ?? '').toLowerCase() === 'true') {
    throw new ImdsDisabledError('IMDS is disabled (AWS_EC2_METADATA_DISABLED=true)');
  }
  const imds = new MetadataService({
    httpOptions: { timeout: o.timeoutMs ?? 1000 },
    ec2MetadataV1Disabled: true,
    retries: 1,
    backoff: 0.2,
  });
  const get = async (path: string): Promise<string> => (await imds.request(`/latest/meta-data/${path}`, {})).trim();
  const optional = async (path: string): Promise<string> => {
    try {
      return await get(path);
    } catch (e) {
      if (isNotFound(e)) return '';
      throw e;
    }
  };
  const lines = (s: string): string[] =>
    s
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);

  let region: string;
  try {
    region = await get('placement/region');
  } catch (e) {
    const endpoint = env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? 'http://169.254.169.254';
    throw new ImdsUnreachableError(
      `IMDS unreachable at ${endpoint}: not on EC2, or in a container with the IMDSv2 hop limit at 1 ` +
        `(aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2): ${imdsFailure(e as Error)}`,
    );
  }
  const zone = await get('placement/availability-zone');
  const zoneId = await optional('placement/availability-zone-id');
  const instanceId = await optional('instance-id');
  let accountId = '';
  try {
    const info = JSON.parse((await optional('identity-credentials/ec2/info')) || '{}') as { AccountId?: unknown };
    if (typeof info.AccountId === 'string' && /^\d{12}$/.test(info.AccountId)) accountId = info.AccountId;
  } catch {
    // not JSON: the account stays unknown
  }
  const interfaces: ImdsInterface[] = [];
  for (const entry of lines(await get('network/interfaces/macs/'))) {
    const mac = entry.replace(/\/$/, '');
    const base = `network/interfaces/macs/${mac}/`;
    const [vpcId, subnetId, subnet4, subnet6, vpc4, vpc6, local4, local6, public4, prefix4, prefix6, interfaceId] = await Promise.all([
      optional(`${base}vpc-id`),
      optional(`${base}subnet-id`),
      optional(`${base}subnet-ipv4-cidr-block`),
      optional(`${base}subnet-ipv6-cidr-blocks`),
      optional(`${base}vpc-ipv4-cidr-blocks`),
      optional(`${base}vpc-ipv6-cidr-blocks`),
      optional(`${base}local-ipv4s`),
      optional(`${base}ipv6s`),
      optional(`${base}public-ipv4s`),
      optional(`${base}ipv4-prefix`),
      optional(`${base}ipv6-prefix`),
      optional(`${base}interface-id`),
    ]);
    interfaces.push({
      mac,
      vpcId,
      subnetId,
      subnetCidrs: [...lines(subnet4), ...lines(subnet6)],
      vpcCidrs: [...lines(vpc4), ...lines(vpc6)],
      localIps: [...lines(local4), ...lines(local6), ...lines(prefix4), ...lines(prefix6)],
      publicIps: lines(public4),
      interfaceId,
    });
  }
  return { region, zone, zoneId, instanceId, accountId, interfaces };
}
