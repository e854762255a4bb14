import type { Rule } from '../rule.js';
import { buildFinding } from '../scoring.js';

/**
 * Syscalls that container escapes, credential theft and kernel tampering need, and that
 * ordinary services almost never make. A new one of these is worth more than a new read.
 */
export const DANGEROUS_SYSCALLS: ReadonlySet<string> = new Set([
  'unshare',
  'setns',
  'ptrace',
  'process_vm_readv',
  'process_vm_writev',
  'bpf',
  'perf_event_open',
  'mount',
  'umount2',
  'pivot_root',
  'chroot',
  'init_module',
  'finit_module',
  'delete_module',
  'kexec_load',
  'kexec_file_load',
  'open_by_handle_at',
  'keyctl',
  'add_key',
  'request_key',
  'userfaultfd',
  'fsopen',
  'fsmount',
  'move_mount',
  'open_tree',
  'iopl',
  'ioperm',
]);

/** A syscall the profile does not contain. */
export function createUnexpectedSyscallRule(): Rule {
  const rule: Rule = {
    id: 'unexpected-syscall',
    kinds: ['syscalls'],
    defaultSeverity: 'medium',
    mitreTechniques: ['T1611', 'T1068'],
    mitreTactics: ['privilege-escalation'],
    novelty: true,
    evaluate(e, ctx) {
      if (ctx.origin !== undefined || ctx.phase === 'learning') return undefined;
      const dangerous = DANGEROUS_SYSCALLS.has(ctx.itemKey);
      return buildFinding(rule, e, ctx, {
        summary: `${e.workloadKey} made syscall ${ctx.itemKey}, which is not in its profile`,
        ...(dangerous ? { scoreDelta: 30, context: ['dangerous-syscall'] } : {}),
      });
    },
  };
  return rule;
}
