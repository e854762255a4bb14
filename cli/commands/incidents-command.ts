import type { Incident } from '../../proto/incident.js';
import { callApi, CliError, type ApiTarget } from '../api-client.js';

const USAGE = `tripline incidents <command>
  list [--min-severity S] [--rule R] [--workload KEY]   current incidents, newest first
  show <id>                                            one incident with its evidence
  approve <id>                                         add the incident's item to its workload's baseline`;

export async function incidentsCommand(
  target: ApiTarget,
  args: readonly string[],
  flags: { minSeverity?: string; rule?: string; workload?: string },
  out: (s: string) => void,
): Promise<void> {
  const [sub, id] = args;
  switch (sub) {
    case 'list': {
      const q = new URLSearchParams();
      if (flags.minSeverity) q.set('minSeverity', flags.minSeverity);
      if (flags.rule) q.set('rule', flags.rule);
      if (flags.workload) q.set('workload', flags.workload);
      const { incidents } = (await callApi(target, 'GET', `/api/v1/incidents?${q}`)) as { incidents: Incident[] };
      for (const i of incidents) {
        const seen = new Date(i.lastSeenMs).toISOString().replace(/\.\d+Z$/, 'Z');
        out(`${i.id}  ${seen}  ${i.severity.toUpperCase().padEnd(8)} ${i.rule.padEnd(23)} ${i.workloadKey}  ${i.key}  ×${i.count}`);
      }
      return;
    }
    case 'show':
    case 'approve': {
      if (!id) throw new CliError(`missing incident id\n\n${USAGE}`);
      const path = `/api/v1/incidents/${encodeURIComponent(id)}`;
      if (sub === 'show') out(JSON.stringify(await callApi(target, 'GET', path), null, 2));
      else {
        await callApi(target, 'POST', `${path}/approve`);
        out(`approved the item of incident ${id} into its workload's baseline`);
      }
      return;
    }
    default:
      throw new CliError(sub ? `unknown incidents command ${sub}\n\n${USAGE}` : USAGE);
  }
}
