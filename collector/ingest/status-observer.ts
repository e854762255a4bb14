import {
  ServerInterceptingCall,
  status,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { IngestMetrics } from './ingest-metrics.js';

/**
 * Counts calls grpc-js itself ends with RESOURCE_EXHAUSTED (a message above
 * grpc.max_receive_message_length). grpc-js rejects those inside its base call, below
 * every interceptor's responder and invisible to the handler, which only sees
 * 'cancelled'; so the base call's own sendStatus is wrapped where it is handed to the
 * first interceptor. Ingest never sends RESOURCE_EXHAUSTED itself, so each one seen here
 * is grpc's size limit (or a decompression bomb hitting the same limit).
 */
export function createOversizeObserver(metrics: IngestMetrics): ServerInterceptor {
  return (_method, call) => {
    const sendStatus = call.sendStatus.bind(call);
    call.sendStatus = (s: Parameters<ServerInterceptingCallInterface['sendStatus']>[0]) => {
      if (s.code === status.RESOURCE_EXHAUSTED) metrics.rejected.labels('oversized').inc();
      sendStatus(s);
    };
    return new ServerInterceptingCall(call);
  };
}
