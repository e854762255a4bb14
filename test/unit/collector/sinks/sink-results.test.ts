import { describe, expect, it } from 'vitest';
import {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
} from 'kafkajs';
import { bulkResult } from '../../../../collector/sinks/elasticsearch/elasticsearch-sink.js';
import { hecResult } from '../../../../collector/sinks/hec/hec-sink.js';
import { parseRetryAfter, resultForStatus } from '../../../../collector/sinks/http-post.js';
import { classify } from '../../../../collector/sinks/kafka/kafka-sink.js';

const response = (status: number, body = '', headers: Record<string, string> = {}) => ({ status, body, headers });

describe('HTTP status and Retry-After', () => {
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 22:00:30 GMT', Date.parse('2026-11-25T22:00:00Z'))).toBe(30_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('retries 408, 429 and 5xx but not 501/505 or other 4xx', () => {
    expect(resultForStatus(response(204), 'x')).toEqual({ status: 'success' });
    expect(resultForStatus(response(429, '', { 'retry-after': '3' }), 'x')).toMatchObject({
      status: 'retryable',
      retryInMillis: 3000,
    });
    expect(resultForStatus(response(503), 'x').status).toBe('retryable');
    expect(resultForStatus(response(408), 'x').status).toBe('retryable');
    expect(resultForStatus(response(501), 'x').status).toBe('failure');
    expect(resultForStatus(response(400, '{"error":"bad"}'), 'x')).toEqual({
      status: 'failure',
      error: 'x: HTTP 400 {"error":"bad"}',
    });
  });
});

describe('HEC replies', () => {
  it('maps HEC codes to success, retry or failure', () => {
    expect(hecResult(response(200, '{"text":"Success","code":0}'))).toEqual({ status: 'success' });
    expect(hecResult(response(503, '{"text":"Server is busy","code":9}')).status).toBe('retryable');
    expect(hecResult(response(503, '{"text":"HEC is unhealthy, queues are full","code":18}')).status).toBe('retryable');
    expect(hecResult(response(500, '{"text":"Internal server error","code":8}')).status).toBe('retryable');
    expect(hecResult(response(403, '{"text":"Token disabled","code":1}')).status).toBe('failure');
    expect(hecResult(response(400, '{"text":"Incorrect index","code":7}')).status).toBe('failure');
    // A proxy in front of HEC answering without a HEC body: the status decides.
    expect(hecResult(response(502, '<html>Bad gateway</html>')).status).toBe('retryable');
  });
});

describe('Elasticsearch bulk replies', () => {
  const item = (status: number, type?: string) => ({
    create: { status, _id: `id-${status}`, ...(type ? { error: { type, reason: 'why' } } : {}) },
  });

  it('is success when every item was created or already existed', () => {
    const r = bulkResult(
      { errors: true, items: [item(201), item(409, 'version_conflict_engine_exception')] },
      2,
      undefined,
    );
    expect(r.result).toEqual({ status: 'success' });
    expect(r.counts).toEqual({ created: 1, duplicate: 1, retryable: 0, rejected: 0 });
  });

  it('is retryable when any item can be retried, even beside rejected ones', () => {
    const r = bulkResult(
      {
        errors: true,
        items: [item(201), item(429, 'es_rejected_execution_exception'), item(400, 'mapper_parsing_exception')],
      },
      3,
      5000,
    );
    expect(r.result).toMatchObject({
      status: 'retryable',
      retryInMillis: 5000,
      error: expect.stringContaining('1 rejected for good'),
    });
  });

  it('is a failure naming the rejected items when nothing can be retried', () => {
    const r = bulkResult({ errors: true, items: [item(201), item(400, 'mapper_parsing_exception')] }, 2, undefined);
    expect(r.result).toMatchObject({
      status: 'failure',
      error: expect.stringContaining('id-400: 400 mapper_parsing_exception'),
    });
  });

  it('does not call a reply with missing items a success', () => {
    expect(bulkResult({ errors: false, items: [item(201)] }, 2, undefined).result.status).toBe('retryable');
  });
});

/** kafkajs' type declarations lag its constructors; build the errors as its runtime does. */
const make = (C: unknown, ...args: unknown[]): Error => new (C as new (...a: unknown[]) => Error)(...args);

describe('Kafka errors', () => {
  it('retries connection trouble and gives up on authentication and record errors', () => {
    const conn = new KafkaJSConnectionError('Connection error: ECONNREFUSED');
    expect(
      classify(new KafkaJSNumberOfRetriesExceeded(conn, { retryCount: 2, retryTime: 100 }), 'produce').status,
    ).toBe('retryable');
    expect(classify(make(KafkaJSSASLAuthenticationError, 'SASL PLAIN authentication failed'), 'connect').status).toBe(
      'failure',
    );
    const tooLarge = new KafkaJSProtocolError({
      type: 'MESSAGE_TOO_LARGE',
      code: 10,
      retriable: false,
      message: 'too large',
    } as unknown as Error);
    expect(classify(make(KafkaJSNonRetriableError, tooLarge, { cause: tooLarge }), 'produce')).toMatchObject({
      status: 'failure',
      error: expect.stringContaining('too large'),
    });
  });
});
