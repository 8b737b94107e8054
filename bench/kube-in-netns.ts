// npm run bench:live's Kubernetes API, run inside the exporter's namespace (ip netns exec … node --import
// tsx bench/kube-in-netns.ts DIR PODS NODE HOST_IP): the test suite's fake API server, in the real wire
// format, listing PODS pods on NODE, each its own Deployment, at 172.31.52.10 and up. It writes
// DIR/kubeconfig, prints "ready", and serves until it is stopped.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deploymentPod, FakeKube } from '../test/fakes/kube.js';

const [dir, count, node, hostIp] = process.argv.slice(2);
const kube = new FakeKube();
await kube.start(dir);
for (let i = 0; i < Number(count); i++) {
  const deployment = `svc-${String(i).padStart(3, '0')}`;
  kube.setOwner('ReplicaSet', 'bench', `${deployment}-5f6d7`, { kind: 'Deployment', name: deployment });
  kube.add(deploymentPod({ name: `${deployment}-5f6d7-x${i}`, namespace: 'bench', deployment, hash: '5f6d7', node, ip: `172.31.${52 + (i >> 8)}.${10 + (i & 255)}`, hostIp }));
}
writeFileSync(join(dir, 'kubeconfig'), kube.kubeconfig());
process.stdout.write('ready\n');
process.on('SIGTERM', () => void kube.stop().then(() => process.exit(0)));
