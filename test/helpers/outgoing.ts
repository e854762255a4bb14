/** An event as the agent pipeline hands it to a transport. */
import { encodeContainer, encodeEventBody, type EncodedContainer } from '../../agent/transport/batch-encoding.js';
import type { OutgoingEnvelope } from '../../agent/transport/transport.js';
import type { TriplineEvent } from '../../proto/events.js';

export function outgoing(
  e: TriplineEvent,
  container: EncodedContainer = encodeContainer(e.container),
): OutgoingEnvelope {
  return { kind: e.kind, cgroupId: e.container.cgroupId, bytes: encodeEventBody(e), container };
}
