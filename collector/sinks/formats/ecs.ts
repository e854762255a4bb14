/**
 * An incident as an Elastic Common Schema document (event.kind "alert"), so Kibana's
 * security views, detection rules and dashboards read Tripline incidents with no ingest
 * pipeline. Tripline-only fields live under `tripline.*`, as ECS asks for custom fields.
 */
import type { TriplineEvent } from '../../../proto/events.js';
import { severityRank, type Incident } from '../../../proto/incident.js';
import { idempotencyKey } from './incident-json.js';
import { mitreTactic, PRODUCT } from './ocsf.js';

/** ECS event.category and event.type for each evidence kind. */
function categorisation(e: TriplineEvent): { category: string[]; type: string[] } {
  switch (e.kind) {
    case 'exec':
      return { category: ['intrusion_detection', 'process'], type: ['start', 'info'] };
    case 'syscalls':
      return { category: ['intrusion_detection', 'process'], type: ['info'] };
    case 'file':
      return {
        category: ['intrusion_detection', 'file'],
        type: [e.op === 'unlink' ? 'deletion' : e.op === 'open-write' ? 'creation' : 'change', 'info'],
      };
    case 'listen':
      return { category: ['intrusion_detection', 'network'], type: ['start', 'info'] };
    case 'connect':
      return { category: ['intrusion_detection', 'network'], type: ['connection', 'info'] };
  }
}

export function toEcsDocument(incident: Incident): Record<string, unknown> {
  const e = incident.evidence;
  const w = incident.workload;
  const p = e.process;
  const tactics = incident.mitreTactics.map(mitreTactic);
  const doc: Record<string, unknown> = {
    '@timestamp': new Date(incident.lastSeenMs).toISOString(),
    message: incident.summary,
    ecs: { version: '8.11.0' },
    event: {
      kind: 'alert',
      ...categorisation(e),
      // info 1 … critical 5, the same scale as OCSF severity_id; the 0-100 score is the risk.
      severity: severityRank(incident.severity) + 1,
      risk_score: incident.score,
      id: idempotencyKey(incident),
      start: new Date(incident.firstSeenMs).toISOString(),
      end: new Date(incident.lastSeenMs).toISOString(),
      module: 'tripline',
      dataset: 'tripline.incident',
      action: incident.rule,
      reason: incident.summary,
    },
    rule: { id: incident.rule, name: incident.rule, ruleset: 'tripline', description: incident.summary },
    threat: {
      framework: 'MITRE ATT&CK',
      technique: { id: incident.mitreTechniques },
      tactic: { id: tactics.flatMap((t) => (t.id ? [t.id] : [])), name: tactics.map((t) => t.name) },
    },
    host: { name: e.node, hostname: e.node },
    observer: { vendor: PRODUCT.vendor, product: PRODUCT.name, version: PRODUCT.version },
    process: {
      pid: p.pid,
      name: p.comm,
      executable: p.exe,
      args: p.argv,
      ...(p.argv.length ? { command_line: p.argv.join(' '), args_count: p.argv.length } : {}),
      ...(e.kind === 'exec' && e.cwd ? { working_directory: e.cwd } : {}),
      parent: { pid: p.ppid },
      user: { id: String(p.uid) },
    },
    tripline: {
      incident: { id: incident.id, revision: incident.revision, key: incident.key, count: incident.count },
      severity: incident.severity,
      context: incident.context,
      workload: { ...w, key: incident.workloadKey },
    },
  };
  if (w.namespace) {
    doc.orchestrator = {
      type: 'kubernetes',
      cluster: { name: w.cluster },
      namespace: w.namespace,
      resource: { type: w.kind, name: w.name },
    };
  }
  if (e.container.containerId) {
    doc.container = {
      id: e.container.containerId,
      ...(w.container ? { name: w.container } : {}),
      ...(e.container.image
        ? {
            image: {
              name: e.container.image,
              ...(e.container.imageDigest ? { hash: { all: [e.container.imageDigest] } } : {}),
            },
          }
        : {}),
    };
  }
  switch (e.kind) {
    case 'file':
      doc.file = { path: e.path, name: e.path.slice(e.path.lastIndexOf('/') + 1) };
      break;
    case 'connect':
      doc.destination = e.dnsName ? { ip: e.ip, port: e.port, domain: e.dnsName } : { ip: e.ip, port: e.port };
      doc.network = { transport: e.protocol, direction: 'egress' };
      break;
    case 'listen':
      doc.server = { ip: e.ip, port: e.port };
      doc.network = { transport: e.protocol, direction: 'ingress' };
      break;
    case 'syscalls':
      (doc.tripline as Record<string, unknown>).syscalls = { names: e.names, arch: e.arch };
      break;
    case 'exec':
      break;
  }
  return doc;
}
