/**
 * An incident as an ArcSight Common Event Format line, the syslog payload QRadar,
 * ArcSight and most SIEM parsers understand without configuration:
 * `CEF:0|Tripline|Tripline|<version>|<rule>|<summary>|<0-10>|<key=value …>`.
 */
import type { Incident, Severity } from '../../../proto/incident.js';
import { idempotencyKey } from './incident-json.js';
import { PRODUCT } from './ocsf.js';

/** CEF severity (0-10) per Tripline severity: CEF reads 0-3 low, 4-6 medium, 7-8 high, 9-10 very high. */
export const CEF_SEVERITY: Readonly<Record<Severity, number>> = Object.freeze({
  info: 1,
  low: 3,
  medium: 5,
  high: 8,
  critical: 10,
});

/** Header fields escape backslash and pipe; line breaks would end the record, so they become spaces. */
export function escapeCefHeader(value: string): string {
  return value.replace(/[\\|]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ');
}

/** Extension values escape backslash and equals, and encode line breaks as \n and \r. */
export function escapeCefValue(value: string): string {
  return value
    .replace(/[\\=]/g, (c) => `\\${c}`)
    .replace(/\r/g, '\\r')
    .replace(/\n/g, '\\n');
}

export function cefLine(incident: Incident): string {
  const e = incident.evidence;
  const w = incident.workload;
  // Standard CEF keys first, so parsers that know only the dictionary still get the essentials.
  const ext: [string, string | number][] = [
    ['rt', incident.lastSeenMs],
    ['start', incident.firstSeenMs],
    ['end', incident.lastSeenMs],
    ['cnt', incident.count],
    ['msg', incident.summary],
    ['cat', incident.rule],
    ['externalId', idempotencyKey(incident)],
    ['dvchost', e.node],
    ['spid', e.process.pid],
    ['sproc', e.process.exe],
    ['suid', e.process.uid],
  ];
  switch (e.kind) {
    case 'file':
      ext.push(['filePath', e.path], ['fname', e.path.slice(e.path.lastIndexOf('/') + 1)]);
      if (e.oldPath) ext.push(['oldFilePath', e.oldPath]);
      break;
    case 'connect':
      ext.push(['dst', e.ip], ['dpt', e.port], ['proto', e.protocol.toUpperCase()]);
      if (e.dnsName) ext.push(['dhost', e.dnsName]);
      break;
    case 'listen':
      ext.push(['src', e.ip], ['spt', e.port], ['proto', e.protocol.toUpperCase()]);
      break;
    case 'exec':
      if (e.process.argv.length) ext.push(['cs6Label', 'commandLine'], ['cs6', e.process.argv.join(' ')]);
      break;
    case 'syscalls':
      ext.push(['cs6Label', 'syscalls'], ['cs6', e.names.join(',')]);
      break;
  }
  ext.push(
    ['cs1Label', 'workload'],
    ['cs1', incident.workloadKey],
    ['cs2Label', 'incidentId'],
    ['cs2', incident.id],
    ['cs3Label', 'key'],
    ['cs3', incident.key],
    ['cs4Label', 'mitreTechniques'],
    ['cs4', incident.mitreTechniques.join(',')],
    ['cs5Label', 'namespace'],
    ['cs5', w.namespace],
    ['cn1Label', 'score'],
    ['cn1', incident.score],
    ['cn2Label', 'revision'],
    ['cn2', incident.revision],
  );
  if (e.container.containerId) ext.push(['flexString1Label', 'containerId'], ['flexString1', e.container.containerId]);
  const header = [
    'CEF:0',
    escapeCefHeader(PRODUCT.vendor),
    escapeCefHeader(PRODUCT.name),
    escapeCefHeader(PRODUCT.version),
    escapeCefHeader(incident.rule),
    escapeCefHeader(incident.summary),
    String(CEF_SEVERITY[incident.severity]),
  ].join('|');
  return `${header}|${ext.map(([k, v]) => `${k}=${escapeCefValue(String(v))}`).join(' ')}`;
}
