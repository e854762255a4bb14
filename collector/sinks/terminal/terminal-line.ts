/**
 * The one-line form of an incident for `tripline up`:
 *   2026-11-25T22:14:15Z HIGH     unexpected-exec        default/Deployment/web/nginx  exec /bin/sh -c id (pid 1234, ppid 1200) ×3
 * Paths, argv and names come from the watched workload, i.e. possibly from an attacker:
 * control characters are escaped so they cannot drive the operator's terminal.
 */
import type { TriplineEvent } from '../../../proto/events.js';
import type { Incident, Severity } from '../../../proto/incident.js';

const COLOURS: Record<Severity, string> = {
  critical: '\x1b[1;37;41m',
  high: '\x1b[1;31m',
  medium: '\x1b[33m',
  low: '\x1b[36m',
  info: '\x1b[2m',
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/** Escapes C0/C1 control characters and DEL as \xNN. */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function workloadLabel(i: Incident): string {
  const w = i.workload;
  if (w.kind === 'cgroup' || !w.namespace) return w.name;
  return [w.namespace, w.kind, w.name, w.container].filter(Boolean).join('/');
}

/** What happened, from the evidence event. */
export function evidenceText(e: TriplineEvent): string {
  const p = e.process;
  const who = `pid ${p.pid}, ${p.comm || 'ppid ' + p.ppid}`;
  switch (e.kind) {
    case 'exec': {
      const args = p.argv.slice(1).join(' ');
      return `exec ${clip(p.exe + (args ? ` ${args}` : ''), 160)} (pid ${p.pid}, ppid ${p.ppid})`;
    }
    case 'file':
      return e.op === 'rename' ? `rename ${e.oldPath} → ${e.path} (${who})` : `${e.op} ${e.path} (${who})`;
    case 'listen':
      return `listen ${e.protocol} ${e.ip.includes(':') ? `[${e.ip}]` : e.ip}:${e.port} (${who})`;
    case 'connect':
      return `connect ${e.protocol} ${e.ip.includes(':') ? `[${e.ip}]` : e.ip}:${e.port} (${who})`;
    case 'syscalls':
      return `syscalls ${clip(e.names.join(','), 160)} (${who})`;
  }
}

export function formatIncidentLine(i: Incident, colour: boolean): string {
  const time = new Date(i.lastSeenMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const sev = i.severity.toUpperCase().padEnd(8);
  const what = printable(evidenceText(i.evidence));
  const count = i.count > 1 ? ` ×${i.count}` : '';
  const rev = i.revision > 1 ? ` (rev ${i.revision})` : '';
  const rule = i.rule.padEnd(22);
  const workload = printable(workloadLabel(i));
  if (!colour) return `${time} ${sev} ${rule} ${workload}  ${what}${count}${rev}`;
  return `${DIM}${time}${RESET} ${COLOURS[i.severity]}${sev}${RESET} ${rule} \x1b[1m${workload}${RESET}  ${what}${count}${DIM}${rev}${RESET}`;
}
