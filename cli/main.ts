#!/usr/bin/env node
/**
 * The `tripline` command. Long-running jobs (up, collector, agent) exit 1 with every
 * config problem listed, or with what the sensor is missing; client commands talk to a
 * running collector's API.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../lib/config-problems.js';
import { CliError, resolveApiTarget } from './api-client.js';
import { incidentsCommand } from './commands/incidents-command.js';
import { profilesCommand } from './commands/profiles-command.js';
import { defaultDataDir, loadTriplineConfig } from './tripline-config.js';

const USAGE = `Usage: tripline <command> [options]

Commands:
  up                      collector + local eBPF agent on this host (the embedded default)
  collector               the collector alone (agents connect over gRPC)
  agent                   the node agent alone (--collector HOST:PORT, or --print)
  profiles <subcommand>   list, show, approve, remove, relearn, lock, export
  incidents <subcommand>  list, show, approve, dead-letters, resend

Options:
  -c, --config FILE       config file (YAML); TRIPLINE__section__key=value overrides
      --data-dir DIR      data directory (default /var/lib/tripline as root)
      --log-level LEVEL   fatal|error|warn|info|debug|trace
      --collector ADDR    agent: collector address HOST:PORT
      --print             agent: print one JSON event per line instead of sending
      --replay FILE       up/agent: replay recorded JSON-lines events instead of eBPF
      --api URL           client commands: collector API (default http://127.0.0.1:7680)
      --token-file FILE   client commands: API token file (default <data-dir>/api-token)
      --min-severity S, --rule R, --workload KEY   incidents list filters
      --sink ID           incidents dead-letters/resend: only this sink's incidents
  -h, --help`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'data-dir': { type: 'string' },
      'log-level': { type: 'string' },
      collector: { type: 'string' },
      print: { type: 'boolean' },
      replay: { type: 'string' },
      api: { type: 'string' },
      'token-file': { type: 'string' },
      'min-severity': { type: 'string' },
      rule: { type: 'string' },
      workload: { type: 'string' },
      sink: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  switch (command) {
    case 'up':
    case 'collector':
    case 'agent': {
      const config = loadTriplineConfig({
        file: values.config,
        env: process.env,
        overrides: { dataDir: values['data-dir'], logLevel: values['log-level'] },
      });
      const flags = { print: values.print, collector: values.collector, replay: values.replay };
      // Each job loads only its own modules: the agent's process carries no collector code.
      if (command === 'agent') await (await import('./commands/agent-command.js')).runAgent(config, flags);
      else {
        const { runUp, runCollector } = await import('./commands/up-command.js');
        await (command === 'up' ? runUp(config, flags) : runCollector(config));
      }
      return 0;
    }
    case 'profiles':
    case 'incidents': {
      const target = resolveApiTarget({
        api: values.api,
        tokenFile: values['token-file'],
        dataDir: values['data-dir'] ?? process.env.TRIPLINE_DATA_DIR ?? defaultDataDir(),
      });
      if (command === 'profiles') await profilesCommand(target, rest, out);
      else {
        await incidentsCommand(
          target,
          rest,
          { minSeverity: values['min-severity'], rule: values.rule, workload: values.workload, sink: values.sink },
          out,
        );
      }
      return 0;
    }
    default:
      console.error(`tripline: unknown command ${command}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage = (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS') === true;
    if (err instanceof ConfigError || err instanceof CliError || usage)
      console.error(`tripline: ${(err as Error).message}`);
    else
      console.error(
        `tripline: ${process.env.TRIPLINE_DEBUG ? ((err as Error).stack ?? err) : ((err as Error).message ?? err)}`,
      );
    process.exitCode = usage ? 2 : 1;
  },
);
