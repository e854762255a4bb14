import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  effectiveCapabilities,
  locateBpfObject,
  OBJECT_RELATIVE_PATH,
  preflightProblems,
} from '../../../../../agent/sensors/ebpf/preflight.js';

const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function existingObject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tripline-obj-'));
  tmp.push(dir);
  const p = path.join(dir, 'tripline.bpf.o');
  fs.writeFileSync(p, '');
  return p;
}

describe('preflight', () => {
  it('reads CapEff from /proc/self/status text', () => {
    expect(effectiveCapabilities('Name:\tnode\nCapEff:\t000001ffffffffff\n')).toBe(0x1ffffffffffn);
    expect(effectiveCapabilities('Name:\tnode\n')).toBe(0n);
  });

  it('accepts CAP_BPF+CAP_PERFMON or CAP_SYS_ADMIN', () => {
    const base = { objectPath: existingObject(), libbpfError: undefined, tracefs: '/sys/kernel/tracing', btfPath: '/' };
    expect(preflightProblems({ ...base, capabilities: (1n << 39n) | (1n << 38n) })).toEqual([]);
    expect(preflightProblems({ ...base, capabilities: 1n << 21n })).toEqual([]);
    expect(preflightProblems({ ...base, capabilities: 1n << 39n })[0]).toMatch(
      /^missing privileges: loading tracepoint programs needs root or CAP_BPF\+CAP_PERFMON \(CapEff is 0x8000000000/,
    );
  });

  it('lists every missing piece in one go', () => {
    const problems = preflightProblems({
      objectPath: '/nonexistent/tripline.bpf.o',
      capabilities: 0n,
      btfPath: '/nonexistent/vmlinux',
      libbpfError: 'libbpf.so.1: cannot open shared object file',
      tracefs: undefined,
      tracefsError: 'Operation not permitted',
    });
    expect(problems).toHaveLength(5);
    expect(problems[1]).toBe(
      'no kernel BTF at /nonexistent/vmlinux: CO-RE programs need a kernel built with CONFIG_DEBUG_INFO_BTF=y',
    );
    expect(problems[2]).toBe(
      'BPF object not found at /nonexistent/tripline.bpf.o: build it with npm run bpf (make -C agent/bpf)',
    );
    expect(problems[3]).toBe(
      'cannot load libbpf.so.1 (Debian package libbpf1): libbpf.so.1: cannot open shared object file',
    );
    expect(problems[4]).toMatch(/^tracefs is not mounted at .* and mounting it failed: Operation not permitted/);
  });

  it('finds the object from the option, then the environment, then the repository', () => {
    expect(locateBpfObject('/x/y.o', { TRIPLINE_BPF_OBJECT: '/env/z.o' })).toBe('/x/y.o');
    expect(locateBpfObject(undefined, { TRIPLINE_BPF_OBJECT: '/env/z.o' })).toBe('/env/z.o');
    const found = locateBpfObject(undefined, {});
    expect(found.endsWith(OBJECT_RELATIVE_PATH)).toBe(true);
    // Walking up from agent/sensors/ebpf reaches the repository root.
    expect(found).toBe(path.join(process.cwd(), OBJECT_RELATIVE_PATH));
  });
});
