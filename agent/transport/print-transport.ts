/**
 * `tripline agent --print`: writes every envelope as one JSON line (event-json.ts) to a
 * stream, usually stdout, instead of sending it to a collector. Output is replayable by
 * the replay sensor. Reports are not printed: they describe the agent, not the node.
 */
import type { Logger } from '../../lib/logger.js';
import { eventsFromBatch, tripline } from '../../proto/codec.js';
import { encodeBatchBody } from './batch-encoding.js';
import { eventToJsonLine } from './event-json.js';
import type { SendResult, Transport } from './transport.js';

export interface PrintTransportOptions {
  readonly out: NodeJS.WritableStream & { readonly writableNeedDrain?: boolean };
  readonly log: Logger;
}

export function createPrintTransport(opts: PrintTransportOptions): Transport {
  const log = opts.log.child({ component: 'print-transport' });
  let closed = false;
  return {
    name: 'print',
    async start() {},
    send(batch): SendResult {
      if (closed) return { status: 'failure', error: 'transport stopped', reason: 'queue_full' };
      // A reader slower than the node (a pager, a slow pipe) pushes back into the queue.
      if (opts.out.writableNeedDrain)
        return { status: 'retryable', error: 'output is not draining', retryInMillis: 50 };
      // Through the wire form a collector reads, node and containers filled in from the batch.
      const wire = tripline.v1.EventBatch.decode(encodeBatchBody('', batch.envelopes, { node: batch.node }));
      let text = '';
      for (const d of eventsFromBatch(wire)) {
        if (d.ok) text += eventToJsonLine(d.value) + '\n';
        else log.debug({ error: d.error }, 'envelope not printable');
      }
      if (text) opts.out.write(text);
      return { status: 'success' };
    },
    async stop() {
      closed = true;
    },
  };
}
