/**
 * Generalised form of a DNS name, the key of an external egress peer. CDN and cloud names
 * carry per-object, per-instance or per-address labels (`d3k4l2m9x8q1w0.cloudfront.net`,
 * `ec2-3-91-4-17.compute-1.amazonaws.com`); a profile keyed on them would never stop
 * learning. Such a label becomes `*`, a whole label as in a DNS wildcard. The last two
 * labels are always kept: they are (about) the registrable domain, the part that says whose
 * service it is, and a key of `*.*` would allow the whole internet.
 */
import { isRandomToken } from './generalise.js';

const DIGITS = /^\d+$/;
const TOKEN_SEPARATORS = /[-_]+/;

/** Generalised form of a DNS name; idempotent (a generalised name is returned unchanged). */
export function generaliseDnsName(name: string): string {
  const labels = name.split('.');
  let changed = false;
  for (let i = 0; i < labels.length - 2; i++) {
    const label = labels[i]!;
    if (isVaryingLabel(label)) {
      labels[i] = '*';
      changed = true;
    }
  }
  return changed ? labels.join('.') : name;
}

/**
 * True for labels that vary per object, instance or address. DNS names arrive lower-cased,
 * so the mixed-case signal of isRandomToken is absent: tokens of eight or more characters
 * are also checked with its loose rule (letters and digits alternating often). `*` is
 * none of these, so a generalised name generalises to itself.
 */
function isVaryingLabel(label: string): boolean {
  if (DIGITS.test(label)) return true;
  let numbers = 0;
  for (const token of label.split(TOKEN_SEPARATORS)) {
    if (DIGITS.test(token)) {
      // Short numbers inside a label are regions, zones and versions ("compute-1",
      // "us-east-2"); long ones are ids and timestamps, and three or more short ones an
      // embedded address ("ec2-3-91-4-17", "ip-10-0-1-5") or a date.
      if (token.length >= 4) return true;
      numbers++;
      continue;
    }
    if (isRandomToken(token) || (token.length >= 8 && isRandomToken(token, true))) return true;
  }
  return numbers >= 3;
}
