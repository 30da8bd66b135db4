import { z } from 'zod';
import { ProviderResponseError } from './errors';
import { ProviderHttp, jsonPath, lazyCredential, paginate, parseAdminCredential, requireString, stringSettings, trimSlash } from './http';
import type { ProviderDefinition } from './registry';
import type { IssueRequest, IssuedKey, KeyProvider, ProviderContext, ProviderKey, VerifiedKey } from './types';

/**
 * A provider for in-house key services, configured by a small declarative mapping instead of code:
 *
 * ```json
 * "provider": {
 *   "type": "generic-http", "baseUrl": "https://keys.internal.example.com",
 *   "createPath": "/v1/keys", "listPath": "/v1/keys", "deletePath": "/v1/keys/:id", "verifyPath": "/v1/whoami",
 *   "listItems": "keys", "nextTokenPath": "next_page_token", "nextTokenParam": "page_token"
 * }
 * ```
 *
 * - issue: `POST createPath` with `{"<labelField>": label}`; the key and its id are read at `keyPath` / `idPath`
 *   (dot paths). verify: `GET verifyPath` with the key in the auth header; 401/403 mean rejected. revoke:
 *   `DELETE deletePath` (`:id` replaced). list: `GET listPath`, items at `listItems`, following either a next link
 *   (`nextPath`) or a page token (`nextTokenPath` sent back as `nextTokenParam`) until there is none.
 * - Settings travel as secret tags, so templates use `:id` (braces are not allowed in tags) and JSON paths are dot
 *   paths without `$`.
 * - Errors are the same typed errors as every adapter: 401/403, 404, 429 + `Retry-After`, 5xx, and a 4xx that
 *   mentions a limit or quota. Admin secret: `{"token": "<admin token>"}`. Disable and last use: not mapped.
 */
export const GENERIC_HTTP_API = 'any JSON-over-HTTP key API, by mapping';

const path = z.string().regex(/^\/[A-Za-z0-9_.:/=+@-]*$/, 'must be a path starting with / (use :id for the key id)');
const jsonField = z.string().regex(/^[A-Za-z0-9_.-]*$/, 'must be a dot path, e.g. data.key');

const Settings = z.object({
  baseUrl: z.url().describe('Service base URL'),
  createPath: path.describe('POST here to issue a key'),
  listPath: path.describe('GET here to list keys'),
  deletePath: path.describe('DELETE here to revoke a key; :id is the key id'),
  verifyPath: path.describe('GET here with a key to check it works'),
  labelField: jsonField.optional().describe('Body field carrying the label on create, and label field of listed keys. @default name'),
  keyPath: jsonField.optional().describe('Where the create answer holds the key value. @default key'),
  idPath: jsonField.optional().describe('Where the create answer and listed keys hold the key id. @default id'),
  listItems: jsonField.optional().describe('Where the list answer holds the array of keys. @default - the answer is the array'),
  nextPath: jsonField.optional().describe('Where the list answer holds the next page link. @default - none'),
  nextTokenPath: jsonField.optional().describe('Where the list answer holds the next page token. @default - none'),
  nextTokenParam: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional().describe('Query parameter sending the page token back. @default page_token'),
  authHeader: z.string().regex(/^[A-Za-z0-9-]+$/).optional().describe('Header carrying credentials. @default authorization'),
  authScheme: z.string().regex(/^[A-Za-z0-9-]*$/).optional().describe('Prefix before the credential; empty for none. @default Bearer'),
  quota: z.string().regex(/^\d+$/).optional().describe('Most keys the service allows. @default - no limit known'),
});

type GenericSettings = z.infer<typeof Settings>;
const Admin = z.object({ token: z.string().min(1) });
const ADMIN_SHAPE = '{"token": "<admin token>"}';

/** A key service described by a mapping. See {@link GENERIC_HTTP_API}. */
export class GenericHttpKeys implements KeyProvider {
  readonly type = 'generic-http';
  /** Declared once, in the registry entry ({@link genericHttpProvider}). */
  readonly capabilities = genericHttpProvider.capabilities;
  readonly quota?: number;
  private readonly http: ProviderHttp;
  private readonly header: string;

  constructor(private readonly s: GenericSettings, context: ProviderContext) {
    this.quota = s.quota === undefined ? undefined : Number(s.quota);
    this.header = (s.authHeader ?? 'authorization').toLowerCase();
    const admin = lazyCredential(context.adminCredential, (t) => parseAdminCredential(this.type, t, Admin, ADMIN_SHAPE));
    this.http = new ProviderHttp({
      provider: this.type,
      baseUrl: trimSlash(s.baseUrl),
      clock: context.clock,
      fetch: context.fetch,
      quota: this.quota,
      auth: async () => this.credential((await admin()).token),
    });
  }

  private credential(secret: string): Record<string, string> {
    const scheme = this.s.authScheme ?? 'Bearer';
    return { [this.header]: scheme ? `${scheme} ${secret}` : secret };
  }

  async issue({ label }: IssueRequest): Promise<IssuedKey> {
    const created = await this.http.json({ method: 'POST', path: this.s.createPath, json: { [this.s.labelField ?? 'name']: label }, what: 'create key' });
    return {
      apiKey: requireString(this.type, 'create key', created, this.s.keyPath ?? 'key'),
      keyId: requireString(this.type, 'create key', created, this.s.idPath ?? 'id'),
    };
  }

  async verify(apiKey: string): Promise<VerifiedKey> {
    await this.http.request({ method: 'GET', path: this.s.verifyPath, auth: this.credential(apiKey), what: 'verify key' });
    return {};
  }

  async revoke(keyId: string): Promise<void> {
    await this.http.request({ method: 'DELETE', path: this.s.deletePath.replaceAll(':id', encodeURIComponent(keyId)), keyId, what: 'delete key' });
  }

  async list(): Promise<ProviderKey[]> {
    const tokenParam = this.s.nextTokenParam ?? 'page_token';
    return paginate<ProviderKey, string>(this.type, async (cursor) => {
      const byLink = this.s.nextPath !== undefined;
      const res = await this.http.json({
        method: 'GET',
        path: byLink && cursor ? cursor : this.s.listPath,
        query: !byLink && cursor ? { [tokenParam]: cursor } : undefined,
        what: 'list keys',
      });
      const items = jsonPath(res, this.s.listItems ?? '');
      if (!Array.isArray(items)) {
        throw new ProviderResponseError(this.type, `list keys: no array at '${this.s.listItems ?? '(root)'}' of the answer; check listItems`);
      }
      const nextField = byLink ? this.s.nextPath : this.s.nextTokenPath;
      const next = nextField ? jsonPath(res, nextField) : undefined;
      return {
        items: items.map((item) => ({
          keyId: requireString(this.type, 'list keys', item, this.s.idPath ?? 'id'),
          label: (jsonPath(item, this.s.labelField ?? 'name') as string | undefined) ?? undefined,
          status: 'active' as const,
        })),
        next: typeof next === 'string' && next !== '' ? next : undefined,
      };
    });
  }
}

/** Registry entry for `generic-http`. */
export const genericHttpProvider: ProviderDefinition = {
  apiHosts: 'config',
  type: 'generic-http',
  settings: stringSettings(Settings),
  capabilities: { disable: false, lastUsed: false },
  needsAdminSecret: true,
  create: (context) => new GenericHttpKeys(Settings.parse(context.settings), context),
};
