// `serve` (the default command): its flags and how it runs, loading the command's code only then.
import { InvalidArgumentError, type Command } from 'commander';
import { POD_OWNER_KINDS, type PodOwnerKind } from '../attribution/workloads.js';
import type { Running } from './running.js';
import type { ServeOptions } from './serve.js';
import type { FlowLogServeOptions } from './serve-flow-logs.js';
import { bool, configureLog, countingFlags, duration, intIn, ipRangesDownloadFlags, localIpFlag, momentArg, opt, webFlags, type LogOptions } from './flags.js';
import { ConfigError } from '../config/errors.js';

/** Flags of a live capture, which an exporter of flow logs does not take. */
const CAPTURE_FLAGS = ['interface', 'localIp', 'workload.fixed', 'kubernetes.nodeName'] as const;

function fixedWorkload(v: string): { namespace: string; kind: PodOwnerKind; name: string } {
  const m = /^([^/]*)\/([^/]+)\/([^/]+)$/.exec(v);
  const kind = POD_OWNER_KINDS.find((k) => k === m?.[2]);
  if (!m || !kind) throw new InvalidArgumentError(`expected NAMESPACE/KIND/NAME with KIND one of ${POD_OWNER_KINDS.join(', ')}`);
  return { namespace: m[1], kind, name: m[3] };
}

export function defineServe(program: Command, onStop: (running: Running) => void): Command {
  const c = program
    .command('serve')
    .description('capture live and serve metrics (the default command)')
    .addOption(opt('--interface <name>', 'interface to capture on, or "any" (default: the interface of the default route)'))
    .addOption(opt('--capture.filter <bpf>', 'BPF filter of the counted packets').default(''))
    .addOption(opt('--capture.buffer-bytes <n>', 'kernel capture buffer; below 64 MiB packets drop at ~300k packets/s').argParser(intIn(1 << 20, 2 ** 31 - 1)).default(64 << 20))
    .addOption(opt('--capture.snaplen <n>', 'bytes of each packet copied for counting (headers; of port 53, up to 576 while names are learned without a capture filter and this is at least 96)').argParser(intIn(64, 65535)).default(192))
    .addOption(bool('--capture.dns <bool>', 'learn remote names from DNS responses (a second capture handle)', true))
    .addOption(opt('--web.shutdown-grace <seconds>', 'after SIGTERM, keep serving the last counts this long').argParser(intIn(0, 300)).default(5))
    .addOption(opt('--metrics.flush-interval <seconds>', 'move counts into the registry at least this often').argParser(intIn(1, 300)).default(10))
    .addOption(bool('--aws.discovery <bool>', 'learn the topology from IMDSv2 and the EC2 API (the topology file wins where both speak)', true))
    .addOption(duration('--topology.refresh-interval <duration>', 'how often to refresh the EC2 topology', 300_000, '5m'))
    .addOption(duration('--ip-ranges.refresh-interval <duration>', 'how often to download ip-ranges.json again', 86_400_000, '24h'))
    .addOption(duration('--topology.hold <duration>', 'hold what is counted before the topology sources first answer (a first boot) this long at most, then count it unclassified; 0: never hold', 600_000, '10m'))
    .addOption(bool('--workload.attribution <bool>', 'count bytes per workload (pod, systemd unit, process): aztraffic_workload_bytes_total', true))
    .addOption(bool('--workload.processes <bool>', "attribute the host's own addresses to the processes of their sockets through /proc (needs the host's PID namespace)", true))
    .addOption(opt('--workload.flow-table-size <n>', "flows of the host's own addresses tracked for attribution; beyond, new flows are workload_kind=\"unknown\"").argParser(intIn(1024, 16_777_216)).default(65536))
    .addOption(opt('--workload.fixed <namespace/kind/name>', 'sidecar: every byte belongs to this workload (e.g. shop/Deployment/checkout)').argParser(fixedWorkload))
    .addOption(opt('--kubernetes.node-name <name>', "watch this node's pods (in-cluster service account, else KUBECONFIG) and attribute their bytes"))
    .addOption(opt('--flow-logs.url <url>', 'agentless: count VPC Flow Logs as they arrive in s3://BUCKET/PREFIX (or file:///DIR), capturing nothing'))
    .addOption(opt('--flow-logs.state <file>', 'with --flow-logs.url: where the cursor and the counters are kept, written after every object (a restart neither loses nor counts twice)'))
    .addOption(duration('--flow-logs.poll-interval <duration>', 'with --flow-logs.url: how often to look for new objects', 60_000, '1m'))
    .addOption(opt('--flow-logs.since <time>', 'with --flow-logs.url, at a first start (no state yet): count objects from this time on (2026-12-06T08:00:00Z, 2026-12-06, or a duration before now)').argParser(momentArg).default(undefined, '1h ago'));
  localIpFlag(c, "more addresses of this host (repeatable; the interface's own are always local)");
  ipRangesDownloadFlags(c);
  countingFlags(webFlags(c));
  return c.action(async (o: ServeOptions & Partial<FlowLogServeOptions> & LogOptions) => {
    configureLog(o);
    if (o['flowLogs.url'] !== undefined) {
      const given = CAPTURE_FLAGS.find((f) => o[f] !== undefined);
      if (given) throw new ConfigError(`--${given.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)} is a live capture's: serve --flow-logs.url captures nothing`);
      const { serveFlowLogs } = await import('./serve-flow-logs.js');
      onStop(await serveFlowLogs({ ...o, 'flowLogs.url': o['flowLogs.url'], 'flowLogs.since': o['flowLogs.since'] ?? Date.now() / 1000 - 3600, 'flowLogs.pollInterval': o['flowLogs.pollInterval'] ?? 60_000 }));
      return;
    }
    for (const f of ['flowLogs.state', 'flowLogs.since'] as const) if (o[f] !== undefined) throw new ConfigError(`--${f.replace('flowLogs.', 'flow-logs.')} is of serve --flow-logs.url, which is not given`);
    // commands load what they need when they run: the AWS SDK alone takes longer to import than analyze needs to start
    const { serve } = await import('./serve.js');
    onStop(await serve(o));
  });
}
