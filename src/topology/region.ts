// Which region this host's topology and prices are for: one answer, used everywhere (the topology
// file's region, then what IMDS says, then the SDK's variables, then us-east-1).
export const DEFAULT_REGION = 'us-east-1';

export type RegionSource = 'topology file' | 'IMDS' | 'AWS_REGION' | 'AWS_DEFAULT_REGION' | 'default';

export function resolveRegion(from: { file?: string; imds?: string; env?: NodeJS.ProcessEnv }): { region: string; source: RegionSource } {
  const env = from.env ?? process.env;
  if (from.file) return { region: from.file, source: 'topology file' };
  if (from.imds) return { region: from.imds, source: 'IMDS' };
  if (env.AWS_REGION) return { region: env.AWS_REGION, source: 'AWS_REGION' };
  if (env.AWS_DEFAULT_REGION) return { region: env.AWS_DEFAULT_REGION, source: 'AWS_DEFAULT_REGION' };
  return { region: DEFAULT_REGION, source: 'default' };
}
