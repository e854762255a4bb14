/**
 * Container and pod identity from a cgroup v2 path, by the naming each runtime and the
 * kubelet use. Pure: no file system access, so every layout is unit-testable.
 *
 *   systemd driver: /kubepods.slice/kubepods-burstable.slice/
 *                     kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope
 *   cgroupfs driver: /kubepods/burstable/pod<uid>/<id>   (Guaranteed pods: /kubepods/pod<uid>/<id>)
 *   CRI-O: crio-<id>.scope (crio-conmon-<id>.scope is the runtime monitor, not the container)
 *   Docker: /system.slice/docker-<id>.scope, or /docker/<id> with the cgroupfs driver
 */

export type ContainerRuntime = 'containerd' | 'crio' | 'docker' | 'cgroupfs' | '';

export interface CgroupIdentity {
  /** Runtime recognised by the name; 'cgroupfs' when only a bare id showed it; '' off-container. */
  readonly runtime: ContainerRuntime;
  /** 64-hex container id; empty when the path is not a container's. */
  readonly containerId: string;
  /** Pod UID with dashes; empty off Kubernetes. */
  readonly podUid: string;
}

const SCOPE = /^(cri-containerd|crio|docker)-([0-9a-f]{64})(?:\.scope)?$/;
const CONMON = /^crio-conmon-[0-9a-f]{64}(?:\.scope)?$/;
const BARE_ID = /^[0-9a-f]{64}$/;
const SYSTEMD_POD = /^kubepods(?:-[a-z]+)?-pod([0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12})\.slice$/;
const CGROUPFS_POD = /^pod([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

const RUNTIME_BY_PREFIX: Record<string, ContainerRuntime> = {
  'cri-containerd': 'containerd',
  crio: 'crio',
  docker: 'docker',
};

const NONE: CgroupIdentity = Object.freeze({ runtime: '', containerId: '', podUid: '' });

/** Identity encoded in `path` (relative to the cgroup v2 root, leading slash optional). */
export function parseCgroupPath(path: string): CgroupIdentity {
  let runtime: ContainerRuntime = '';
  let containerId = '';
  let podUid = '';
  let underKubepods = false;
  let parentIsDockerOrPod = false;
  for (const seg of path.split('/')) {
    if (seg === '') continue;
    const wasDockerOrPod = parentIsDockerOrPod;
    parentIsDockerOrPod = false;
    if (seg === 'kubepods' || seg.startsWith('kubepods.') || seg.startsWith('kubepods-')) underKubepods = true;
    if (underKubepods) {
      const sd = SYSTEMD_POD.exec(seg);
      if (sd) {
        podUid = sd[1]!.replaceAll('_', '-');
        continue;
      }
      const fs = CGROUPFS_POD.exec(seg);
      if (fs) {
        podUid = fs[1]!;
        parentIsDockerOrPod = true;
        continue;
      }
    }
    if (seg === 'docker') {
      parentIsDockerOrPod = true;
      continue;
    }
    // The runtime monitor sits beside the container in the pod's cgroup: it is part of the
    // node's plumbing, so it must not resolve to (and pollute) the container's identity.
    if (CONMON.test(seg)) return { runtime: '', containerId: '', podUid };
    const sc = SCOPE.exec(seg);
    if (sc) {
      runtime = RUNTIME_BY_PREFIX[sc[1]!]!;
      containerId = sc[2]!;
      continue;
    }
    // A bare id is a container only where a runtime puts one (under a pod or /docker);
    // elsewhere a 64-hex directory name means nothing we can vouch for.
    if (wasDockerOrPod && BARE_ID.test(seg)) {
      runtime = 'cgroupfs';
      containerId = seg;
    }
  }
  if (!containerId && !podUid) return NONE;
  return { runtime, containerId, podUid };
}

/** The workload name of a cgroup off Kubernetes: its path without the leading slash ("/" for the root). */
export function cgroupWorkloadName(path: string): string {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}
