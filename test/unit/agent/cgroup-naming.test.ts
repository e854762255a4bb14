import { describe, expect, it } from 'vitest';
import { cgroupWorkloadName, parseCgroupPath } from '../../../agent/containers/cgroup-naming.js';
import { cgroupV2MountPoints, findCgroupV2Root } from '../../../agent/containers/cgroup-root.js';

const ID = '4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d';
const UID = '0a1b2c3d-4e5f-6789-abcd-ef0123456789';
const UID_ = UID.replaceAll('-', '_');

describe('parseCgroupPath', () => {
  it.each([
    [
      'containerd, systemd driver, burstable',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      'containerd',
    ],
    [
      'containerd, systemd driver, guaranteed',
      `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      'containerd',
    ],
    [
      'CRI-O, systemd driver, besteffort',
      `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`,
      'crio',
    ],
    [
      'docker (cri-dockerd), systemd driver',
      `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/docker-${ID}.scope`,
      'docker',
    ],
    ['cgroupfs driver, burstable', `/kubepods/burstable/pod${UID}/${ID}`, 'cgroupfs'],
    ['cgroupfs driver, guaranteed', `/kubepods/pod${UID}/${ID}`, 'cgroupfs'],
    ['CRI-O, cgroupfs driver', `/kubepods/besteffort/pod${UID}/crio-${ID}`, 'crio'],
  ])('%s', (_name, path, runtime) => {
    expect(parseCgroupPath(path)).toEqual({ runtime, containerId: ID, podUid: UID });
  });

  it('keeps the container of a nested cgroup inside it', () => {
    const p = `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope/init.scope`;
    expect(parseCgroupPath(p)).toEqual({ runtime: 'containerd', containerId: ID, podUid: UID });
  });

  it('gives CRI-O conmon the pod but not the container', () => {
    const p = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/crio-conmon-${ID}.scope`;
    expect(parseCgroupPath(p)).toEqual({ runtime: '', containerId: '', podUid: UID });
  });

  it('reads a pod-level cgroup as pod without container', () => {
    expect(parseCgroupPath(`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice`)).toEqual({
      runtime: '',
      containerId: '',
      podUid: UID,
    });
  });

  it('recognises docker containers off Kubernetes', () => {
    expect(parseCgroupPath(`/system.slice/docker-${ID}.scope`)).toEqual({
      runtime: 'docker',
      containerId: ID,
      podUid: '',
    });
    expect(parseCgroupPath(`/docker/${ID}`)).toEqual({ runtime: 'cgroupfs', containerId: ID, podUid: '' });
  });

  it.each([
    '/',
    '/system.slice/nginx.service',
    '/user.slice/user-1000.slice/session-2.scope',
    `/system.slice/${ID}`, // a bare id outside a pod or /docker is not vouched for
    `/pod${UID}/${ID}`, // a pod segment counts only under kubepods
    `/kubepods.slice/kubepods-burstable.slice/cri-containerd-${ID.slice(1)}.scope`, // 63 hex
  ])('finds no container in %s', (path) => {
    expect(parseCgroupPath(path).containerId).toBe('');
  });
});

describe('cgroupWorkloadName', () => {
  it('names a cgroup by its path without the leading slash', () => {
    expect(cgroupWorkloadName('/system.slice/nginx.service')).toBe('system.slice/nginx.service');
    expect(cgroupWorkloadName('/')).toBe('/');
  });
});

describe('findCgroupV2Root', () => {
  const v1 = '30 25 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:9 - cgroup cgroup rw,memory';
  const hybrid = '35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid shared:8 - cgroup2 cgroup2 rw,nsdelegate';
  const unified = '35 25 0:30 / /sys/fs/cgroup rw,nosuid shared:8 - cgroup2 cgroup2 rw,nsdelegate';

  it('finds the unified mount of a hybrid host', () => {
    expect(findCgroupV2Root([v1, hybrid].join('\n'))).toBe('/sys/fs/cgroup/unified');
  });
  it('prefers /sys/fs/cgroup on a unified host', () => {
    expect(findCgroupV2Root([hybrid, unified].join('\n'))).toBe('/sys/fs/cgroup');
  });
  it('finds none on a v1-only host and unescapes mount points', () => {
    expect(findCgroupV2Root(v1)).toBeUndefined();
    expect(cgroupV2MountPoints('1 2 0:1 / /mnt/my\\040cg rw - cgroup2 none rw')).toEqual(['/mnt/my cg']);
  });
  it('detects this machine’s hierarchy', () => {
    const root = findCgroupV2Root();
    expect(root === '/sys/fs/cgroup' || root === '/sys/fs/cgroup/unified').toBe(true);
  });
});
