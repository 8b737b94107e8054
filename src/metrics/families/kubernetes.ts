// The pod watch's health: whether it is up, how often it listed and failed, how many pods it knows.
import client from 'prom-client';
import type { PodWatchHealth } from '../../attribution/kube-pods.js';

export function kubernetesFamily(registry: client.Registry): PodWatchHealth {
  const registers = [registry];
  const up = new client.Gauge({ name: 'aztraffic_kubernetes_watch_up', help: "1 while the watch of this node's pods is open and answering (after a successful list), else 0.", registers });
  const lists = new client.Counter({ name: 'aztraffic_kubernetes_lists_total', help: "Lists of this node's pods: the first, and each after the watch's resourceVersion expired (410) or failed.", registers });
  const failures = new client.Counter({ name: 'aztraffic_kubernetes_watch_failures_total', help: 'Pod watches that ended in an error, by reason (gone: 410, listed again; error: retried with backoff; ended_early: ended within 10 s without one, retried with backoff; too_large: an event past 16 MiB, listed again).', labelNames: ['reason'], registers });
  const pods = new client.Gauge({ name: 'aztraffic_kubernetes_pods', help: 'Pods of this node known from the API server.', registers });
  const skipped = new client.Counter({
    name: 'aztraffic_kubernetes_skipped_total',
    help: 'What the API server sent that could not be used and was skipped, by reason (bad_object: a pod that could not be read; bad_address: an address in a pod that is no address).',
    labelNames: ['reason'],
    registers,
  });
  up.set(0);
  for (const reason of ['gone', 'error', 'ended_early', 'too_large']) failures.inc({ reason }, 0);
  for (const reason of ['bad_object', 'bad_address']) skipped.inc({ reason }, 0);
  return {
    up: (v) => up.set(v),
    listed: () => lists.inc(),
    failed: (reason) => failures.inc({ reason }),
    pods: (n) => pods.set(n),
    skipped: (reason, n = 1) => skipped.inc({ reason }, n),
  };
}
