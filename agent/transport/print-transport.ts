/**
 * `tripline agent --print`: writes every envelope as one JSON line (event-json.ts) to a
 * stream, usually stdout, instead of sending it to a collector. Output is replayable by
 * the replay sensor. Reports are not printed: they describe the agent, not the node.
 */
import type { Logger } from '../../lib/logger.js';
import { eventFromWire, tripline } from '../../proto/codec.js';
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
      let text = '';
      for (const env of batch.envelopes) {
        const d = eventFromWire(tripline.v1.Envelope.decode(env.bytes));
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
