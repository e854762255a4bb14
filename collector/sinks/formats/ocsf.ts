/**
 * An incident as an OCSF 1.x Detection Finding (class 2004, category 2 "Findings"): the
 * schema Security Lake, Splunk, Sentinel and most XDR pipelines ingest without a custom
 * parser. Selected with `format: ocsf` on the HEC and Kafka sinks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TriplineEvent } from '../../../proto/events.js';
import type { Incident, Severity } from '../../../proto/incident.js';
import { idempotencyKey } from './incident-json.js';

/** The OCSF schema version the findings follow. */
export const OCSF_VERSION = '1.3.0';

/** Product identity stamped into OCSF metadata, CEF headers and ECS observer fields. */
export const PRODUCT: { readonly vendor: string; readonly name: string; readonly version: string } = Object.freeze({
  vendor: 'Tripline',
  name: 'Tripline',
  version: packageVersion(),
});

/** The version of the installed package, found by walking up from this file (source or dist). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'tripline' && typeof pkg.version === 'string') return pkg.version;
      } catch {
        // An unreadable package.json above us is not ours; keep walking.
      }
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

const TACTICS: Readonly<Record<string, readonly [id: string, name: string]>> = {
  reconnaissance: ['TA0043', 'Reconnaissance'],
  'resource development': ['TA0042', 'Resource Development'],
  'initial access': ['TA0001', 'Initial Access'],
  execution: ['TA0002', 'Execution'],
  persistence: ['TA0003', 'Persistence'],
  'privilege escalation': ['TA0004', 'Privilege Escalation'],
  'defense evasion': ['TA0005', 'Defense Evasion'],
  'credential access': ['TA0006', 'Credential Access'],
  discovery: ['TA0007', 'Discovery'],
  'lateral movement': ['TA0008', 'Lateral Movement'],
  collection: ['TA0009', 'Collection'],
  'command and control': ['TA0011', 'Command and Control'],
  exfiltration: ['TA0010', 'Exfiltration'],
  impact: ['TA0040', 'Impact'],
};

/**
 * The ATT&CK enterprise tactic a rule's tactic name refers to ("privilege-escalation",
 * "Privilege Escalation" and "privilege_escalation" all match); unknown names keep their
 * text and get no id.
 */
export function mitreTactic(name: string): { id: string | undefined; name: string } {
  const known =
    TACTICS[
      name
        .toLowerCase()
        .replace(/[-_\s]+/g, ' ')
        .trim()
    ];
  return known ? { id: known[0], name: known[1] } : { id: undefined, name };
}

const OCSF_SEVERITY: Record<Severity, [id: number, name: string]> = {
  info: [1, 'Informational'],
  low: [2, 'Low'],
  medium: [3, 'Medium'],
  high: [4, 'High'],
  critical: [5, 'Critical'],
};

/** Rules that compare with a policy rather than a learned profile. */
const POLICY_RULES = new Set(['cross-sensitivity-flow']);

export function toOcsfDetectionFinding(incident: Incident): Record<string, unknown> {
  const [severityId, severityName] = OCSF_SEVERITY[incident.severity];
  // The first report of an incident creates the finding; later revisions update it.
  const activityId = incident.revision <= 1 ? 1 : 2;
  const w = incident.workload;
  return {
    class_uid: 2004,
    class_name: 'Detection Finding',
    category_uid: 2,
    category_name: 'Findings',
    activity_id: activityId,
    activity_name: activityId === 1 ? 'Create' : 'Update',
    type_uid: 2004 * 100 + activityId,
    type_name: `Detection Finding: ${activityId === 1 ? 'Create' : 'Update'}`,
    severity_id: severityId,
    severity: severityName,
    risk_score: incident.score,
    status_id: 1,
    status: 'New',
    time: incident.lastSeenMs,
    count: incident.count,
    message: incident.summary,
    metadata: {
      version: OCSF_VERSION,
      uid: idempotencyKey(incident),
      correlation_uid: incident.id,
      product: { name: PRODUCT.name, vendor_name: PRODUCT.vendor, version: PRODUCT.version },
      labels: incident.context,
    },
    finding_info: {
      uid: incident.id,
      title: incident.summary,
      desc: `${incident.rule}: ${incident.key} in ${incident.workloadKey}`,
      types: [incident.rule],
      first_seen_time: incident.firstSeenMs,
      last_seen_time: incident.lastSeenMs,
      analytic: POLICY_RULES.has(incident.rule)
        ? { uid: incident.rule, name: incident.rule, type_id: 1, type: 'Rule' }
        : { uid: incident.rule, name: incident.rule, type_id: 2, type: 'Behavioral' },
      attacks: attacks(incident),
    },
    resources: [
      {
        uid: incident.workloadKey,
        name: w.name,
        type: w.kind,
        namespace: w.namespace || undefined,
        labels: [`cluster:${w.cluster}`, ...(w.container ? [`container:${w.container}`] : [])],
      },
    ],
    device: { hostname: incident.evidence.node, type_id: 0 },
    evidences: [evidence(incident.evidence)],
    unmapped: { tripline: { key: incident.key, revision: incident.revision, workload_key: incident.workloadKey } },
  };
}

/**
 * ATT&CK entries. Rules name techniques and tactics separately; a technique is paired with
 * a tactic only when the rule names exactly one, since any other pairing would be a guess.
 */
function attacks(incident: Incident): Record<string, unknown>[] {
  const tactics = incident.mitreTactics.map((t) => {
    const m = mitreTactic(t);
    return m.id ? { uid: m.id, name: m.name } : { name: m.name };
  });
  const techniques = incident.mitreTechniques.map((t) => ({ uid: t }));
  if (tactics.length <= 1)
    return techniques.map((technique) => ({ technique, ...(tactics[0] ? { tactic: tactics[0] } : {}) }));
  return [...techniques.map((technique) => ({ technique })), ...tactics.map((tactic) => ({ tactic }))];
}

function evidence(e: TriplineEvent): Record<string, unknown> {
  const p = e.process;
  const process: Record<string, unknown> = {
    pid: p.pid,
    name: p.comm,
    file: { path: p.exe, name: basename(p.exe), type_id: 1, type: 'Regular File' },
    user: { uid: String(p.uid) },
    parent_process: { pid: p.ppid },
  };
  if (p.argv.length) process.cmd_line = p.argv.join(' ');
  const c = e.container;
  const out: Record<string, unknown> = { process };
  if (c.containerId) {
    out.container = {
      uid: c.containerId,
      name: c.workload?.container || undefined,
      image: c.image ? { name: c.image, uid: c.imageDigest || undefined } : undefined,
    };
  }
  switch (e.kind) {
    case 'exec':
      if (e.cwd) process.working_directory = e.cwd;
      break;
    case 'file':
      out.file = { path: e.path, name: basename(e.path), type_id: 1, type: 'Regular File' };
      break;
    case 'listen':
      out.src_endpoint = { ip: e.ip, port: e.port };
      out.connection_info = { protocol_name: e.protocol, direction_id: 1, direction: 'Inbound' };
      break;
    case 'connect':
      out.dst_endpoint = e.dnsName ? { ip: e.ip, port: e.port, hostname: e.dnsName } : { ip: e.ip, port: e.port };
      out.connection_info = { protocol_name: e.protocol, direction_id: 2, direction: 'Outbound' };
      break;
    case 'syscalls':
      out.data = { syscalls: e.names, arch: e.arch };
      break;
  }
  return out;
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}
