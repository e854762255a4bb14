import { callApi, CliError, profilePath, type ApiTarget } from '../api-client.js';

const USAGE = `tripline profiles <command>
  list                                  profiles with state and item counts
  show <workload-key>                   one profile with every item
  approve <workload-key> <kind> <item>  add an item to the baseline (kind: exec|syscall|file|listen|egress)
  remove <workload-key> <kind> <item>   remove an item from the baseline
  relearn <workload-key>                discard learned items and learn again
  lock <workload-key>                   stop automatic learning
  export seccomp <workload-key>         OCI seccomp profile (JSON)
  export networkpolicy <workload-key> <label=value,...>   Kubernetes NetworkPolicy (JSON)`;

interface ProfileSummary {
  key: string;
  state: string;
  partial: boolean;
  items: number;
  suspect: number;
  pendingReview: number;
}

export async function profilesCommand(
  target: ApiTarget,
  args: readonly string[],
  out: (s: string) => void,
): Promise<void> {
  const [sub, key, a, b] = args;
  const need = (v: string | undefined, what: string): string => {
    if (!v) throw new CliError(`missing ${what}\n\n${USAGE}`);
    return v;
  };
  switch (sub) {
    case 'list': {
      const { profiles } = (await callApi(target, 'GET', '/api/v1/profiles')) as { profiles: ProfileSummary[] };
      out(`${'STATE'.padEnd(9)}${'ITEMS'.padStart(6)}${'SUSPECT'.padStart(9)}${'REVIEW'.padStart(8)}  WORKLOAD`);
      for (const p of profiles) {
        const state = p.partial ? `${p.state}*` : p.state;
        out(
          `${state.padEnd(9)}${String(p.items).padStart(6)}${String(p.suspect).padStart(9)}${String(p.pendingReview).padStart(8)}  ${p.key}`,
        );
      }
      if (profiles.some((p) => p.partial)) out('* partial: learned while the agent dropped events; still learning');
      return;
    }
    case 'show':
      out(JSON.stringify(await callApi(target, 'GET', profilePath(need(key, 'workload key'))), null, 2));
      return;
    case 'approve':
    case 'remove':
      await callApi(target, sub === 'approve' ? 'POST' : 'DELETE', `${profilePath(need(key, 'workload key'))}/items`, {
        kind: need(a, 'item kind'),
        key: need(b, 'item'),
      });
      out(`${sub === 'approve' ? 'approved' : 'removed'} ${a} ${b}`);
      return;
    case 'relearn':
    case 'lock':
      await callApi(target, 'POST', `${profilePath(need(key, 'workload key'))}/${sub}`);
      out(`${sub === 'lock' ? 'locked' : 'relearning'} ${key}`);
      return;
    case 'export': {
      const format = need(key, 'export format');
      const workload = need(a, 'workload key');
      if (format !== 'seccomp' && format !== 'networkpolicy')
        throw new CliError(`unknown export format ${format}\n\n${USAGE}`);
      const query = format === 'networkpolicy' ? `?selector=${encodeURIComponent(need(b, 'pod labels'))}` : '';
      out(JSON.stringify(await callApi(target, 'GET', `${profilePath(workload)}/export/${format}${query}`), null, 2));
      return;
    }
    default:
      throw new CliError(sub ? `unknown profiles command ${sub}\n\n${USAGE}` : USAGE);
  }
}
