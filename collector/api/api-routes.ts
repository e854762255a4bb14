import type { IncomingMessage, ServerResponse } from 'node:http';
import { ITEM_KINDS, type ItemKind } from '../../proto/profile.js';
import type { RuleId } from '../../proto/incident.js';
import { SEVERITIES, type Severity } from '../../proto/incident.js';
import type { IncidentQueries, OperationResult, ProfileOperations } from './api-operations.js';
import { HttpError, readJsonBody, sendJson } from './http-json.js';
import { networkPolicy, seccompProfile } from './exports.js';

/** Which profile section an incident's item belongs to, for "approve this incident". */
const RULE_ITEM_KIND: Record<RuleId, ItemKind> = {
  'unexpected-exec': 'exec',
  'dropped-binary-exec': 'exec',
  'unexpected-syscall': 'syscall',
  'protected-path-write': 'file',
  'unexpected-file-write': 'file',
  'new-listener': 'listen',
  'unexpected-egress': 'egress',
  'cross-sensitivity-flow': 'egress',
};

interface Deps {
  readonly profiles: ProfileOperations;
  readonly incidents: IncidentQueries;
}

const ERROR_STATUS: Record<string, number> = { 'not-found': 404, 'no-such-item': 404, 'not-saved': 503 };

async function answer(res: ServerResponse, pending: Promise<OperationResult>): Promise<void> {
  const r = await pending;
  if (r.ok) return sendJson(res, 200, { ok: true });
  throw new HttpError(ERROR_STATUS[r.error] ?? 400, r.detail ? `${r.error}: ${r.detail}` : r.error);
}

function itemKind(value: unknown): ItemKind {
  if (typeof value === 'string' && (ITEM_KINDS as readonly string[]).includes(value)) return value as ItemKind;
  throw new HttpError(400, `item kind must be one of ${ITEM_KINDS.join(', ')}`);
}

function nonEmpty(value: unknown, name: string): string {
  if (typeof value === 'string' && value !== '') return value;
  throw new HttpError(400, `${name} is required`);
}

/** "app=web,tier=frontend" → labels; the pods a generated NetworkPolicy selects. */
function parseSelector(s: string | null): Record<string, string> {
  if (!s) throw new HttpError(400, 'selector query parameter is required, e.g. ?selector=app=web');
  const labels: Record<string, string> = {};
  for (const pair of s.split(',')) {
    const [k, v] = pair.split('=');
    if (!k || v === undefined) throw new HttpError(400, `selector "${pair}" is not key=value`);
    labels[k] = v;
  }
  return labels;
}

/**
 * /api/v1/profiles[/<key>[/items|/relearn|/lock|/export/seccomp|/export/networkpolicy]]
 * /api/v1/incidents[/<id>[/approve]], /api/v1/dead-letters[/resend]. Workload keys contain '/', so clients
 * percent-encode them as one path segment.
 */
export async function routeApi(req: IncomingMessage, res: ServerResponse, url: URL, deps: Deps): Promise<void> {
  const parts = url.pathname.split('/').slice(3).map(decodeURIComponent);
  const [collection, id, action, sub] = parts;
  const method = req.method ?? 'GET';
  if (collection === 'profiles') {
    if (id === undefined) return sendJson(res, 200, { profiles: deps.profiles.listProfiles().map(summary) });
    const profile = deps.profiles.getProfile(id);
    if (!profile) throw new HttpError(404, `no profile for workload ${id}`);
    if (action === undefined && method === 'GET') return sendJson(res, 200, profile);
    if (action === 'items' && method === 'POST') {
      const body = await readJsonBody(req);
      return answer(res, deps.profiles.approve(id, itemKind(body.kind), nonEmpty(body.key, 'key')));
    }
    if (action === 'items' && method === 'DELETE') {
      const body = await readJsonBody(req);
      return answer(res, deps.profiles.removeItem(id, itemKind(body.kind), nonEmpty(body.key, 'key')));
    }
    if (action === 'relearn' && method === 'POST') return answer(res, deps.profiles.relearn(id));
    if (action === 'lock' && method === 'POST') return answer(res, deps.profiles.lock(id));
    if (action === 'export' && sub === 'seccomp') return sendJson(res, 200, seccompProfile(profile));
    if (action === 'export' && sub === 'networkpolicy') {
      return sendJson(res, 200, networkPolicy(profile, parseSelector(url.searchParams.get('selector'))));
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  }
  if (collection === 'incidents') {
    if (id === undefined) {
      const minSeverity = url.searchParams.get('minSeverity') ?? undefined;
      if (minSeverity && !SEVERITIES.includes(minSeverity as Severity)) {
        throw new HttpError(400, `minSeverity must be one of ${SEVERITIES.join(', ')}`);
      }
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const incidents = deps.incidents.list({
        rule: url.searchParams.get('rule') ?? undefined,
        workload: url.searchParams.get('workload') ?? undefined,
        minSeverity: minSeverity as Severity | undefined,
        limit: Number.isInteger(limit) && limit > 0 ? Math.min(limit, 1000) : 100,
      });
      return sendJson(res, 200, { incidents });
    }
    const incident = deps.incidents.get(id);
    if (!incident) throw new HttpError(404, `no incident ${id}`);
    if (action === undefined && method === 'GET') return sendJson(res, 200, incident);
    if (action === 'approve' && method === 'POST') {
      return answer(res, deps.profiles.approve(incident.workloadKey, RULE_ITEM_KIND[incident.rule], incident.key));
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`);
  }
  if (collection === 'dead-letters') return routeDeadLetters(req, res, url, deps.incidents, id);
  throw new HttpError(404, `no route for ${url.pathname}`);
}

/** An optional sink id: absent, or a non-empty string. */
function sinkFilter(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  throw new HttpError(400, 'sink must be a non-empty sink id');
}

/** GET /api/v1/dead-letters[?sink=ID&limit=N], POST /api/v1/dead-letters/resend {"sink"?: ID}. */
async function routeDeadLetters(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  incidents: IncidentQueries,
  action: string | undefined,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (!incidents.deadLetters || !incidents.resendDeadLetters)
    throw new HttpError(404, 'this server has no dead-letter file');
  if (action === undefined && method === 'GET') {
    const limit = Number(url.searchParams.get('limit') ?? 1000);
    const listing = await incidents.deadLetters({
      sink: sinkFilter(url.searchParams.get('sink')),
      limit: Number.isInteger(limit) && limit > 0 ? Math.min(limit, 10_000) : 1000,
    });
    return sendJson(res, 200, listing);
  }
  if (action === 'resend' && method === 'POST') {
    const body = await readJsonBody(req);
    return sendJson(res, 200, await incidents.resendDeadLetters({ sink: sinkFilter(body.sink) }));
  }
  throw new HttpError(404, `no route ${method} ${url.pathname}`);
}

function summary(p: ReturnType<ProfileOperations['listProfiles']>[number]): Record<string, unknown> {
  return {
    key: p.key,
    state: p.state,
    partial: p.partial,
    items: p.items.length,
    suspect: p.items.filter((i) => i.suspect).length,
    pendingReview: p.items.filter((i) => i.pendingReview).length,
    learningStarted: new Date(p.learningStartedMs).toISOString(),
    stableSince: p.stableSinceMs ? new Date(p.stableSinceMs).toISOString() : null,
  };
}
