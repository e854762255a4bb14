import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { OBJECT_RELATIVE_PATH } from '../../../agent/sensors/ebpf/preflight.js';
import { renderKustomization } from '../../helpers/kustomize-render.js';

const ROOT = join(import.meta.dirname, '../../..');
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly name: string;
  readonly from: string;
  readonly body: Instruction[];
}

/** Instructions with line continuations joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]! };
    });
}

const all = instructions(dockerfile);
const args = new Map(
  all.filter((i) => i.op === 'ARG' && i.args.includes('=')).map((i) => i.args.split('=') as [string, string]),
);
const stages: Stage[] = [];
for (const i of all) {
  if (i.op === 'FROM') {
    const m = /^(\S+)\s+AS\s+(\S+)$/i.exec(i.args)!;
    stages.push({ from: m[1]!.replace(/\$\{(\w+)\}/g, (_, a: string) => args.get(a) ?? ''), name: m[2]!, body: [] });
  } else stages.at(-1)?.body.push(i);
}
const stage = (name: string): Stage => stages.find((s) => s.name === name)!;

/** Whether the build context keeps `path` under the .dockerignore rules (last match wins). */
function inContext(path: string): boolean {
  let keep = true;
  for (const rule of ignore) {
    const negate = rule.startsWith('!');
    const pattern = negate ? rule.slice(1) : rule;
    const re = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '(.*/)?')
        .replace(/\*\*/g, '.*')
        .replace(/(?<!\.)\*/g, '[^/]*')}(/.*)?$`,
    );
    if (re.test(path)) keep = negate;
  }
  return keep;
}

describe('Dockerfile', () => {
  it('defines the build, prod-deps, runtime, collector and agent stages on a pinned Node 20 image', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'prod-deps', 'runtime', 'collector', 'agent']);
    const image = args.get('NODE_IMAGE')!;
    expect(image).toMatch(/^node:20\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
  });

  it('every COPY source exists in the repository and survives .dockerignore', () => {
    const copies = all.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
    expect(copies.length).toBeGreaterThan(5);
    for (const c of copies) {
      const parts = c.args.split(/\s+/);
      for (const src of parts.slice(0, -1)) {
        const path = src.replace(/\/$/, '');
        expect(existsSync(join(ROOT, path)), `${src} exists`).toBe(true);
        expect(inContext(path), `${src} is in the build context`).toBe(true);
      }
    }
    expect(inContext('agent/bpf/.output/tripline.bpf.o')).toBe(false);
    expect(inContext('node_modules/pino/package.json')).toBe(false);
    expect(inContext('agent/kube/kube-pod-resolver.ts')).toBe(true);
  });

  it('COPY --from names an earlier stage and the copied build outputs are produced there', () => {
    for (const [n, s] of stages.entries()) {
      for (const c of s.body.filter((i) => i.op === 'COPY' && i.args.startsWith('--from'))) {
        const from = /^--from=(\S+)/.exec(c.args)![1]!;
        expect(
          stages.slice(0, n).map((x) => x.name),
          `${s.name}: ${c.args}`,
        ).toContain(from);
      }
    }
    const build = stage('build')
      .body.map((i) => i.args)
      .join('\n');
    expect(build).toContain('make -C agent/bpf');
    expect(build).toContain('tsc -p tsconfig.build.json');
    expect(build).toContain('npm run proto');
  });

  it('runtime stages carry no compilers; production dependencies only', () => {
    for (const name of ['prod-deps', 'runtime', 'collector', 'agent']) {
      const text = stage(name)
        .body.map((i) => i.args)
        .join('\n');
      expect(text, name).not.toMatch(/\b(clang|llvm|libbpf-dev|bpftool|make|gcc)\b/);
    }
    expect(
      stage('prod-deps')
        .body.map((i) => i.args)
        .join('\n'),
    ).toContain('npm ci --omit=dev');
    expect(
      stage('agent')
        .body.map((i) => i.args)
        .join('\n'),
    ).toContain('libbpf1');
  });

  it('the collector runs as the non-root user the StatefulSet expects; the agent finds its BPF object', () => {
    const user = stage('collector')
      .body.filter((i) => i.op === 'USER')
      .at(-1)!.args;
    expect(user).toBe('10001:10001');
    const sts = renderKustomization(join(ROOT, 'deploy')).find((o) => o.kind === 'StatefulSet')!;
    expect(
      (sts['spec'] as { template: { spec: { securityContext: { runAsUser: number } } } }).template.spec.securityContext
        .runAsUser,
    ).toBe(10001);
    // dist/agent/sensors/ebpf/ walks up to /app, where agent/bpf/.output/ must be.
    const copy = stage('agent').body.find((i) => i.op === 'COPY' && i.args.includes('tripline.bpf.o'))!;
    const dest = copy.args.split(/\s+/).at(-1)!;
    const workdir = stage('runtime').body.find((i) => i.op === 'WORKDIR')!.args;
    expect(relative(workdir, join(workdir, dest, 'tripline.bpf.o'))).toBe(OBJECT_RELATIVE_PATH);
    expect(copy.args).toContain('syscalls-x86_64.json');
  });

  it('the images run the commands the manifests start them with', () => {
    const objs = renderKustomization(join(ROOT, 'deploy'));
    const cmd = (name: string): string[] => JSON.parse(stage(name).body.find((i) => i.op === 'CMD')!.args) as string[];
    const argsOf = (kind: string): string[] =>
      (objs.find((o) => o.kind === kind)!['spec'] as { template: { spec: { containers: { args: string[] }[] } } })
        .template.spec.containers[0]!.args;
    expect(argsOf('DaemonSet')).toEqual(cmd('agent'));
    expect(argsOf('StatefulSet')).toEqual(cmd('collector'));
  });
});
