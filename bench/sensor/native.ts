/**
 * Builds the small C load generators next to these benchmarks into a temporary
 * directory, so a benchmark measures the kernel path and not a shell loop.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface NativeTools {
  /** Absolute path of the compiled program built from `<name>.c`. */
  path(
    name: 'getppid-loop' | 'spawn-loop' | 'open-loop' | 'udp-pingpong' | 'udp-socket-loop' | 'uring-nop-loop',
  ): string;
  /** Scratch directory for the benchmark's files. */
  readonly dir: string;
  /** Removes the build and scratch directory. */
  cleanup(): void;
}

export function buildNativeTools(): NativeTools {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tripline-bench-'));
  const cc = process.env.CC ?? 'clang';
  const built = new Map<string, string>();
  return {
    dir,
    path(name) {
      let out = built.get(name);
      if (!out) {
        out = path.join(dir, name);
        execFileSync(cc, ['-O2', '-o', out, path.join(here, `${name}.c`)], { stdio: 'inherit' });
        built.set(name, out);
      }
      return out;
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
