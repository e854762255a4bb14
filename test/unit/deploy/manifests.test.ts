import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Problems } from '../../../lib/config-problems.js';
import { parseAgentConfig } from '../../../agent/config.js';
import { parseKubePodResolverConfig } from '../../../agent/kube/kube-pod-resolver-config.js';
import { parseCollectorConfig } from '../../../collector/collector-config.js';
import { parseKubeCollectorConfig } from '../../../collector/kube/kube-collector-config.js';
import { compileRuntimePolicy, type RuntimePolicy } from '../../../collector/kube/runtime-policy.js';
import { baselineName, toBaselineSpec, toBaselineStatus } from '../../../collector/kube/runtime-baseline.js';
import { workloadKey } from '../../../proto/events.js';
import { RULE_IDS } from '../../../proto/incident.js';
import { renderKustomization, type Manifest } from '../../helpers/kustomize-render.js';
import { structuralProblems, validateAgainst, type SchemaNode } from './openapi-schema.js';

const ROOT = join(import.meta.dirname, '../../../deploy');
const base = renderKustomization(ROOT);
const example = renderKustomization(join(ROOT, 'overlays/example'));

const find = (set: Manifest[], kind: string, name: string): Manifest => {
  const o = set.find((m) => m.kind === kind && m.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} is not in the rendered set`);
  return o;
};

type Container = {
  name: string;
  image: string;
  ports?: { name: string; containerPort: number }[];
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: { httpGet?: { port: string } };
  readinessProbe?: { httpGet?: { port: string } };
  env?: { name: string }[];
};
type PodSpec = {
  containers: Container[];
  volumes?: Record<string, unknown>[];
  hostPID?: boolean;
  hostNetwork?: boolean;
  serviceAccountName?: string;
  tolerations?: Record<string, unknown>[];
  securityContext?: Record<string, unknown>;
};
const podSpec = (o: Manifest): PodSpec => (o['spec'] as { template: { spec: PodSpec } }).template.spec;

/** The kubernetes-models class for an object, e.g. apps/v1 DaemonSet. */
async function modelFor(o: Manifest): Promise<new (data: unknown) => { validate(): void }> {
  const path = o.apiVersion.includes('/') ? o.apiVersion : `v1`;
  const mod = (await import(/* @vite-ignore */ `kubernetes-models/${path}/${o.kind}`)) as Record<
    string,
    new (data: unknown) => { validate(): void }
  >;
  const cls = mod[o.kind];
  if (!cls) throw new Error(`no model for ${o.apiVersion} ${o.kind}`);
  return cls;
}

describe('deploy/ manifests', () => {
  it('renders the complete base: every component, in the tripline namespace', () => {
    const ids = base.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(ids).toEqual(
      [
        'ClusterRole/tripline-agent',
        'ClusterRole/tripline-collector',
        'ClusterRoleBinding/tripline-agent',
        'ClusterRoleBinding/tripline-collector',
        'ConfigMap/tripline-config',
        'CustomResourceDefinition/runtimebaselines.tripline.io',
        'CustomResourceDefinition/runtimepolicies.tripline.io',
        'DaemonSet/tripline-agent',
        'Namespace/tripline',
        'NetworkPolicy/tripline-agent',
        'NetworkPolicy/tripline-collector',
        'PodDisruptionBudget/tripline-collector',
        'Service/tripline-collector',
        'Service/tripline-collector-headless',
        'ServiceAccount/tripline-agent',
        'ServiceAccount/tripline-collector',
        'StatefulSet/tripline-collector',
      ].sort(),
    );
    for (const o of base) {
      if (['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind))
        expect(o.metadata.namespace, o.kind).toBeUndefined();
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('tripline');
      expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe('tripline');
    }
  });

  it.each([
    ['base', base],
    ['overlays/example', example],
  ])('every built-in object in %s validates against the Kubernetes schemas', async (_name, set) => {
    const builtIn = set.filter((o) => o.apiVersion !== 'tripline.io/v1alpha1');
    for (const o of builtIn) {
      const Model = await modelFor(o);
      expect(() => new Model(o).validate(), `${o.kind}/${o.metadata.name}`).not.toThrow();
    }
    expect(builtIn.length).toBeGreaterThan(15);
  });

  it('the schema check catches a broken manifest (the validator is live)', async () => {
    const ds = structuredClone(find(base, 'DaemonSet', 'tripline-agent'));
    podSpec(ds).containers[0]!.image = 42 as unknown as string;
    const Model = await modelFor(ds);
    expect(() => new Model(ds).validate()).toThrow(/image/);
  });

  it('CRDs have structural schemas, a status subresource and printer columns', () => {
    for (const name of ['runtimepolicies.tripline.io', 'runtimebaselines.tripline.io']) {
      const crd = find(base, 'CustomResourceDefinition', name);
      const versions = (
        crd['spec'] as {
          versions: {
            name: string;
            storage: boolean;
            subresources?: { status?: object };
            additionalPrinterColumns?: unknown[];
            schema: { openAPIV3Schema: SchemaNode };
          }[];
        }
      ).versions;
      expect(versions.map((v) => v.name)).toEqual(['v1alpha1']);
      const v = versions[0]!;
      expect(v.storage).toBe(true);
      expect(v.subresources?.status).toEqual({});
      expect(v.additionalPrinterColumns?.length).toBeGreaterThanOrEqual(3);
      expect(structuralProblems(v.schema.openAPIV3Schema)).toEqual([]);
    }
  });

  const schemaOf = (name: string): SchemaNode =>
    (
      find(base, 'CustomResourceDefinition', name)['spec'] as {
        versions: { schema: { openAPIV3Schema: SchemaNode } }[];
      }
    ).versions[0]!.schema.openAPIV3Schema;

  it('the example RuntimePolicies satisfy the CRD schema and the collector accepts them', () => {
    const policies = example.filter((o) => o.kind === 'RuntimePolicy');
    expect(policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort()).toEqual([
      'payments/checkout',
      'tripline/default',
    ]);
    for (const p of policies) {
      expect(validateAgainst(schemaOf('runtimepolicies.tripline.io'), p)).toEqual([]);
      const compiled = compileRuntimePolicy(p as unknown as RuntimePolicy);
      expect(compiled.ok ? [] : compiled.problems).toEqual([]);
    }
    // The CRD and the collector agree on rule ids.
    const overrides = (schemaOf('runtimepolicies.tripline.io').properties!['spec']!.properties!['severityOverrides']!
      .properties ?? {}) as Record<string, SchemaNode>;
    expect(Object.keys(overrides).sort()).toEqual([...RULE_IDS].sort());
  });

  it('a RuntimeBaseline as the collector writes it satisfies the CRD schema', () => {
    const workload = { cluster: 'prod', namespace: 'shop', kind: 'Deployment', name: 'api', container: 'app' };
    const profile = {
      workload,
      key: workloadKey(workload),
      state: 'stable' as const,
      partial: false,
      learningStartedMs: 1_700_000_000_000,
      lastNovelMs: 1_700_000_100_000,
      stableSinceMs: 1_700_003_600_000,
      imageDigests: ['sha256:' + 'c'.repeat(64)],
      replicaIds: ['a', 'b'],
      items: [
        {
          kind: 'exec' as const,
          key: '/usr/bin/curl',
          firstSeenMs: 1_700_000_000_000,
          lastSeenMs: 1_700_000_050_000,
          count: 4,
          replicas: 2,
          origin: 'learned' as const,
          suspect: true,
          imageDigest: 'sha256:' + 'c'.repeat(64),
          pendingReview: true,
        },
      ],
      revision: 9,
    };
    const obj = {
      apiVersion: 'tripline.io/v1alpha1',
      kind: 'RuntimeBaseline',
      metadata: { name: baselineName(workload), namespace: 'shop' },
      spec: toBaselineSpec(profile),
      status: toBaselineStatus(profile, 3),
    };
    expect(validateAgainst(schemaOf('runtimebaselines.tripline.io'), obj)).toEqual([]);
    // …and the checker rejects what the API server would.
    const bad = structuredClone(obj) as unknown as { spec: { state: string; items: { kind: string }[] } };
    bad.spec.state = 'sleeping';
    bad.spec.items[0]!.kind = 'ioctl';
    expect(validateAgainst(schemaOf('runtimebaselines.tripline.io'), bad)).toHaveLength(2);
  });

  it('RBAC is least privilege: the agent reads pods only; the collector gets exactly what it uses', () => {
    const rules = (name: string): string[] =>
      (find(base, 'ClusterRole', name)['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[])
        .flatMap((r) =>
          r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g || 'core'}/${res}:${v}`))),
        )
        .sort();
    expect(rules('tripline-agent')).toEqual(['core/pods:get', 'core/pods:list', 'core/pods:watch']);
    const collector = rules('tripline-collector');
    expect(collector).toContain('authentication.k8s.io/tokenreviews:create');
    expect(collector).toContain('tripline.io/runtimebaselines:update');
    expect(collector).not.toContain('tripline.io/runtimepolicies:update');
    expect(collector.filter((r) => r.includes('*') || r.includes('secrets'))).toEqual([]);
    for (const [binding, sa] of [
      ['tripline-agent', 'tripline-agent'],
      ['tripline-collector', 'tripline-collector'],
    ]) {
      const b = find(base, 'ClusterRoleBinding', binding!) as Manifest & {
        subjects: { kind: string; name: string; namespace: string }[];
        roleRef: { name: string };
      };
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: sa, namespace: 'tripline' }]);
      expect(b.roleRef.name).toBe(binding);
      find(base, 'ServiceAccount', sa!);
    }
  });

  it('the agent runs on every node with host PID and only the capabilities the eBPF sensor needs', () => {
    const ds = find(base, 'DaemonSet', 'tripline-agent');
    const spec = podSpec(ds);
    expect(spec.hostPID).toBe(true);
    expect(spec.hostNetwork).toBeFalsy();
    expect(spec.serviceAccountName).toBe('tripline-agent');
    expect(spec.tolerations).toContainEqual({ operator: 'Exists' });
    const c = spec.containers[0]!;
    const sc = c.securityContext as {
      privileged: boolean;
      allowPrivilegeEscalation: boolean;
      readOnlyRootFilesystem: boolean;
      capabilities: { drop: string[]; add: string[] };
    };
    expect(sc.privileged).toBe(false);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.capabilities.drop).toEqual(['ALL']);
    expect([...sc.capabilities.add].sort()).toEqual([
      'BPF',
      'DAC_READ_SEARCH',
      'NET_ADMIN',
      'PERFMON',
      'SYS_PTRACE',
      'SYS_RESOURCE',
    ]);
    const hostMounts = new Map(
      spec
        .volumes!.filter((v) => v['hostPath'])
        .map((v) => [v['name'] as string, (v['hostPath'] as { path: string }).path]),
    );
    for (const m of c.volumeMounts!) {
      const hostPath = hostMounts.get(m.name);
      if (hostPath && hostPath !== '/var/lib/tripline/agent')
        expect(m.readOnly, `${hostPath} must be read-only`).toBe(true);
    }
    expect([...hostMounts.values()].sort()).toEqual([
      '/sys/fs/cgroup',
      '/sys/kernel/btf',
      '/sys/kernel/tracing',
      '/var/lib/tripline/agent',
    ]);
    const token = spec.volumes!.find((v) => v['name'] === 'collector-token') as {
      projected: { sources: { serviceAccountToken: { audience: string } }[] };
    };
    expect(token.projected.sources[0]!.serviceAccountToken.audience).toBe('tripline');
    expect(c.livenessProbe?.httpGet?.port).toBe('metrics');
    expect(c.readinessProbe?.httpGet?.port).toBe('metrics');
  });

  it('the collector runs as non-root with a data volume, and the Service and NetworkPolicy use its real ports', () => {
    const sts = find(base, 'StatefulSet', 'tripline-collector');
    const spec = podSpec(sts);
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    const c = spec.containers[0]!;
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const claims = (sts['spec'] as { volumeClaimTemplates: { metadata: { name: string } }[] }).volumeClaimTemplates;
    expect(claims.map((t) => t.metadata.name)).toEqual(['data']);
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/tripline' });
    const ports = new Map(c.ports!.map((p) => [p.name, p.containerPort]));
    expect(Object.fromEntries(ports)).toEqual({ ingest: 7443, api: 7680 });
    const svc = find(base, 'Service', 'tripline-collector')['spec'] as {
      ports: { name: string; port: number; targetPort: string }[];
    };
    for (const p of svc.ports) expect(ports.get(p.targetPort)).toBe(p.port);
    const np = find(base, 'NetworkPolicy', 'tripline-collector')['spec'] as {
      ingress: { from: Record<string, { matchLabels: Record<string, string> }>[]; ports: { port: number }[] }[];
    };
    const ingestRule = np.ingress.find((r) => r.ports.some((p) => p.port === 7443))!;
    expect(ingestRule.from).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'tripline-agent' } } }]);
    const apiRule = np.ingress.find((r) => r.ports.some((p) => p.port === 7680))!;
    expect(apiRule.from[0]!['namespaceSelector']).toBeDefined();
    expect(podSpec(find(base, 'DaemonSet', 'tripline-agent')).containers[0]!.ports![0]!.containerPort).toBe(9464);
  });

  it('every referenced ConfigMap and ServiceAccount exists; the only outside reference is the TLS secret', () => {
    for (const o of base.filter((m) => ['DaemonSet', 'StatefulSet'].includes(m.kind))) {
      const spec = podSpec(o);
      find(base, 'ServiceAccount', spec.serviceAccountName!);
      for (const v of spec.volumes ?? []) {
        if (v['configMap']) find(base, 'ConfigMap', (v['configMap'] as { name: string }).name);
        if (v['secret']) expect((v['secret'] as { secretName: string }).secretName).toBe('tripline-collector-tls');
      }
      const claims = (
        (o['spec'] as { volumeClaimTemplates?: { metadata: { name: string } }[] }).volumeClaimTemplates ?? []
      ).map((t) => t.metadata.name);
      const volumes = [...spec.volumes!.map((v) => v['name']), ...claims];
      for (const m of spec.containers[0]!.volumeMounts!) expect(volumes, m.name).toContain(m.name);
    }
  });

  it('the ConfigMap holds configs the agent and the collector accept without a problem', () => {
    const data = find(base, 'ConfigMap', 'tripline-config')['data'] as Record<string, string>;
    const agent = parseYaml(data['agent.yaml']!) as Record<string, unknown>;
    const collector = parseYaml(data['collector.yaml']!) as Record<string, unknown>;
    const problems = new Problems();
    // agent.kubernetes is the pod resolver's section; the agent's own parser reads the rest.
    const { kubernetes: agentKube, ...agentSection } = agent['agent'] as Record<string, unknown>;
    const agentConfig = parseAgentConfig(agentSection, problems);
    const resolver = parseKubePodResolverConfig(agentKube, problems, 'agent.kubernetes', { NODE_NAME: 'node-1' });
    expect(agentKube).toBeDefined();
    const collectorConfig = parseCollectorConfig(collector, problems);
    const kube = parseKubeCollectorConfig(collector['kubernetes'], problems, 'kubernetes', {
      POD_NAMESPACE: 'tripline',
    });
    expect(problems.all).toEqual([]);
    expect(agentConfig.collector.tokenFile).toBe('/var/run/secrets/tripline/token');
    expect(agentConfig.collector.address).toBe('tripline-collector.tripline.svc:7443');
    expect(agentConfig.metricsListen).toBe('0.0.0.0:9464');
    expect(resolver.nodeName).toBe('node-1');
    expect(collectorConfig.ingest.port).toBe(7443);
    expect(collectorConfig.api.port).toBe(7680);
    expect(kube.agentServiceAccounts).toEqual(['system:serviceaccount:tripline:tripline-agent']);
    expect(kube.tokenAudience).toBe('tripline');
    expect(kube.cluster).toBe(agentConfig.cluster);
  });

  it('the example overlay pins images to its registry and keeps everything else', () => {
    const images = example
      .filter((o) => ['DaemonSet', 'StatefulSet'].includes(o.kind))
      .map((o) => podSpec(o).containers[0]!.image)
      .sort();
    expect(images).toEqual([
      'registry.example.com/security/tripline-agent:0.1.0',
      'registry.example.com/security/tripline-collector:0.1.0',
    ]);
    const baseImages = base
      .filter((o) => ['DaemonSet', 'StatefulSet'].includes(o.kind))
      .map((o) => podSpec(o).containers[0]!.image)
      .sort();
    expect(baseImages).toEqual(['tripline/agent:0.1.0', 'tripline/collector:0.1.0']);
    expect(example.length).toBe(base.length + 2);
    expect(find(example, 'RuntimePolicy', 'checkout').metadata.namespace).toBe('payments');
  });
});
