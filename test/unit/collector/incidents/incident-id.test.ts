import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { incidentId } from '../../../../collector/incidents/incident-id.js';

const sha = (w: string, r: string, k: string) =>
  createHash('sha256').update(`${w}\0${r}\0${k}`).digest('hex').slice(0, 24);

describe('incidentId', () => {
  it('is the first 96 bits of sha256 over the signature, before and after the memo fills', () => {
    const w = 'prod/shop/Deployment/cart/app';
    expect(incidentId(w, 'unexpected-exec', '/bin/sh')).toBe(sha(w, 'unexpected-exec', '/bin/sh'));
    expect(incidentId(w, 'unexpected-exec', '/bin/sh')).toBe(sha(w, 'unexpected-exec', '/bin/sh'));
    // Past the memo's bound it starts over and stays correct.
    for (let i = 0; i < 70_000; i++) incidentId(w, 'unexpected-file-write', `/tmp/f${i}`);
    expect(incidentId(w, 'unexpected-exec', '/bin/sh')).toBe(sha(w, 'unexpected-exec', '/bin/sh'));
    expect(incidentId(w, 'unexpected-file-write', '/tmp/f69999')).toBe(sha(w, 'unexpected-file-write', '/tmp/f69999'));
  });

  it('keeps the three parts apart', () => {
    expect(incidentId('a', 'b', 'c/d')).not.toBe(incidentId('a', 'b/c', 'd'));
    expect(incidentId('w', 'r', 'k')).not.toBe(incidentId('w', 'r', 'k2'));
  });
});
