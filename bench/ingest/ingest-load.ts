/**
 * Load generator for the ingest benchmark, run as a child process so the collector's
 * core is measured alone. Streams pre-encoded realistic batches with a window of
 * unacknowledged batches per stream, like an agent. Protocol with the parent on
 * stdio: prints {"phase":"warm"} after warm-up; then for each line on stdin runs one
 * measured round and prints {"phase":"done",...}, until stdin closes.
 */
import { createInterface } from 'node:readline';
import { ChannelCredentials, Metadata, makeGenericClientConstructor, type ClientDuplexStream } from '@grpc/grpc-js';
import { ingestServiceDefinition } from '../../proto/ingest-service.js';
import { realisticBatchBody, withBatchId } from './realistic-batches.js';

const env = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
const port = env('INGEST_PORT', 0);
const streams = env('INGEST_STREAMS', 2);
const batchSize = env('INGEST_BATCH_SIZE', 500);
const window = env('INGEST_WINDOW', 4);
const warmBatches = env('INGEST_WARM_BATCHES', 100);
const measuredBatches = env('INGEST_BATCHES', 1000);
const token = process.env.INGEST_TOKEN ?? '';
/** Batch wire form: 'compact' (what agents send) or 'full' (header fields in every envelope). */
const form = process.env.INGEST_FORM === 'full' ? 'full' : 'compact';

const Client = makeGenericClientConstructor(ingestServiceDefinition, 'Ingest');
type Call = ClientDuplexStream<Buffer, unknown>;

/** Sends `count` batches on every stream (ids continue from `nextId`) and resolves when all are acked. */
function run(calls: { call: Call; nextId: number; bodies: Buffer[] }[], count: number): Promise<void> {
  return Promise.all(
    calls.map(
      (s) =>
        new Promise<void>((resolve, reject) => {
          let sent = 0;
          let acked = 0;
          const sendOne = (): void => {
            const body = s.bodies[s.nextId % s.bodies.length]!;
            s.call.write(withBatchId(s.nextId++, body));
            sent++;
          };
          const onAck = (): void => {
            acked++;
            if (sent < count) sendOne();
            if (acked === count) {
              s.call.off('data', onAck);
              s.call.off('error', reject);
              resolve();
            }
          };
          s.call.on('data', onAck);
          s.call.on('error', reject);
          while (sent < Math.min(window, count)) sendOne();
        }),
    ),
  ).then(() => undefined);
}

async function main(): Promise<void> {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  const calls = Array.from({ length: streams }, (_, i) => {
    const client = new Client(`127.0.0.1:${port}`, ChannelCredentials.createInsecure(), {});
    const call = (client as unknown as { stream(md: Metadata): Call }).stream(md);
    // Distinct contents per stream and per batch, so nothing is decoded from a hot cache.
    const bodies = Array.from({ length: 16 }, (_, b) => realisticBatchBody(i * 16 + b, batchSize, `run-${i}`, form));
    return { call, client, nextId: 1, bodies };
  });
  await run(calls, warmBatches);
  const wireBytes = calls[0]!.bodies.reduce((n, b) => n + b.length, 0) / calls[0]!.bodies.length;
  process.stdout.write(`${JSON.stringify({ phase: 'warm', batchBytes: Math.round(wireBytes) })}\n`);
  const rl = createInterface({ input: process.stdin });
  for await (const _line of rl) {
    const started = process.hrtime.bigint();
    await run(calls, measuredBatches);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const batches = measuredBatches * streams;
    process.stdout.write(`${JSON.stringify({ phase: 'done', batches, envelopes: batches * batchSize, seconds })}\n`);
  }
  for (const c of calls) {
    c.call.end();
    c.client.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
