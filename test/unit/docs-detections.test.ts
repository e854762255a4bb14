import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDefaultRules } from '../../collector/detect/default-rules.js';

describe('docs/detections.md', () => {
  const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'detections.md'), 'utf8');

  it('documents every rule with its default severity and MITRE techniques and tactics', () => {
    for (const rule of createDefaultRules()) {
      const heading = new RegExp(`^### ${rule.id} — ([a-z/]+) — (.*)$`, 'm').exec(doc);
      expect(heading, `a section for ${rule.id}`).not.toBeNull();
      expect(heading![1]!.split('/')[0]).toBe(rule.defaultSeverity);
      for (const t of [...rule.mitreTechniques, ...rule.mitreTactics]) expect(heading![2]).toContain(t);
    }
  });
});
