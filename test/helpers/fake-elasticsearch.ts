/**
 * A fake Elasticsearch `_bulk` endpoint on loopback (Elasticsearch cannot run here). It
 * checks the request the way the bulk API does — POST …/_bulk, NDJSON content type, a body
 * ending in a newline, action/document line pairs — and answers in the documented shape:
 * per-item status, 201 created, 409 version_conflict_engine_exception for a `create` whose
 * _id exists, 400 mapper_parsing_exception when a value does not fit the field's mapping
 * (mappings are fixed by the first document, as dynamic mapping does, or seeded by a test),
 * 401 security_exception for wrong credentials. Tests can make chosen items answer 429.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type FieldType = 'object' | 'long' | 'double' | 'keyword' | 'boolean' | 'date';

export interface FakeElasticsearch {
  readonly url: string;
  /** Stored documents by index, then _id. */
  readonly indices: Map<string, Map<string, Record<string, unknown>>>;
  /** Headers of every bulk request. */
  readonly requests: { path: string; headers: IncomingHttpHeaders }[];
  /** Fixes the type of a dotted field path, as an existing index mapping would. */
  map(index: string, field: string, type: FieldType): void;
  /** The next `count` items whose _id matches answer 429 es_rejected_execution_exception. */
  rejectItems(idPattern: RegExp, count: number): void;
  close(): Promise<void>;
}

export async function startFakeElasticsearch(opts: { authorization?: string } = {}): Promise<FakeElasticsearch> {
  const indices = new Map<string, Map<string, Record<string, unknown>>>();
  const mappings = new Map<string, Map<string, FieldType>>();
  const requests: { path: string; headers: IncomingHttpHeaders }[] = [];
  const rejections: { pattern: RegExp; left: number }[] = [];

  const error = (status: number, type: string, reason: string): Record<string, unknown> => ({
    error: { root_cause: [{ type, reason }], type, reason },
    status,
  });

  function index(name: string, id: string, doc: Record<string, unknown>): Record<string, unknown> {
    const base = { _index: name, _id: id };
    const reject = rejections.find((r) => r.left > 0 && r.pattern.test(id));
    if (reject) {
      reject.left--;
      return {
        ...base,
        status: 429,
        error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' },
      };
    }
    const docs = indices.get(name) ?? new Map<string, Record<string, unknown>>();
    if (docs.has(id)) {
      return {
        ...base,
        status: 409,
        error: {
          type: 'version_conflict_engine_exception',
          reason: `[${id}]: version conflict, document already exists (current version [1])`,
        },
      };
    }
    const mapping = mappings.get(name) ?? new Map<string, FieldType>();
    const problem = checkMapping(doc, '', mapping);
    if (problem) return { ...base, status: 400, error: { type: 'mapper_parsing_exception', reason: problem } };
    docs.set(id, doc);
    indices.set(name, docs);
    mappings.set(name, mapping);
    return { ...base, _version: 1, result: 'created', status: 201 };
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const path = (req.url ?? '').split('?')[0] ?? '';
      requests.push({ path: req.url ?? '', headers: req.headers });
      if (opts.authorization !== undefined && req.headers.authorization !== opts.authorization) {
        return reply(
          401,
          error(401, 'security_exception', 'unable to authenticate user [tripline] for REST request [/_bulk]'),
        );
      }
      const m = /^(?:\/([^/_][^/]*))?\/_bulk$/.exec(path);
      if (req.method !== 'POST' && req.method !== 'PUT')
        return reply(405, error(405, 'method_not_allowed', 'use POST'));
      if (!m) return reply(400, error(400, 'invalid_index_name_exception', `no handler for ${path}`));
      const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
      if (type !== 'application/x-ndjson' && type !== 'application/json') {
        return reply(406, { error: `Content-Type header [${type}] is not supported`, status: 406 });
      }
      const body = Buffer.concat(chunks).toString('utf8');
      if (!body.endsWith('\n')) {
        return reply(
          400,
          error(400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]'),
        );
      }
      const lines = body.split('\n').slice(0, -1);
      const items: Record<string, unknown>[] = [];
      for (let i = 0; i < lines.length; i += 2) {
        let action: Record<string, { _index?: string; _id?: string }>;
        let doc: Record<string, unknown>;
        try {
          action = JSON.parse(lines[i] ?? '') as typeof action;
          doc = JSON.parse(lines[i + 1] ?? '') as Record<string, unknown>;
        } catch {
          return reply(400, error(400, 'x_content_parse_exception', `malformed action/metadata line [${i + 1}]`));
        }
        const [op, meta] = Object.entries(action)[0] ?? [];
        const target = meta?._index ?? m[1];
        if (op !== 'create' && op !== 'index') {
          return reply(
            400,
            error(
              400,
              'illegal_argument_exception',
              `Malformed action/metadata line [${i + 1}], expected create or index`,
            ),
          );
        }
        if (!target)
          return reply(
            400,
            error(400, 'action_request_validation_exception', 'Validation Failed: 1: index is missing;'),
          );
        const id = meta?._id ?? `auto-${i}`;
        items.push({ [op]: index(target, id, doc) });
      }
      const errors = items.some((it) => ((Object.values(it)[0] as { status: number }).status ?? 0) >= 300);
      reply(200, { took: 1, errors, items });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    indices,
    requests,
    map(indexName, field, type) {
      const mapping = mappings.get(indexName) ?? new Map<string, FieldType>();
      mapping.set(field, type);
      mappings.set(indexName, mapping);
    },
    rejectItems: (pattern, count) => rejections.push({ pattern, left: count }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Checks `value` against the mapping, extending it for new fields; returns the ES reason on conflict. */
function checkMapping(
  value: Record<string, unknown>,
  prefix: string,
  mapping: Map<string, FieldType>,
): string | undefined {
  for (const [key, v] of Object.entries(value)) {
    const field = prefix ? `${prefix}.${key}` : key;
    const values = Array.isArray(v) ? v : [v];
    for (const item of values) {
      if (item === null) continue;
      const actual = typeOf(item, field);
      const mapped = mapping.get(field);
      if (mapped === undefined) mapping.set(field, actual);
      else if (mapped === 'object' && actual !== 'object') {
        return `object mapping for [${field}] tried to parse field [${key}] as object, but found a concrete value`;
      } else if (mapped !== 'object' && actual === 'object') {
        return `failed to parse field [${field}] of type [${mapped}]: tried to parse an object as a concrete value`;
      } else if ((mapped === 'long' || mapped === 'double') && typeof item !== 'number' && Number.isNaN(Number(item))) {
        return `failed to parse field [${field}] of type [${mapped}] in document`;
      } else if (mapped === 'date' && Number.isNaN(Date.parse(String(item)))) {
        return `failed to parse field [${field}] of type [date] in document`;
      }
      if (actual === 'object') {
        const problem = checkMapping(item as Record<string, unknown>, field, mapping);
        if (problem) return problem;
      }
    }
  }
  return undefined;
}

function typeOf(v: unknown, field: string): FieldType {
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'long' : 'double';
  // Dynamic mapping detects dates in strings; @timestamp is the field that matters here.
  return field === '@timestamp' || /^\d{4}-\d{2}-\d{2}T/.test(String(v)) ? 'date' : 'keyword';
}
