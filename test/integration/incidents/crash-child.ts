/**
 * Child process for the kill -9 test: opens an incident pipeline with a webhook sink,
 * submits findings, says "submitted" on stdout, and keeps retrying until it is killed.
 * Input comes as JSON in TRIPLINE_CRASH_CHILD.
 */
import { Registry } from 'prom-client';
import { createIncidentPipeline } from '../../../collector/incidents/create-incident-pipeline.js';
import { parseIncidentPipelineConfig } from '../../../collector/incidents/incident-pipeline-config.js';
import { parseWebhookSinkConfig } from '../../../collector/sinks/webhook/webhook-config.js';
import { createWebhookSink } from '../../../collector/sinks/webhook/webhook-sink.js';
import { Problems } from '../../../lib/config-problems.js';
import { silentLogger } from '../../../lib/logger.js';
import { finding } from '../../unit/collector/incidents/finding-fixture.js';

interface Input {
  dataDir: string;
  sink: Record<string, unknown>;
  count: number;
}

const input = JSON.parse(process.env.TRIPLINE_CRASH_CHILD ?? '{}') as Input;
const problems = new Problems();
const sinkConfig = parseWebhookSinkConfig(input.sink, 'sink', problems);
const config = parseIncidentPipelineConfig(
  { delivery: { backoffInitial: '100ms', backoffMax: '200ms', maxAttempts: 1000 } },
  problems,
);
problems.throwIfAny();
const log = silentLogger();
const registry = new Registry();
const pipeline = createIncidentPipeline({
  log,
  registry,
  dataDir: input.dataDir,
  config,
  sinks: [createWebhookSink(sinkConfig, { log, registry })],
});
pipeline.start();
for (let i = 0; i < input.count; i++) {
  pipeline.submit(finding({ key: `/bin/crash-${i}`, severity: 'medium', score: 50 }));
  pipeline.submit(finding({ key: `/bin/crash-${i}`, severity: 'medium', score: 50 }));
}
// No await: what submit wrote must survive the kill without waiting for the group commit.
process.stdout.write('submitted\n');
setInterval(() => {}, 1000);
