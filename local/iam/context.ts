import type { AccessRequest } from './evaluate';

/**
 * A request to the local endpoint, as IAM sees it: who signed it (the access key id of the SigV4 `Credential=`), in
 * which region, and the authorizations AWS makes for it (action, resource ARN, context keys). Signatures are not
 * verified: the proxy rewrites some bodies (see proxy.ts), and the point is attribution, not authentication.
 *
 * Mapped: Secrets Manager (with the KMS use a managed secret's value implies), Lambda Invoke, EventBridge Scheduler
 * schedules (with `iam:PassRole` of the target role), EventBridge PutEvents, KMS. Any other request is judged as
 * `<service>:<operation>` on `*`, which only a principal allowed every resource passes.
 */

/** Who signed a request, and where it goes. */
export interface Signature {
  accessKeyId: string;
  region: string;
  /** The SigV4 signing name (`secretsmanager`, `lambda`, `monitoring`, ...). */
  signingName: string;
}

/** What context.ts needs of a request. */
export interface EndpointRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** What AWS knows about a secret when it authorizes a call on it. */
export interface SecretFacts {
  arn: string;
  name: string;
  tags: Record<string, string>;
  rotationLambdaArn?: string;
}

/** Reads a secret by id (name or ARN) in a region; undefined when it does not exist. */
export type SecretLookup = (secretId: string, region: string) => Promise<SecretFacts | undefined>;

/** The deployment facts a request's authorizations depend on. */
export interface Scope {
  account: string;
  /** Whether a secret is encrypted with the deployment's KMS key (its value's use implies `kms:*` on that key). */
  usesDeploymentKey(secret: SecretFacts): boolean;
  /** The deployment key's ARN in `region`. */
  keyArn(region: string): string;
}

/** One request's service, operation and authorizations. */
export interface Authorizations {
  service: string;
  operation: string;
  checks: AccessRequest[];
  /** The denial message AWS gives when an implied check (KMS through Secrets Manager) fails, if not its own. */
  impliedDenial?: { index: number; message: string }[];
}

const CREDENTIAL = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/;

/** The signature's access key id, region and service; undefined for an unsigned request. */
export function signatureOf(request: EndpointRequest): Signature | undefined {
  const header = request.headers.authorization;
  const text = Array.isArray(header) ? header[0] : header;
  const query = new URL(request.url, 'http://local').searchParams.get('X-Amz-Credential');
  const match = CREDENTIAL.exec(text ?? (query ? `Credential=${query}` : ''));
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { accessKeyId: match[1], region: match[2], signingName: match[3] };
}

/** Signing names whose IAM prefix differs. */
const IAM_PREFIX: Record<string, string> = { monitoring: 'cloudwatch' };

const INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
const SCHEDULE = /^\/schedules\/([^/]+)$/;
const RPC_V2 = /^\/service\/[^/]+\/operation\/([^/]+)$/;
const SCHEDULE_OPERATION: Record<string, string> = { POST: 'CreateSchedule', PUT: 'UpdateSchedule', GET: 'GetSchedule', DELETE: 'DeleteSchedule' };
/** Secrets Manager operations on no particular secret. */
const ACCOUNT_WIDE = new Set(['ListSecrets', 'GetRandomPassword', 'BatchGetSecretValue']);

function json(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function header(request: EndpointRequest, name: string): string {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

function tagContext(tags: ReadonlyArray<{ Key?: unknown; Value?: unknown }>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { 'aws:TagKeys': tags.map((t) => String(t.Key)) };
  for (const t of tags) out[`aws:RequestTag/${String(t.Key)}`] = String(t.Value ?? '');
  return out;
}

function resourceTags(secret: SecretFacts | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(secret?.tags ?? {}).map(([k, v]) => [`aws:ResourceTag/${k}`, v]));
}

/** A function's ARN from any form Lambda accepts (`name`, partial or full ARN, with a qualifier). */
function functionArn(nameOrArn: string, region: string, account: string, qualifier?: string): string {
  const text = decodeURIComponent(nameOrArn);
  const parts = text.split(':');
  const at = parts.indexOf('function');
  const name = at >= 0 ? parts[at + 1] : parts[0];
  const q = qualifier ?? (at >= 0 ? parts[at + 2] : parts[1]);
  const acct = at >= 0 && parts[at - 1] && /^\d{12}$/.test(parts[at - 1] as string) ? (parts[at - 1] as string) : account;
  const reg = at >= 0 && parts[3] ? parts[3] : region;
  return `arn:aws:lambda:${reg}:${acct}:function:${name ?? ''}${q ? `:${q}` : ''}`;
}

/** The authorizations AWS makes for `request`, signed as `signature`. */
export async function authorizationsOf(request: EndpointRequest, signature: Signature, scope: Scope, lookup: SecretLookup): Promise<Authorizations> {
  const { region } = signature;
  const { account } = scope;
  const path = request.url.split('?')[0] ?? '/';
  const query = new URL(request.url, 'http://local').searchParams;
  const prefix = IAM_PREFIX[signature.signingName] ?? signature.signingName;
  const target = header(request, 'x-amz-target');
  const operation = target.includes('.') ? target.slice(target.lastIndexOf('.') + 1) : '';

  if (signature.signingName === 'secretsmanager' && operation) {
    const input = json(request.body);
    const action = `secretsmanager:${operation}`;
    if (ACCOUNT_WIDE.has(operation) || (operation !== 'CreateSecret' && typeof input.SecretId !== 'string')) {
      return { service: prefix, operation, checks: [{ action, resource: '*', context: {} }] };
    }
    if (operation === 'CreateSecret') {
      const tags = Array.isArray(input.Tags) ? (input.Tags as Array<{ Key?: unknown; Value?: unknown }>) : [];
      const resource = `arn:aws:secretsmanager:${region}:${account}:secret:${String(input.Name)}`;
      return { service: prefix, operation, checks: [{ action, resource, context: tags.length > 0 ? tagContext(tags) : {} }] };
    }
    const secretId = input.SecretId as string;
    const secret = await lookup(secretId, region);
    const resource = secret?.arn ?? (secretId.startsWith('arn:') ? secretId : `arn:aws:secretsmanager:${region}:${account}:secret:${secretId}`);
    const context: Record<string, string | string[]> = { ...resourceTags(secret), 'secretsmanager:SecretId': resource };
    if (secret?.rotationLambdaArn) context['secretsmanager:resource/AllowRotationLambdaArn'] = secret.rotationLambdaArn;
    if (typeof input.VersionStage === 'string') context['secretsmanager:VersionStage'] = input.VersionStage;
    if (typeof input.VersionId === 'string') context['secretsmanager:VersionId'] = input.VersionId;
    if (operation === 'TagResource' && Array.isArray(input.Tags)) Object.assign(context, tagContext(input.Tags as Array<{ Key?: unknown; Value?: unknown }>));
    if (operation === 'UntagResource' && Array.isArray(input.TagKeys)) context['aws:TagKeys'] = (input.TagKeys as unknown[]).map(String);
    const checks: AccessRequest[] = [{ action, resource, context }];
    const impliedDenial: Authorizations['impliedDenial'] = [];
    if (operation === 'RotateSecret') {
      const lambdaArn = typeof input.RotationLambdaARN === 'string' ? input.RotationLambdaARN : secret?.rotationLambdaArn;
      if (typeof input.RotationLambdaARN === 'string') context['secretsmanager:RotationLambdaARN'] = input.RotationLambdaARN;
      // Secrets Manager invokes the function on the caller's behalf: the caller needs invoke on it too.
      if (lambdaArn) checks.push({ action: 'lambda:InvokeFunction', resource: functionArn(lambdaArn, region, account), context: {} });
    }
    const kms = operation === 'GetSecretValue' ? 'kms:Decrypt' : operation === 'PutSecretValue' ? 'kms:GenerateDataKey' : undefined;
    if (kms && secret && scope.usesDeploymentKey(secret)) {
      impliedDenial.push({ index: checks.length, message: 'Access to KMS is not allowed' });
      checks.push({ action: kms, resource: scope.keyArn(region), context: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } });
    }
    return { service: prefix, operation, checks, ...(impliedDenial.length > 0 ? { impliedDenial } : {}) };
  }

  const invoke = request.method === 'POST' ? INVOKE.exec(path) : null;
  if (signature.signingName === 'lambda' && invoke?.[1]) {
    const resource = functionArn(invoke[1], region, account, query.get('Qualifier') ?? undefined);
    return { service: 'lambda', operation: 'Invoke', checks: [{ action: 'lambda:InvokeFunction', resource, context: {} }] };
  }

  const schedule = SCHEDULE.exec(path);
  if (signature.signingName === 'scheduler' && schedule?.[1] && SCHEDULE_OPERATION[request.method]) {
    const op = SCHEDULE_OPERATION[request.method] as string;
    const input = json(request.body);
    const group = (typeof input.GroupName === 'string' ? input.GroupName : query.get('groupName')) ?? 'default';
    const resource = `arn:aws:scheduler:${region}:${account}:schedule/${group}/${decodeURIComponent(schedule[1])}`;
    const checks: AccessRequest[] = [{ action: `scheduler:${op}`, resource, context: {} }];
    const roleArn = (input.Target as { RoleArn?: unknown } | undefined)?.RoleArn;
    if (typeof roleArn === 'string') {
      checks.push({ action: 'iam:PassRole', resource: roleArn, context: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
    }
    return { service: 'scheduler', operation: op, checks };
  }

  if (signature.signingName === 'events' && operation === 'PutEvents') {
    const entries = (json(request.body).Entries as Array<{ Source?: unknown; EventBusName?: unknown; DetailType?: unknown }> | undefined) ?? [];
    // One authorization per entry: its bus, source and detail type.
    const checks = entries.map((e) => ({
      action: 'events:PutEvents',
      resource: String(e.EventBusName ?? '').startsWith('arn:')
        ? String(e.EventBusName)
        : `arn:aws:events:${region}:${account}:event-bus/${typeof e.EventBusName === 'string' && e.EventBusName ? e.EventBusName : 'default'}`,
      context: { 'events:source': [String(e.Source ?? '')], 'events:detail-type': String(e.DetailType ?? '') },
    }));
    return { service: 'events', operation, checks };
  }

  if (signature.signingName === 'kms' && operation) {
    const keyId = json(request.body).KeyId;
    const resource = typeof keyId === 'string' && keyId.startsWith('arn:') ? keyId : scope.keyArn(region);
    return { service: 'kms', operation, checks: [{ action: `kms:${operation}`, resource, context: {} }] };
  }

  // Anything else: the operation from the JSON target, an RPCv2 path or a Query body, judged on every resource.
  const queryAction = /(?:^|&)Action=([A-Za-z]+)/.exec(request.body.toString('utf8'))?.[1] ?? query.get('Action') ?? undefined;
  const op = operation || RPC_V2.exec(path)?.[1] || queryAction || `${request.method} ${path}`;
  return { service: prefix, operation: op, checks: [{ action: `${prefix}:${op}`, resource: '*', context: {} }] };
}

const SECRETS_MANAGER_READ = /^(Get|Describe|List|BatchGet|Validate)/;

/** Whether `request` may change what a {@link SecretLookup} answers (a Secrets Manager write). */
export function changesSecrets(request: EndpointRequest): boolean {
  const target = header(request, 'x-amz-target');
  return target.startsWith('secretsmanager.') && !SECRETS_MANAGER_READ.test(target.slice('secretsmanager.'.length));
}
