/**
 * The webhook signature (docs/webhook.md): `X-Tripline-Signature: v1=<hex>` where hex is
 * HMAC-SHA256(secret, "<X-Tripline-Timestamp>.<raw body>"). Binding the timestamp into
 * the MAC lets a receiver reject replays older than its tolerance window.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-tripline-signature';
export const TIMESTAMP_HEADER = 'x-tripline-timestamp';
export const IDEMPOTENCY_HEADER = 'x-tripline-idempotency-key';

/** Default receiver tolerance between the timestamp and its own clock. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signWebhook(secret: string | Buffer, timestamp: string, body: string | Buffer): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export type VerifyOutcome = { ok: true } | { ok: false; reason: 'missing' | 'stale' | 'mismatch' };

/** What a receiver does: constant-time compare, and a timestamp within the tolerance. */
export function verifyWebhook(
  secret: string | Buffer,
  headers: { timestamp: string | undefined; signature: string | undefined },
  body: string | Buffer,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
): VerifyOutcome {
  const { timestamp, signature } = headers;
  if (!timestamp || !signature || !/^\d+$/.test(timestamp)) return { ok: false, reason: 'missing' };
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  // A header may carry several signatures (secret rotation): any one matching is enough.
  for (const candidate of signature.split(',').map((s) => Buffer.from(s.trim()))) {
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { ok: true };
  }
  return { ok: false, reason: 'mismatch' };
}
