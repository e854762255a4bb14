/**
 * RFC 5424 syslog messages for incidents, and their framing on stream transports
 * (RFC 6587 octet counting, also what RFC 5425 prescribes for TLS).
 */
import type { Incident, Severity } from '../../../proto/incident.js';
import { idempotencyKey } from '../formats/incident-json.js';
import { cefLine } from '../formats/cef.js';

/** Syslog severity per incident severity: critical → crit (2) … info → informational (6). */
export const SYSLOG_SEVERITY: Readonly<Record<Severity, number>> = Object.freeze({
  critical: 2,
  high: 3,
  medium: 4,
  low: 5,
  info: 6,
});

/** Facility names of RFC 5424 table 1, by code. */
export const FACILITIES: readonly string[] = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'security',
  'console',
  'clock',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
];

export interface SyslogMessageOptions {
  readonly format: 'rfc5424' | 'cef';
  /** Facility code 0-23. */
  readonly facility: number;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  /** SD-ID of the incident's structured data element, e.g. "tripline@32473". */
  readonly sdId: string;
}

/**
 * Header fields are PRINTUSASCII without spaces, bounded in length (RFC 5424 §6); anything
 * else is replaced rather than sent, since one bad byte makes a receiver drop the record.
 */
export function headerField(value: string, maxLength: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '_').slice(0, maxLength);
  return clean === '' ? '-' : clean;
}

/** SD-PARAM values escape '"', '\' and ']' (RFC 5424 §6.3.3). */
export function escapeSdValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** The structured data element carrying the incident's fields. */
export function structuredData(incident: Incident, sdId: string): string {
  const params: [string, string | number][] = [
    ['incidentId', incident.id],
    ['revision', incident.revision],
    ['idempotencyKey', idempotencyKey(incident)],
    ['rule', incident.rule],
    ['severity', incident.severity],
    ['score', incident.score],
    ['workload', incident.workloadKey],
    ['namespace', incident.workload.namespace],
    ['key', incident.key],
    ['count', incident.count],
    ['mitre', incident.mitreTechniques.join(',')],
  ];
  return `[${sdId}${params.map(([k, v]) => ` ${k}="${escapeSdValue(String(v))}"`).join('')}]`;
}

/**
 * One RFC 5424 message. The MSG part is the one-line summary (format rfc5424) or the CEF
 * line (format cef, with NILVALUE structured data so CEF parsers see the CEF text
 * untouched). No BOM precedes MSG: receivers then treat it as MSG-ANY, which every
 * common one displays as UTF-8 anyway.
 */
export function syslogMessage(incident: Incident, opts: SyslogMessageOptions): string {
  const pri = opts.facility * 8 + SYSLOG_SEVERITY[incident.severity];
  const header = [
    `<${pri}>1`,
    new Date(incident.lastSeenMs).toISOString(),
    headerField(opts.hostname, 255),
    headerField(opts.appName, 48),
    headerField(opts.procId, 128),
    headerField(incident.rule, 32),
  ].join(' ');
  if (opts.format === 'cef') return `${header} - ${oneLine(cefLine(incident))}`;
  return `${header} ${structuredData(incident, opts.sdId)} ${oneLine(incident.summary)}`;
}

/** Line breaks would split a record for receivers that frame by newline. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/**
 * Cuts `message` to at most `maxBytes` UTF-8 bytes without splitting a character: for
 * datagrams, where a receiver truncates silently or drops what does not fit.
 */
export function truncateUtf8(message: string, maxBytes: number): Buffer {
  const buf = Buffer.from(message, 'utf8');
  if (buf.length <= maxBytes) return buf;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

/** Stream framing: octet counting (RFC 6587 §3.4.1, RFC 5425 §4.3) or a trailing LF. */
export function frame(message: string, framing: 'octet-counting' | 'lf'): Buffer {
  const body = Buffer.from(message, 'utf8');
  if (framing === 'lf') return Buffer.concat([body, Buffer.from('\n')]);
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}
