// The Helm chart, checked as far as this machine allows (there is no helm binary): values against
// values.schema.json; every template rendered by a Go text/template + sprig renderer (test/helm-render)
// for the default, sidecar/IRSA and all-features values; every manifest validated against Kubernetes
// (and Prometheus Operator) object schemas; rules and dashboards inside equal to prometheus/ and grafana/.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { PodMonitor, PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, PersistentVolumeClaim, Service, ServiceAccount } from 'kubernetes-models/v1';
import YAML from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHART_SCHEMA, chartSchema, renderSchema } from '../scripts/make-chart-schema.js';
import { TopologyFileSchema } from '../src/topology/model.js';
import { tempDir } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const CHART = join(ROOT, 'helm', 'az-traffic-exporter');
const dir = tempDir();
let renderer = '';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, unknown>;

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/Deployment': Deployment,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

function render(values: object = {}, chart = CHART): { manifests: Manifest[]; notes: string } {
  const f = join(dir, `values-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, YAML.stringify(values));
  const notesFile = join(dir, 'notes.txt');
  const out = execFileSync('sh', ['-c', `"$0" "$1" rel monitoring "$2" 2>"$3"`, renderer, chart, f, notesFile], { encoding: 'utf8' });
  const manifests = YAML.parseAllDocuments(out).map((d) => d.toJS() as Manifest).filter(Boolean);
  return { manifests, notes: readFileSync(notesFile, 'utf8') };
}

function validate(manifests: Manifest[]): void {
  for (const m of manifests) {
    const Model = MODELS[`${m.apiVersion}/${m.kind}`];
    expect(Model, `${m.apiVersion} ${m.kind} has a schema here`).toBeDefined();
    expect(() => new Model(m as never).validate(), `${m.kind} ${m.metadata.name}`).not.toThrow();
    expect(m.metadata.labels?.['app.kubernetes.io/name']).toBe('az-traffic-exporter');
    expect(m.metadata.labels?.['helm.sh/chart']).toBe('az-traffic-exporter-0.1.0');
  }
}

const kinds = (ms: Manifest[]) => ms.map((m) => m.kind).sort();

beforeAll(() => {
  // the renderer builds from Debian's Go packages, offline; goutils ships without a go.mod
  const src = join(dir, 'helm-render');
  mkdirSync(src);
  cpSync(join(ROOT, 'test', 'helm-render', 'main.go'), join(src, 'main.go'));
  writeFileSync(
    join(src, 'go.mod'),
    readFileSync(join(ROOT, 'test', 'helm-render', 'go.mod'), 'utf8').replace(
      'github.com/Masterminds/goutils => /usr/share/gocode/src/github.com/Masterminds/goutils',
      'github.com/Masterminds/goutils => ./goutils',
    ),
  );
  cpSync('/usr/share/gocode/src/github.com/Masterminds/goutils', join(src, 'goutils'), { recursive: true });
  writeFileSync(join(src, 'goutils', 'go.mod'), 'module github.com/Masterminds/goutils\n');
  renderer = join(dir, 'helm-render-bin');
  execFileSync('go', ['build', '-o', renderer, '.'], {
    cwd: src,
    env: { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOSUMDB: 'off', GOTOOLCHAIN: 'local', GOCACHE: join(dir, 'gocache'), GOPATH: join(dir, 'gopath') },
    stdio: 'pipe',
  });
}, 180_000);

describe('values', () => {
  const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
  const check = new Ajv({ allErrors: true, strict: false }).compile(schema);

  it('values.yaml validates against values.schema.json', () => {
    const ok = check(YAML.parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')));
    expect(check.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema rejects what would break the chart', () => {
    for (const bad of [{ mode: 'deployment' }, { port: 70000 }, { serviceAccount: { irsaRoleArn: 'not-an-arn' } }, { extraArgs: ['no-dashes'] }, { typo: true }, { serviceMonitor: { interval: 'often' } }]) {
      expect(check(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('rendered chart', () => {
  it('defaults: a host-network DaemonSet with NET_RAW only, a ServiceAccount, a Service, and the pod watch of attribution', () => {
    const { manifests, notes } = render();
    expect(kinds(manifests)).toEqual(['ClusterRole', 'ClusterRoleBinding', 'DaemonSet', 'Service', 'ServiceAccount']);
    validate(manifests);
    const ds = manifests.find((m) => m.kind === 'DaemonSet') as unknown as DaemonSet;
    const pod = ds.spec!.template.spec!;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    const c = pod.containers[0];
    expect(c.securityContext?.capabilities).toEqual({ drop: ['ALL'], add: ['NET_RAW'] });
    expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(c.args).toContain('--web.listen-address=:9977');
    expect(c.readinessProbe?.httpGet?.path).toBe('/-/ready');
    expect(c.livenessProbe?.httpGet?.path).toBe('/-/healthy');
    expect(pod.tolerations).toEqual([{ operator: 'Exists', effect: 'NoSchedule' }]);
    expect(notes).toMatch(/runs on every node/);
    // attribution: this node's pods, watched with the service account's token and only these rights
    expect(c.args).toEqual(expect.arrayContaining(['--kubernetes.node-name=$(NODE_NAME)', '--workload.processes=false']));
    expect(c.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.hostPID).toBeUndefined();
    const role = manifests.find((m) => m.kind === 'ClusterRole') as unknown as ClusterRole;
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['apps'], resources: ['replicasets'], verbs: ['get'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['get'] },
    ]);
    const binding = manifests.find((m) => m.kind === 'ClusterRoleBinding') as unknown as ClusterRoleBinding;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'rel-az-traffic-exporter', namespace: 'monitoring' }]);
    // and the schema check can fail: a DaemonSet without selector or template is rejected
    expect(() => new DaemonSet({ metadata: { name: 'broken' }, spec: {} } as never).validate()).toThrow();
  });

  it('process attribution: hostPID, and root with NET_RAW, SYS_PTRACE, DAC_READ_SEARCH, NET_ADMIN and SYS_NICE only', () => {
    const { manifests } = render({ attribution: { processes: true } });
    const pod = (manifests.find((m) => m.kind === 'DaemonSet') as unknown as DaemonSet).spec!.template.spec!;
    expect(pod.hostPID).toBe(true);
    const c = pod.containers[0];
    expect(c.args).toContain('--workload.processes=true');
    expect(c.securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_RAW', 'SYS_PTRACE', 'DAC_READ_SEARCH', 'NET_ADMIN', 'SYS_NICE'] } });
    validate(manifests);
    // off: no RBAC, no token, and the exporter told so
    const off = render({ attribution: { enabled: false } });
    expect(kinds(off.manifests)).toEqual(['DaemonSet', 'Service', 'ServiceAccount']);
    const offPod = (off.manifests.find((m) => m.kind === 'DaemonSet') as unknown as DaemonSet).spec!.template.spec!;
    expect(offPod.automountServiceAccountToken).toBe(false);
    expect(offPod.containers[0].args).toContain('--workload.attribution=false');
  });

  it('a named template other charts include for a sidecar that labels everything with its workload', () => {
    // another chart's pod template, rendered with this chart's helpers (as a dependency's templates are)
    const other = join(dir, 'other-chart');
    cpSync(CHART, other, { recursive: true });
    writeFileSync(
      join(other, 'templates', 'zz-app.yaml'),
      `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: checkout
  labels:
    {{- include "az-traffic-exporter.labels" . | nindent 4 }}
spec:
  selector: {matchLabels: {app: checkout}}
  template:
    metadata: {labels: {app: checkout}}
    spec:
      containers:
        - name: app
          image: example/checkout:1
        - {{- include "az-traffic-exporter.sidecar" (dict "kind" "Deployment" "name" "checkout" "args" (list "--log.format=json")) | nindent 10 }}
`,
    );
    const { manifests } = render({ mode: 'sidecar' }, other);
    const app = manifests.find((m) => m.metadata.name === 'checkout') as unknown as DaemonSet;
    expect(() => new DaemonSet(app as never).validate()).not.toThrow();
    const side = app.spec!.template.spec!.containers[1];
    expect(side.args).toEqual(expect.arrayContaining(['--workload.fixed=$(POD_NAMESPACE)/Deployment/checkout', '--workload.processes=false', '--log.format=json']));
    expect(side.env).toContainEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    // the application's readiness never waits on the exporter's topology sources
    expect(side.readinessProbe?.httpGet?.path).toBe('/-/healthy');
    // the flag the template writes is one the exporter takes
    const fixed = side.args!.find((a) => a.startsWith('--workload.fixed='))!.replace('$(POD_NAMESPACE)', 'shop');
    // (a bad listen address makes it stop right after the flags were taken: exit 2 naming that one)
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'serve', fixed, '--web.listen-address', 'no-port'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/web\.listen-address/);
    expect(r.stderr).not.toMatch(/workload\.fixed/);
  });

  it('sidecar mode with IRSA: no workload, a container spec to paste, the role on the ServiceAccount, a PodMonitor', () => {
    const { manifests, notes } = render({ mode: 'sidecar', serviceAccount: { irsaRoleArn: 'arn:aws:iam::123456789012:role/aztraffic' }, podMonitor: { enabled: true } });
    expect(kinds(manifests)).toEqual(['ConfigMap', 'PodMonitor', 'ServiceAccount']);
    validate(manifests);
    const sa = manifests.find((m) => m.kind === 'ServiceAccount')!;
    expect(sa.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe('arn:aws:iam::123456789012:role/aztraffic');
    const cm = manifests.find((m) => m.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const container = YAML.parse(cm.data['container.yaml']) as Record<string, unknown>[];
    expect(container).toHaveLength(1);
    // what is pasted must be a valid container of a pod
    const podCheck = new DaemonSet({
      metadata: { name: 'x' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: container as never, volumes: YAML.parse(cm.data['volumes.yaml']) } } },
    });
    expect(() => podCheck.validate()).not.toThrow();
    expect(notes).toMatch(/Sidecar mode: nothing runs yet/);
    // the pasted sidecar labels everything with its own pod (downward API)
    expect(container[0].args).toContain('--workload.fixed=$(POD_NAMESPACE)/Pod/$(POD_NAME)');
    expect((container[0] as { readinessProbe: { httpGet: { path: string } } }).readinessProbe.httpGet.path).toBe('/-/healthy');
    // the job the alert rules select, whatever the watched pods' labels
    const pm = manifests.find((m) => m.kind === 'PodMonitor') as unknown as { spec: { podMetricsEndpoints: { relabelings: object[] }[] } };
    expect(pm.spec.podMetricsEndpoints[0].relabelings).toContainEqual({ targetLabel: 'job', replacement: 'az-traffic-exporter' });
  });

  it('flowlogs mode: one Deployment replica (Recreate) reading S3 with IRSA, no host network and no capability, its state on a PersistentVolumeClaim, scraped through its Service', () => {
    const { manifests, notes } = render({
      mode: 'flowlogs',
      flowLogs: { url: 's3://central-logs/AWSLogs/', pollInterval: '30s' },
      serviceAccount: { irsaRoleArn: 'arn:aws:iam::123456789012:role/aztraffic-flow-logs' },
      serviceMonitor: { enabled: true },
    });
    expect(kinds(manifests)).toEqual(['Deployment', 'PersistentVolumeClaim', 'Service', 'ServiceAccount', 'ServiceMonitor']);
    validate(manifests);
    const d = manifests.find((m) => m.kind === 'Deployment') as unknown as {
      spec: { replicas: number; strategy: { type: string }; template: { spec: { hostNetwork?: boolean; hostPID?: boolean; containers: { args: string[]; env?: unknown[]; securityContext: { capabilities: { add?: string[]; drop: string[] }; allowPrivilegeEscalation: boolean }; volumeMounts: { name: string; mountPath: string }[] }[]; volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[] } } };
    };
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy.type).toBe('Recreate');
    const pod = d.spec.template.spec;
    expect(pod.hostNetwork).toBeUndefined();
    expect(pod.hostPID).toBeUndefined();
    const c = pod.containers[0];
    expect(c.args).toEqual(expect.arrayContaining(['serve', '--flow-logs.url=s3://central-logs/AWSLogs/', '--flow-logs.state=/var/lib/az-traffic-exporter/state.json', '--flow-logs.poll-interval=30s', '--flow-logs.since=1h']));
    // nothing of a capture: no pod watch, no interface, no capability
    expect(c.args.filter((a) => /--kubernetes|--interface|--workload\.fixed/.test(a))).toEqual([]);
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'] });
    expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(c.volumeMounts).toContainEqual({ name: 'state', mountPath: '/var/lib/az-traffic-exporter' });
    expect(pod.volumes).toContainEqual({ name: 'state', persistentVolumeClaim: { claimName: 'rel-az-traffic-exporter-state' } });
    const sa = manifests.find((m) => m.kind === 'ServiceAccount')!;
    expect(sa.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe('arn:aws:iam::123456789012:role/aztraffic-flow-logs');
    expect(notes).toMatch(/counts the VPC Flow Logs of s3:\/\/central-logs\/AWSLogs\//);
    // no URL: the render fails saying what is missing
    expect(() => render({ mode: 'flowlogs' })).toThrow();
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toMatch(/flowLogs.url \(s3:\/\/BUCKET\/PREFIX\) is required in flowlogs mode/);
    // without persistence the state is the pod's
    const ephemeral = render({ mode: 'flowlogs', flowLogs: { url: 's3://b/p/', persistence: { enabled: false } } }).manifests;
    expect(kinds(ephemeral)).toEqual(['Deployment', 'Service', 'ServiceAccount']);
  });

  it('everything on: ServiceMonitor, PrometheusRule and dashboards equal to the repository files, topology and prices files mounted', () => {
    const topology = { region: 'us-east-1', subnets: [{ cidr: '10.9.0.0/16', zone: 'us-east-1a', zone_id: 'use1-az6' }] };
    const prices = { prices: { unclassified: { egress: 0.02 } } };
    const { manifests } = render({ serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, dashboards: { enabled: true, namespace: 'grafana' }, topology, prices, extraArgs: ['--remote.top-k=200'] });
    expect(kinds(manifests)).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'ConfigMap', 'DaemonSet', 'PrometheusRule', 'Service', 'ServiceAccount', 'ServiceMonitor']);
    validate(manifests);

    const rule = manifests.find((m) => m.kind === 'PrometheusRule') as unknown as { spec: { groups: unknown[] } };
    const repo = (f: string) => (YAML.parse(readFileSync(join(ROOT, 'prometheus', f), 'utf8')) as { groups: unknown[] }).groups;
    expect(rule.spec.groups).toEqual([...repo('rules.yml'), ...repo('alerts.yml')]);

    const dash = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-dashboards')) as unknown as Manifest & { data: Record<string, string> };
    expect(dash.metadata.labels?.grafana_dashboard).toBe('1');
    expect(dash.metadata.namespace).toBe('grafana');
    for (const f of ['overview.json', 'host.json']) {
      expect(JSON.parse(dash.data[`az-traffic-${f}`])).toEqual(JSON.parse(readFileSync(join(ROOT, 'grafana', 'dashboards', f), 'utf8')));
    }
    const config = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name.endsWith('-config')) as unknown as { data: Record<string, string> };
    expect(YAML.parse(config.data['topology.yaml'])).toEqual(topology);
    expect(YAML.parse(config.data['prices.yaml'])).toEqual(prices);
    const ds = manifests.find((m) => m.kind === 'DaemonSet') as unknown as DaemonSet;
    const c = ds.spec!.template.spec!.containers[0];
    expect(c.args).toEqual(expect.arrayContaining(['--topology.file=/etc/az-traffic-exporter/topology.yaml', '--prices.file=/etc/az-traffic-exporter/prices.yaml', '--remote.top-k=200']));
    // the job label names a label the Service has, whose value is the job the alert rules select
    const sm = manifests.find((m) => m.kind === 'ServiceMonitor') as unknown as { spec: { jobLabel: string } };
    const svc = manifests.find((m) => m.kind === 'Service')!;
    expect(svc.metadata.labels?.[sm.spec.jobLabel]).toBe('az-traffic-exporter');
    const alerts = readFileSync(join(ROOT, 'prometheus', 'alerts.yml'), 'utf8');
    expect(alerts).toContain(`job="${svc.metadata.labels?.[sm.spec.jobLabel]}"`);
  });

  it('a topology with every key of the topology file validates, renders and is one the exporter accepts', () => {
    // the demo's (route tables, NAT gateways, endpoints, prefix lists: what discover prints) and the rest
    const topology = {
      ...(YAML.parse(readFileSync(join(ROOT, 'demo', 'topology.yaml'), 'utf8')) as Record<string, unknown>),
      local_macs: ['0a:1b:2c:3d:4e:5f'],
      load_balancers: [{ ip: '172.31.50.10', kind: 'nlb', name: 'net/web/0123456789abcdef', zone: 'us-east-1d', zone_id: 'use1-az4' }],
      interfaces: [{ id: 'eni-0natinst', instance: 'i-0natinst', zone: 'us-east-1d', zone_id: 'use1-az4' }],
      vpn_gateways: [{ id: 'vgw-0dx', direct_connect: true }],
      host: { instance_id: 'i-0demo0000000001', account_id: '111122223333', interfaces: ['eni-0demo0000000001'] },
    };
    expect(Object.keys(topology).sort()).toEqual(Object.keys(TopologyFileSchema.shape).sort());
    const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
    const check = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(check({ topology }), JSON.stringify(check.errors)).toBe(true);
    // a misspelt key is still refused
    expect(check({ topology: { ...topology, route_table: [] } })).toBe(false);
    const { manifests } = render({ topology, prices: { prices: { internet: { egress: 0.05 } }, usage_types: { 'NatGateway-Bytes': 0.05 } } });
    validate(manifests);
    const cm = manifests.find((m) => m.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    expect(YAML.parse(cm.data['topology.yaml'])).toEqual(topology);
    const f = join(dir, 'mounted-topology.yaml');
    writeFileSync(f, cm.data['topology.yaml']);
    const p = join(dir, 'mounted-prices.yaml');
    writeFileSync(p, cm.data['prices.yaml']);
    const r = execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'analyze', join(ROOT, 'demo', 'demo.pcapng'), '--topology.file', f, '--prices.file', p, '--local-ip', '172.31.51.15', '--format', 'json'], { encoding: 'utf8' });
    expect(JSON.parse(r).region).toBe('us-east-1');
  });

  it('values.schema.json is what scripts/make-chart-schema.ts generates from the exporter\'s schemas', () => {
    const committed = readFileSync(CHART_SCHEMA, 'utf8');
    expect(committed, 'run npx tsx scripts/make-chart-schema.ts').toBe(renderSchema(chartSchema(JSON.parse(committed) as Record<string, unknown>)));
  });
});
