/**
 * Renders a kustomization the way `kubectl apply -k` would, for the subset of kustomize
 * that deploy/ uses: resources (files and directories holding a kustomization),
 * namespace, labels (pairs, includeSelectors) and images (newName, newTag, digest).
 * Any other field is an error, so a manifest change that needs more of kustomize fails
 * the tests instead of being silently mis-rendered. No kustomize or kubectl binary can
 * be installed on these machines.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
};

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images']);
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
]);
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

interface Kustomization {
  resources?: string[];
  namespace?: string;
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
}

/** Every YAML document of a file, in order. Throws on a YAML error. */
export function readManifests(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const out: Manifest[] = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    const v = d.toJS({ maxAliasCount: 100 }) as Manifest | null;
    if (v) out.push(v);
  }
  return out;
}

/** The objects `kubectl apply -k dir` would send, after transformers. */
export function renderKustomization(dir: string): Manifest[] {
  const file = join(dir, 'kustomization.yaml');
  const k = readManifests(file)[0] as unknown as Kustomization & Record<string, unknown>;
  const unknown = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unknown.length) throw new Error(`${file}: the test renderer does not support ${unknown.join(', ')}`);
  let objects: Manifest[] = [];
  for (const r of k.resources ?? []) {
    const path = join(dir, r);
    objects = objects.concat(statSync(path).isDirectory() ? renderKustomization(path) : readManifests(path));
  }
  for (const o of objects) {
    if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    for (const l of k.labels ?? []) {
      o.metadata.labels = { ...o.metadata.labels, ...l.pairs };
      if (l.includeSelectors) addToSelectors(o, l.pairs);
    }
    for (const img of k.images ?? []) retag(o, img);
  }
  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (seen.has(id)) throw new Error(`${dir}: ${id} is defined twice`);
    seen.add(id);
  }
  return objects;
}

type PodSpecLike = { containers?: { image?: string }[]; initContainers?: { image?: string }[] };

function podSpecOf(o: Manifest): PodSpecLike | undefined {
  if (o.kind === 'Pod') return o['spec'] as PodSpecLike;
  if (WORKLOAD_KINDS.has(o.kind)) return (o['spec'] as { template?: { spec?: PodSpecLike } }).template?.spec;
  if (o.kind === 'CronJob')
    return (o['spec'] as { jobTemplate?: { spec?: { template?: { spec?: PodSpecLike } } } }).jobTemplate?.spec?.template
      ?.spec;
  return undefined;
}

function retag(o: Manifest, img: NonNullable<Kustomization['images']>[number]): void {
  const spec = podSpecOf(o);
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
    if (!c.image) continue;
    const m = /^([^@:]+(?::\d+\/[^@:]+)?)(?::([^@]+))?(?:@(.+))?$/.exec(c.image);
    if (!m || m[1] !== img.name) continue;
    const name = img.newName ?? m[1];
    if (img.digest) c.image = `${name}@${img.digest}`;
    else c.image = `${name}${img.newTag ? `:${img.newTag}` : m[2] ? `:${m[2]}` : ''}${m[3] ? `@${m[3]}` : ''}`;
  }
}

function addToSelectors(o: Manifest, pairs: Record<string, string>): void {
  if (!WORKLOAD_KINDS.has(o.kind) && o.kind !== 'Service') return;
  const spec = o['spec'] as {
    selector?: Record<string, unknown> & { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> } };
  };
  if (o.kind === 'Service') spec.selector = { ...spec.selector, ...pairs };
  else {
    spec.selector = { ...spec.selector, matchLabels: { ...spec.selector?.matchLabels, ...pairs } };
    spec.template = {
      ...spec.template,
      metadata: { ...spec.template?.metadata, labels: { ...spec.template?.metadata?.labels, ...pairs } },
    };
  }
}
