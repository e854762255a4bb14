/** Pod, Service, Namespace objects as the API server would hold them, for the fake API server tests. */
import type { KubeObject } from '../../helpers/fake-kube-api.js';

export interface PodFixture {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly node?: string;
  readonly owner?: { kind: string; name: string };
  readonly labels?: Record<string, string>;
  readonly containers?: readonly { name: string; image: string; id?: string; privileged?: boolean; imageId?: string }[];
  readonly initContainers?: readonly { name: string; image: string; id?: string }[];
  readonly hostPID?: boolean;
  readonly podIP?: string;
  readonly serviceAccount?: string;
}

export function digestOf(n: number): string {
  return `sha256:${n.toString(16).padStart(64, '0')}`;
}

export function pod(f: PodFixture): KubeObject {
  const containers = f.containers ?? [{ name: 'app', image: 'registry.example/app:1.0' }];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: f.name,
      namespace: f.namespace ?? 'default',
      ...(f.uid ? { uid: f.uid } : {}),
      labels: f.labels ?? {},
      ownerReferences: f.owner
        ? [
            {
              apiVersion: 'apps/v1',
              kind: f.owner.kind,
              name: f.owner.name,
              uid: `${f.owner.name}-uid`,
              controller: true,
            },
          ]
        : [],
    },
    spec: {
      nodeName: f.node ?? 'node-a',
      serviceAccountName: f.serviceAccount ?? 'default',
      hostPID: f.hostPID ?? false,
      containers: containers.map((c) => ({
        name: c.name,
        image: c.image,
        ...(c.privileged ? { securityContext: { privileged: true } } : {}),
      })),
      ...(f.initContainers ? { initContainers: f.initContainers.map((c) => ({ name: c.name, image: c.image })) } : {}),
    },
    status: {
      phase: 'Running',
      ...(f.podIP ? { podIP: f.podIP, podIPs: [{ ip: f.podIP }] } : {}),
      containerStatuses: containers
        .filter((c) => c.id)
        .map((c) => ({
          name: c.name,
          image: c.image,
          imageID: c.imageId ?? `${c.image.split(':')[0]}@${digestOf(7)}`,
          containerID: c.id,
          ready: true,
          restartCount: 0,
          state: { running: {} },
        })),
      ...(f.initContainers
        ? {
            initContainerStatuses: f.initContainers
              .filter((c) => c.id)
              .map((c) => ({
                name: c.name,
                image: c.image,
                imageID: digestOf(9),
                containerID: c.id,
                ready: false,
                restartCount: 0,
                state: { terminated: { exitCode: 0 } },
              })),
          }
        : {}),
    },
  };
}

export function namespace(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export function service(name: string, ns: string, clusterIP: string, selector: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { clusterIP, clusterIPs: [clusterIP], selector, ports: [{ port: 80, protocol: 'TCP' }] },
  };
}
