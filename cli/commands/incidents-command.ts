import type { DeadLetterListing, ResendReport } from '../../collector/api/api-operations.js';
import type { Incident } from '../../proto/incident.js';
import { callApi, CliError, type ApiTarget } from '../api-client.js';

const USAGE = `tripline incidents <command>
  list [--min-severity S] [--rule R] [--workload KEY]   current incidents, newest first
  show <id>                                            one incident with its evidence
  approve <id>                                         add the incident's item to its workload's baseline
  dead-letters [--sink ID]                             incidents a sink gave up on, oldest first
  resend [--sink ID]                                   deliver dead-lettered incidents again (after fixing the sink)`;

export async function incidentsCommand(
  target: ApiTarget,
  args: readonly string[],
  flags: { minSeverity?: string; rule?: string; workload?: string; sink?: string },
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
        out(
          `${i.id}  ${seen}  ${i.severity.toUpperCase().padEnd(8)} ${i.rule.padEnd(23)} ${i.workloadKey}  ${i.key}  ×${i.count}`,
        );
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
    case 'dead-letters': {
      const q = new URLSearchParams();
      if (flags.sink) q.set('sink', flags.sink);
      const listing = (await callApi(target, 'GET', `/api/v1/dead-letters?${q}`)) as DeadLetterListing;
      for (const e of listing.entries) {
        const i = e.incident;
        out(
          `${e.time.replace(/\.\d+Z$/, 'Z')}  ${e.sink}  ${i.id}:${i.revision}  ${i.severity.toUpperCase().padEnd(8)} ${i.rule.padEnd(23)} ${i.workload}  ${e.attempts} attempt(s): ${e.error}`,
        );
      }
      if (listing.total > listing.entries.length) out(`… ${listing.total - listing.entries.length} more`);
      printMalformed(listing.malformed, out);
      return;
    }
    case 'resend': {
      const report = (await callApi(
        target,
        'POST',
        '/api/v1/dead-letters/resend',
        flags.sink ? { sink: flags.sink } : {},
      )) as ResendReport;
      out(`re-queued ${report.requeued} dead-lettered incident(s) for delivery`);
      if (report.skippedUnknownSink) out(`left ${report.skippedUnknownSink} whose sink is no longer configured`);
      if (report.skippedNotRouted)
        out(`left ${report.skippedNotRouted} their sink no longer takes (minSeverity or namespaces changed)`);
      if (report.deferred) out(`left ${report.deferred} for a later resend: the outbox is near its size bound`);
      printMalformed(report.malformed, out);
      return;
    }
    default:
      throw new CliError(sub ? `unknown incidents command ${sub}\n\n${USAGE}` : USAGE);
  }
}

function printMalformed(lines: DeadLetterListing['malformed'], out: (s: string) => void): void {
  for (const m of lines) out(`malformed ${m.file}:${m.line}: ${m.reason}`);
}
