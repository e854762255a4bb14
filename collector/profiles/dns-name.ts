/**
 * Generalised form of a DNS name, the key of an external egress peer. CDN and cloud names
 * carry per-object, per-instance or per-address labels (`a1b2c3d4e5f6.cdn.example.com`,
 * `ip-10-0-1-5.ec2.internal`); a profile keyed on them would never stop learning. Such a
 * label becomes `*`, a whole label as in a DNS wildcard.
 *
 * A `*` must never cover a name that someone else can register, or an attacker's bucket,
 * app or domain would match what a workload learned (`*.s3.amazonaws.com`, `*.co.uk`). So
 * the registrable domain — the public suffix plus the one label left of it, by the Public
 * Suffix List *with* its private section (s3.amazonaws.com, cloudfront.net, herokuapp.com
 * are suffixes there) — is always kept verbatim, and only labels left of it may become
 * `*`. A name with no known suffix (`.internal`, `cluster.local`) keeps its last two
 * labels, by the list's default rule.
 */
import { parse } from 'tldts';
import { isRandomToken } from './generalise.js';

const DIGITS = /^\d+$/;
const TOKEN_SEPARATORS = /[-_]+/;

// extractHostname: the input is a name, not a URL. validateHostname: `*` labels (so a
// generalised name parses as itself) and `_` labels (`_sip._tcp.…`) are no hostname
// characters but are DNS names all the same. detectIp: a DNS name is never an address.
const PSL_OPTIONS = {
  allowPrivateDomains: true,
  extractHostname: false,
  validateHostname: false,
  detectIp: false,
} as const;

// Wildcard-address services resolve a name to the address it spells (1-2-3-4.nip.io →
// 1.2.3.4), so anyone can point one at their own server; the PSL does not list them. A name
// under one is an address, and is kept whole as an address key is.
const ADDRESS_NAME_DOMAINS = ['nip.io', 'sslip.io', 'xip.io', 'traefik.me'];

/** Generalised form of a DNS name; idempotent (a generalised name is returned unchanged). */
export function generaliseDnsName(name: string): string {
  const labels = name.split('.');
  const mayVary = labels.length - keptLabels(name);
  let changed = false;
  for (let i = 0; i < mayVary; i++) {
    const label = labels[i]!;
    if (isVaryingLabel(label)) {
      labels[i] = '*';
      changed = true;
    }
  }
  return changed ? labels.join('.') : name;
}

/** How many labels, from the right, are kept verbatim: the registrable domain's. */
function keptLabels(name: string): number {
  if (ADDRESS_NAME_DOMAINS.some((d) => name === d || name.endsWith(`.${d}`))) return Infinity;
  const { domain } = parse(name, PSL_OPTIONS);
  // No registrable domain: a single label, or a name that is itself a public suffix. Under
  // a wildcard rule such as `*.compute-1.amazonaws.com` the leftmost label of such a name
  // is one customer's instance (ec2-3-91-4-17.compute-1.amazonaws.com), so the whole name
  // is kept, as the address it stands for would be.
  return domain === null ? Infinity : domain.split('.').length;
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
