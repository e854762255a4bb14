/**
 * Which workload a pod belongs to, read from the pod object alone.
 *
 * A ReplicaSet's owning Deployment and a Job's owning CronJob are derived from the names
 * their controllers generate instead of fetched from the API: the agent runs on every
 * node with a token an attacker on that node can read, so it gets no RBAC beyond pods.
 * The derivations are exact for objects the built-in controllers create:
 * - the Deployment controller names a ReplicaSet `<deployment>-<pod-template-hash>` and
 *   stamps that hash on the pod as label `pod-template-hash` (a ReplicaSet created by
 *   hand carries no such label and stays a ReplicaSet);
 * - the CronJob controller names a Job `<cronjob>-<scheduled time in minutes since the
 *   epoch>`; a hand-made Job named like that is the one case this misreads.
 */
import type { V1ObjectMeta, V1Pod } from '@kubernetes/client-node';

export interface PodWorkload {
  /** Deployment, ReplicaSet, StatefulSet, DaemonSet, CronJob, Job, Pod, or a custom controller's kind. */
  readonly kind: string;
  readonly name: string;
}

/** 2015-01-01 and 2100-01-01 in minutes since the epoch: the range a CronJob suffix falls in. */
const CRONJOB_SUFFIX_MIN = 23_668_640;
const CRONJOB_SUFFIX_MAX = 68_170_080;

export function podWorkload(pod: V1Pod): PodWorkload {
  const meta = pod.metadata ?? {};
  const podName = meta.name ?? '';
  const owners = meta.ownerReferences ?? [];
  const owner = owners.find((o) => o.controller) ?? owners[0];
  if (!owner) return { kind: 'Pod', name: podName };
  switch (owner.kind) {
    case 'ReplicaSet': {
      const hash = meta.labels?.['pod-template-hash'];
      if (hash && owner.name.length > hash.length + 1 && owner.name.endsWith(`-${hash}`)) {
        return { kind: 'Deployment', name: owner.name.slice(0, -(hash.length + 1)) };
      }
      return { kind: 'ReplicaSet', name: owner.name };
    }
    case 'Job': {
      const m = /^(.+)-(\d{8})$/.exec(owner.name);
      const minutes = m ? Number(m[2]) : 0;
      if (m && minutes >= CRONJOB_SUFFIX_MIN && minutes <= CRONJOB_SUFFIX_MAX) return { kind: 'CronJob', name: m[1]! };
      return { kind: 'Job', name: owner.name };
    }
    case 'Node': {
      // Static pods are named "<manifest name>-<node>": strip the node so every node's
      // copy of the same manifest shares one profile.
      const node = pod.spec?.nodeName ?? owner.name;
      const name = podName.endsWith(`-${node}`) ? podName.slice(0, -(node.length + 1)) : podName;
      return { kind: 'Pod', name };
    }
    default:
      return { kind: owner.kind, name: owner.name };
  }
}

/** Runtime container id without the runtime scheme ("containerd://", "cri-o://", "docker://"). */
export function bareContainerId(id: string | undefined): string {
  if (!id) return '';
  const i = id.indexOf('://');
  return i >= 0 ? id.slice(i + 3) : id;
}

/** The content digest in a container status imageID ("docker.io/x@sha256:…", "sha256:…"). */
export function imageDigest(imageId: string | undefined): string {
  if (!imageId) return '';
  const m = /(sha256:[0-9a-f]{64})/.exec(imageId);
  return m ? m[1]! : '';
}

/** Shares a host namespace: every container in the pod can see or reach host resources. */
export function sharesHostNamespace(pod: V1Pod): boolean {
  return Boolean(pod.spec?.hostPID || pod.spec?.hostNetwork || pod.spec?.hostIPC);
}

/** Metadata an informer cache needs: identity, version, labels and owners. */
export function slimMetadata(m: V1ObjectMeta | undefined): V1ObjectMeta {
  return {
    name: m?.name,
    namespace: m?.namespace,
    uid: m?.uid,
    resourceVersion: m?.resourceVersion,
    labels: m?.labels,
    ownerReferences: m?.ownerReferences?.map((o) => ({
      apiVersion: o.apiVersion,
      kind: o.kind,
      name: o.name,
      uid: o.uid,
      controller: o.controller,
    })),
  };
}
