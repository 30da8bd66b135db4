import type { Document } from 'openapi-backend';
import type { FakeClock } from '../../support/fake-clock';
import { mintKey } from '../provider-contract';
import { type FakeReply, type FakeRequest, loadSpec, startOpenApiFake, type OpenApiFake } from '../openapi-fake';
import { KeyStore, bearer } from './key-store';

/** A Cloudflare token's policies and IP condition, as the API returns them. */
export interface CfRestrictions {
  policies: Array<{
    id: string;
    effect: string;
    resources: Record<string, string>;
    permission_groups: Array<{ id: string; name?: string; meta?: { key?: string; value?: string } }>;
  }>;
  condition?: { request_ip?: { in?: string[]; not_in?: string[] } };
}

/**
 * cloudflare.json with its documented flaw worked around (fixtures README, cloudflare surprise 3): every `4XX`
 * schema of the 2024 user-token operations is `allOf[<success envelope>, iam_api-response-common-failure]`, which
 * no body satisfies (`success` enum [true] vs [false]); validate error bodies against the failure schema alone, as
 * the derived account operations and the 2026 spec already do.
 */
export function cloudflareSpec(): Document {
  const spec = loadSpec('cloudflare') as { paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };
  for (const item of Object.values(spec.paths)) {
    for (const op of Object.values(item)) {
      const json = op.responses?.['4XX']?.content?.['application/json'];
      if (json) json.schema = { $ref: '#/components/schemas/iam_api-response-common-failure' };
    }
  }
  return spec as unknown as Document;
}

const failure = (status: number, code: number, message: string, headers?: Record<string, string>): FakeReply => ({
  status,
  headers,
  body: { success: false, errors: [{ code, message }], messages: [], result: null },
});
const ok = (result: unknown, resultInfo?: Record<string, number>): FakeReply => ({
  status: 200,
  body: { success: true, errors: [], messages: [], result, ...(resultInfo ? { result_info: resultInfo } : {}) },
});

/** A running Cloudflare fake. */
export interface CloudflareFake {
  fake: OpenApiFake;
  store: KeyStore<CfRestrictions>;
  adminToken: string;
  accountId: string;
  /** Id of a pre-existing token with restrictive policies and an IP condition. */
  templateId: string;
}

/** Page size the fake uses whatever `per_page` asks (within the spec's 5–50), so lists span pages. */
const PAGE = 5;

/** Starts a fake Cloudflare token API (account and user tokens share one store). */
export async function startCloudflareFake(clock: FakeClock): Promise<CloudflareFake> {
  const store = new KeyStore<CfRestrictions>(clock, 500, (n) => n.toString(16).padStart(32, 'c'), () => mintKey('cf', 40));
  const adminToken = mintKey('cfadmin', 40);
  const accountId = 'a'.repeat(32);
  const template = store.add('template', {
    policies: [
      {
        id: 'f267e341f3dd4697bd3b9f71dd96247f',
        effect: 'allow',
        resources: { [`com.cloudflare.api.account.zone.${'e'.repeat(32)}`]: '*' },
        // meta as cloudflare-typescript's TokenPolicy models it ({key, value}).
        permission_groups: [{ id: 'c8fed203ed3043cba015a93ad1616f1f', name: 'Zone Read', meta: { key: 'zone', value: 'read' } }],
      },
    ],
    condition: { request_ip: { in: ['192.0.2.0/24'], not_in: ['192.0.2.9/32'] } },
  });
  const token = (k: ReturnType<typeof store.add>) => ({
    id: k.id,
    name: k.name,
    status: k.status,
    issued_on: new Date(k.created).toISOString().replace('.000Z', 'Z'),
    modified_on: new Date(k.created).toISOString().replace('.000Z', 'Z'),
    policies: k.restrictions?.policies ?? [],
    ...(k.restrictions?.condition ? { condition: k.restrictions.condition } : {}),
    // Left out until the token is first used (Token.last_used_on is optional).
    ...(k.lastUsed === null ? {} : { last_used_on: new Date(k.lastUsed).toISOString().replace('.000Z', 'Z') }),
  });
  const find = (req: FakeRequest) => store.keys.get(req.params.token_id ?? '');
  const notFound = () => failure(404, 1003, 'Invalid API Token: not found');

  const handlers: Record<string, (req: FakeRequest) => FakeReply> = {
    list: (req) => {
      const page = Number(req.query.get('page') ?? '1');
      const { items } = store.page(page - 1, PAGE);
      return ok(items.map(token), { page, per_page: PAGE, count: items.length, total_count: store.keys.size });
    },
    create: (req) => {
      if (store.full()) return failure(400, 1000, `Exceeded the maximum number of API tokens (${store.quota})`);
      const body = req.body as { name: string; policies: CfRestrictions['policies']; condition?: CfRestrictions['condition'] };
      // Cloudflare assigns policy ids and fills permission group names itself; meta is kept as sent.
      const policies = body.policies.map((p, i) => ({
        ...p,
        id: `${i}`.padStart(32, 'f'),
        permission_groups: p.permission_groups.map((g) => ({ ...g, name: 'Zone Read' })),
      }));
      const k = store.add(body.name, { policies, ...(body.condition ? { condition: body.condition } : {}) });
      return ok({ ...token(k), value: k.value });
    },
    get: (req) => {
      const k = find(req);
      return k ? ok(token(k)) : notFound();
    },
    update: (req) => {
      const k = find(req);
      if (!k) return notFound();
      k.status = (req.body as { status?: 'active' | 'disabled' }).status ?? k.status;
      return ok(token(k));
    },
    delete: (req) => {
      const k = find(req);
      if (!k) return notFound();
      store.keys.delete(k.id);
      return ok({ id: k.id });
    },
    verify: (req) => {
      const k = store.use(bearer(req.headers.authorization));
      return k ? ok({ id: k.id, status: 'active' }) : failure(401, 1000, 'Invalid API Token');
    },
  };
  const byOperation: Record<string, (req: FakeRequest) => FakeReply> = {};
  for (const [prefix, ops] of [
    ['account-api-tokens', ['list-tokens', 'create-token', 'token-details', 'update-token', 'delete-token', 'verify-token']],
    ['user-api-tokens', ['list-tokens', 'create-token', 'token-details', 'update-token', 'delete-token', 'verify-token']],
  ] as const) {
    const [list, create, get, update, del, verify] = ops.map((o) => `${prefix}-${o}`);
    Object.assign(byOperation, {
      [list!]: handlers.list,
      [create!]: handlers.create,
      [get!]: handlers.get,
      [update!]: handlers.update,
      [del!]: handlers.delete,
      [verify!]: handlers.verify,
    });
  }

  const fake = await startOpenApiFake({
    spec: cloudflareSpec(),
    handlers: byOperation,
    authenticate: (req) => {
      if (req.operationId.endsWith('verify-token')) return undefined;
      if (req.params.account_id !== undefined && req.params.account_id !== accountId) return failure(403, 9109, 'Unauthorized to access requested resource');
      return bearer(req.headers.authorization) === adminToken ? undefined : failure(401, 10000, 'Authentication error');
    },
  });
  return { fake, store, adminToken, accountId, templateId: template.id };
}

/** Cloudflare's 429 (prose docs: 429 with `Retry-After` in seconds, no body documented; the envelope keeps the spec's code >= 1000). */
export function cloudflareThrottle(seconds: number): FakeReply {
  return failure(429, 10000, 'Rate limited: please wait and consider throttling your request speed', { 'retry-after': String(seconds) });
}

/** A Cloudflare 5xx in its envelope. */
export function cloudflareOutage(): FakeReply {
  return failure(503, 10000, 'Service temporarily unavailable');
}
