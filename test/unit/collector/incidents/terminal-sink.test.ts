import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseTerminalSinkConfig } from '../../../../collector/sinks/terminal/terminal-config.js';
import { formatIncidentLine } from '../../../../collector/sinks/terminal/terminal-line.js';
import { createTerminalSink } from '../../../../collector/sinks/terminal/terminal-sink.js';
import { createIncidentTable } from '../../../../collector/incidents/incident-table.js';
import { Problems } from '../../../../lib/config-problems.js';
import { silentLogger } from '../../../../lib/logger.js';
import type { Incident } from '../../../../proto/incident.js';
import { execEvent, finding, workload } from './finding-fixture.js';

function incident(over: Partial<Incident> = {}): Incident {
  const t = createIncidentTable(
    { windowMs: 1, maxOpen: 10, maxOpenPerWorkload: 10, maxRemembered: 0, maxNewPerWorkloadPerMinute: 0 },
    { evicted: () => {}, held: () => {} },
  );
  const base = t.observe(finding({ w: workload('web') }), Date.parse('2026-11-25T22:14:15.123Z'))!.incident;
  return { ...base, ...over };
}

describe('terminal sink', () => {
  it('prints one readable line per incident', () => {
    const line = formatIncidentLine(incident({ count: 3, evidence: execEvent('/bin/sh', 1234) }), false);
    expect(line).toBe(
      '2026-11-25T22:14:15Z HIGH     unexpected-exec        default/Deployment/web/main  exec /bin/sh -c id (pid 1234, ppid 1) ×3',
    );
  });

  it('names off-Kubernetes workloads by their cgroup and shows later revisions', () => {
    const line = formatIncidentLine(
      incident({
        workload: {
          cluster: 'local',
          namespace: '',
          kind: 'cgroup',
          name: 'system.slice/nginx.service',
          container: '',
        },
        revision: 2,
      }),
      false,
    );
    expect(line).toContain(' system.slice/nginx.service  exec /bin/sh');
    expect(line).toMatch(/\(rev 2\)$/);
  });

  it('escapes control characters that came from the watched workload', () => {
    const evil = execEvent('/tmp/\x1b]0;pwned\x07x');
    const line = formatIncidentLine(incident({ evidence: evil }), false);
    expect(line).not.toMatch(/[\x00-\x1f]/);
    expect(line).toContain('/tmp/\\x1b]0;pwned\\x07x');
  });

  it('colours by severity only on a TTY without NO_COLOR', async () => {
    const problems = new Problems();
    const config = parseTerminalSinkConfig({ id: 'terminal', type: 'terminal' }, 'sinks[0]', problems);
    expect(problems.all).toEqual([]);
    const deps = { log: silentLogger(), registry: new Registry() };
    const run = async (isTTY: boolean, env: NodeJS.ProcessEnv): Promise<string> => {
      const out = Object.assign(new PassThrough(), { isTTY });
      let text = '';
      out.on('data', (b: Buffer) => (text += b.toString()));
      const sink = createTerminalSink(config, { ...deps, out, env });
      expect(await sink.send([incident(), incident({ severity: 'critical' })], new AbortController().signal)).toEqual({
        status: 'success',
      });
      return text;
    };
    const plain = await run(false, {});
    expect(plain.split('\n')).toHaveLength(3);
    expect(plain).not.toContain('\x1b[');
    expect(await run(true, {})).toContain('\x1b[1;31mHIGH');
    expect(await run(true, { NO_COLOR: '1' })).not.toContain('\x1b[');
  });

  it('reports a bad colour setting', () => {
    const problems = new Problems();
    parseTerminalSinkConfig({ id: 'terminal', type: 'terminal', color: 'rainbow' }, 'sinks[1]', problems);
    expect(problems.all).toEqual(['sinks[1].color: must be auto, always or never']);
  });
});
