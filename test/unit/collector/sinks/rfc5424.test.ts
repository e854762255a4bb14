import { describe, expect, it } from 'vitest';
import {
  escapeSdValue,
  frame,
  headerField,
  structuredData,
  syslogMessage,
  truncateUtf8,
} from '../../../../collector/sinks/syslog/rfc5424.js';
import { execIncident, fileIncident } from '../../../integration/sinks/incident-fixture.js';

const opts = {
  format: 'rfc5424' as const,
  facility: 16,
  hostname: 'collector-0',
  appName: 'tripline',
  procId: '42',
  sdId: 'tripline@32473',
};

describe('RFC 5424 messages', () => {
  it('computes PRI from facility and severity and fills the header fields', () => {
    const m = syslogMessage(execIncident(), opts);
    // local0 (16) * 8 + err (3)
    expect(
      m.startsWith(
        `<131>1 ${new Date(execIncident().lastSeenMs).toISOString()} collector-0 tripline 42 unexpected-exec [tripline@32473 `,
      ),
    ).toBe(true);
    expect(m.endsWith('] Unexpected executable /bin/sh in payments/checkout (api)')).toBe(true);
    expect(syslogMessage(fileIncident(), opts).startsWith('<130>1 ')).toBe(true);
  });

  it('escapes quote, backslash and bracket in SD values and nothing else', () => {
    expect(escapeSdValue('a"b\\c]d=e')).toBe('a\\"b\\\\c\\]d=e');
    expect(structuredData(execIncident({ key: 'x"]' }), 'x@1')).toContain(' key="x\\"\\]"');
  });

  it('replaces bytes a header field may not contain and bounds its length', () => {
    expect(headerField('node a\tb', 255)).toBe('node_a_b');
    expect(headerField('', 48)).toBe('-');
    expect(headerField('x'.repeat(40), 32)).toHaveLength(32);
  });

  it('uses NILVALUE structured data and a CEF message for format cef', () => {
    const m = syslogMessage(execIncident(), { ...opts, format: 'cef' });
    expect(m).toMatch(/^<131>1 \S+ collector-0 tripline 42 unexpected-exec - CEF:0\|Tripline\|/);
  });
});

describe('framing', () => {
  it('counts octets, not characters', () => {
    expect(frame('é', 'octet-counting').toString()).toBe('2 é');
    expect(frame('abc', 'lf').toString()).toBe('abc\n');
  });

  it('truncates datagrams on a character boundary', () => {
    const cut = truncateUtf8('aé€', 4); // a(1) é(2) €(3): the euro sign does not fit
    expect(cut.toString()).toBe('aé');
    expect(truncateUtf8('short', 100).toString()).toBe('short');
  });
});
