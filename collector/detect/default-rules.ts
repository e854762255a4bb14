import type { Rule } from './rule.js';
import { createCrossSensitivityFlowRule } from './rules/cross-sensitivity-flow.js';
import { createDroppedBinaryExecRule } from './rules/dropped-binary-exec.js';
import { createNewListenerRule } from './rules/new-listener.js';
import { createProtectedPathWriteRule } from './rules/protected-path-write.js';
import { createUnexpectedEgressRule } from './rules/unexpected-egress.js';
import { createUnexpectedExecRule } from './rules/unexpected-exec.js';
import { createUnexpectedFileWriteRule } from './rules/unexpected-file-write.js';
import { createUnexpectedSyscallRule } from './rules/unexpected-syscall.js';

/** Every rule in DESIGN.md's detection table, in that order. */
export function createDefaultRules(): Rule[] {
  return [
    createUnexpectedExecRule(),
    createDroppedBinaryExecRule(),
    createUnexpectedSyscallRule(),
    createProtectedPathWriteRule(),
    createUnexpectedFileWriteRule(),
    createNewListenerRule(),
    createUnexpectedEgressRule(),
    createCrossSensitivityFlowRule(),
  ];
}
