import { appendFileSync } from 'node:fs';
import type { ServiceInvoker } from '../functions';
import { AwsServiceError } from '../rotation-service';
import { authorizationsOf, signatureOf, type EndpointRequest, type SecretFacts, type SecretLookup } from './context';
import { accessDeniedMessage, evaluate, EvaluationError, type AccessRequest, type Caller } from './evaluate';
import type { Deployment, PolicyDocument } from './policies';
import type { FunctionRole, LocalPrincipal } from './principals';
import { isArnIdOfSecret } from '../../core/state';

/**
 * IAM at the local endpoint: attributes each request to a principal by its access key id, judges every
 * authorization it implies (context.ts) with the principal's identity policies and the resource's policy
 * (evaluate.ts), and answers a denial as AWS does. Also judges what AWS services do on their own (Secrets Manager
 * invoking the rotation function, Scheduler and EventBridge invoking the revoker) and whether a function's role may
 * write its log group.
 *
 * With `recordTo` (or `KEYRELAY_IAM_RECORD`) naming a file, every judged authorization is appended to it as one JSON
 * line (principal, action, resource, context, result): `scripts/record-iam-calls.ts` turns them into the call-replay
 * fixture.
 */


/** One judged authorization, as recorded. */
export interface RecordedCall {
  principal: string;
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  result: string;
}

/** Options for {@link Enforcer}. */
export interface EnforcerOptions {
  deployment: Deployment;
  principals: Map<string, LocalPrincipal>;
  lookup: SecretLookup;
  /** File to append each judged authorization to (JSON lines). @default process.env.KEYRELAY_IAM_RECORD */
  recordTo?: string;
}

/** A function cannot run (its role may not write its log group): the invocation fails, loudly. */
export class LogPermissionError extends AwsServiceError {
  constructor(fn: string, logGroup: string, detail: string) {
    super(
      'AccessDeniedException',
      `function '${fn}' would run without logs: its role may not ${detail} on log group ${logGroup} (Lambda drops the logs silently, ` +
        'so every log line, EMF metric and alarm built on them would be lost); grant logs:CreateLogStream and logs:PutLogEvents on it',
      403,
    );
  }
}

/** Verdicts kept before the cache starts over. */
const MAX_VERDICTS = 10_000;

const JSON_PROTOCOL = (request: EndpointRequest) => request.headers['x-amz-target'] !== undefined;

/** See the module comment. */
export class Enforcer {
  private deployment: Deployment;
  private principals: Map<string, LocalPrincipal>;
  private byKey: Map<string, LocalPrincipal>;
  private readonly recordTo?: string;
  /**
   * Verdicts by caller, action, resource and context, for the current deployment: the evaluator takes some
   * milliseconds per request, and a fast local clock turns those into minutes of demo time.
   */
  private verdicts = new Map<string, Promise<string>>();
  /**
   * Context keys some policy's condition reads (lowercase; IAM's keys are case-insensitive). Only they are judged:
   * a key no condition names cannot change a verdict, and leaving out key-record tags and request-tag values lets
   * the verdicts of a rotation's calls repeat.
   */
  private referenced: Set<string>;

  constructor(private readonly options: EnforcerOptions) {
    this.deployment = options.deployment;
    this.principals = options.principals;
    this.byKey = new Map([...options.principals.values()].map((p) => [p.accessKeyId, p]));
    this.referenced = conditionKeys(options.deployment, options.principals);
    this.recordTo = options.recordTo ?? (process.env.KEYRELAY_IAM_RECORD || undefined);
  }

  /** Replaces the deployment (the config gained a key) and its principals. */
  update(deployment: Deployment, principals: Map<string, LocalPrincipal>): void {
    this.deployment = deployment;
    this.principals = principals;
    this.byKey = new Map([...principals.values()].map((p) => [p.accessKeyId, p]));
    this.referenced = conditionKeys(deployment, principals);
    this.verdicts = new Map();
  }

  /** The principal signing with `accessKeyId`. */
  principal(accessKeyId: string): LocalPrincipal | undefined {
    return this.byKey.get(accessKeyId);
  }

  /** Judges an endpoint request. @returns undefined when allowed, else the error AWS answers. */
  async authorize(request: EndpointRequest): Promise<AwsServiceError | undefined> {
    const rest = !JSON_PROTOCOL(request);
    const signature = signatureOf(request);
    if (!signature) return new AwsServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
    const principal = this.byKey.get(signature.accessKeyId);
    if (!principal) return new AwsServiceError('UnrecognizedClientException', 'The security token included in the request is invalid.', rest ? 403 : 400);
    const deployment = this.deployment;
    const scope = {
      account: deployment.account,
      usesDeploymentKey: (secret: SecretFacts) => secret.tags['keyrelay:revoker'] === deployment.functions.revoker.name,
      keyArn: (region: string) => deployment.replicaKeys.find((k) => k.region === region)?.arn ?? withRegion(deployment.key.arn, region),
    };
    const { checks, impliedDenial } = await authorizationsOf(request, signature, scope, this.options.lookup);
    for (const [i, check] of checks.entries()) {
      const denial = await this.judge(principal, check);
      if (denial) {
        const implied = impliedDenial?.find((d) => d.index === i);
        return new AwsServiceError('AccessDeniedException', implied?.message ?? denial, rest ? 403 : 400);
      }
    }
    return undefined;
  }

  /**
   * Judges an invocation of keyrelay's function `fn` by an AWS service: Secrets Manager (rotation, by the function's
   * resource policy with `aws:SourceAccount`), Scheduler (assumes the scheduler role, which then invokes), EventBridge
   * (the reconcile and canary rules, by the resource policy with `aws:SourceArn`; the AWS Health rule on the revoker's
   * `aws-events` alias, `qualifier`).
   * @throws AwsServiceError (AccessDeniedException) when AWS would refuse.
   */
  async authorizeService(service: ServiceInvoker, fn: FunctionRole, qualifier?: string): Promise<void> {
    const d = this.deployment;
    const target = d.functions[fn];
    const resource = qualifier ? `${target.arn}:${qualifier}` : target.arn;
    const invoke = (context: Record<string, string>): AccessRequest => ({ action: 'lambda:InvokeFunction', resource, context });
    const asService: Caller = { callerArn: service, identityPolicies: [] };
    let denial: string | undefined;
    if (service === 'scheduler.amazonaws.com') {
      const assume: AccessRequest = {
        action: 'sts:AssumeRole',
        resource: d.schedulerRole.arn,
        context: { 'aws:SourceAccount': d.account, 'aws:SourceArn': `arn:aws:scheduler:${d.region}:${d.account}:schedule-group/${d.scheduleGroup}` },
      };
      denial = (await this.judge(asService, assume, 'scheduler.amazonaws.com')) ?? (await this.judge(this.named('scheduler'), invoke({})));
    } else if (service === 'events.amazonaws.com') {
      // A rule names the alias it targets: the AWS Health rule, the revoker's aws-events alias; the others, the function.
      const rule = resource === d.awsHealth.aliasArn ? d.awsHealth.ruleArn : d.reconcileRuleArn;
      denial = await this.judge(asService, invoke({ 'aws:SourceArn': rule, 'aws:SourceAccount': d.account }), service);
    } else {
      denial = await this.judge(asService, invoke({ 'aws:SourceAccount': d.account }), service);
    }
    if (denial) throw new AwsServiceError('AccessDeniedException', denial, 403);
  }

  /**
   * Whether function `fn`'s role may write its log group, as Lambda needs before it runs the function.
   * @throws LogPermissionError when it may not.
   */
  async checkLogWrite(fn: FunctionRole): Promise<void> {
    const f = this.deployment.functions[fn];
    const role = this.named(fn);
    const stream = `arn:aws:logs:${this.deployment.region}:${this.deployment.account}:log-group:${f.logGroup}:log-stream:local`;
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
      const denial = await this.judge(role, { action, resource: stream, context: {} });
      if (denial) throw new LogPermissionError(f.name, f.logGroup, action);
    }
  }

  /**
   * Judges a recorded call again, against this enforcer's deployment: as the named principal, or as the service
   * principal it names (`secretsmanager.amazonaws.com`, ...). The call-replay test's entry point.
   * @returns the evaluator's result (`Allowed`, `ImplicitlyDenied`, `ExplicitlyDenied`)
   */
  async replay(call: Pick<RecordedCall, 'principal' | 'action' | 'resource' | 'context'>): Promise<string> {
    const caller: Caller = call.principal.endsWith('.amazonaws.com') ? { callerArn: call.principal, identityPolicies: [] } : this.named(call.principal);
    const denial = await this.judge(caller, { action: call.action, resource: call.resource, context: call.context }, call.principal);
    if (!denial) return 'Allowed';
    return denial.includes('explicit deny') ? 'ExplicitlyDenied' : 'ImplicitlyDenied';
  }

  private named(name: string): LocalPrincipal {
    const p = this.principals.get(name);
    if (!p) throw new Error(`local IAM: no principal '${name}'`);
    return p;
  }

  /** The resource's own policy: a secret's, the deployment key's, a function's. */
  private resourcePolicy(resource: string): PolicyDocument | undefined {
    const d = this.deployment;
    if (resource === d.schedulerRole.arn) return d.schedulerRole.trust;
    if (resource.startsWith('arn:aws:kms:')) {
      if (resource.endsWith(d.key.arn.slice(d.key.arn.indexOf(':key/')))) return d.key.policy;
      return d.replicaKeys.find((k) => k.arn === resource)?.policy;
    }
    if (resource.startsWith('arn:aws:lambda:')) {
      const name = resource.split(':')[6];
      return Object.values(d.functions).find((f) => f.name === name)?.policy;
    }
    if (resource.startsWith('arn:aws:secretsmanager:')) {
      const id = resource.slice(resource.indexOf(':secret:') + ':secret:'.length);
      for (const [name, policy] of d.secretPolicies) if (isArnIdOfSecret(id, name)) return policy;
    }
    return undefined;
  }

  /** @returns undefined when allowed, else AWS's denial message. */
  private async judge(caller: Caller & { name?: string }, check: AccessRequest, recordAs?: string): Promise<string | undefined> {
    const judged = Object.entries(check.context)
      .filter(([k]) => this.referenced.has(k.toLowerCase()))
      .sort(([a], [b]) => a.localeCompare(b));
    const request = { ...check, context: Object.fromEntries(judged), ...(check.resourcePolicy ? {} : withPolicy(this.resourcePolicy(check.resource))) };
    const key = JSON.stringify([caller.callerArn, check.action, check.resource, judged]);
    let verdict = this.verdicts.get(key);
    if (!verdict) {
      if (this.verdicts.size >= MAX_VERDICTS) this.verdicts.clear();
      verdict = this.verdictOf(caller, request);
      this.verdicts.set(key, verdict);
    }
    const result = await verdict;
    this.record({ principal: recordAs ?? caller.name ?? caller.callerArn, action: check.action, resource: check.resource, context: check.context, result });
    if (result === 'Allowed') return undefined;
    return accessDeniedMessage(caller, request, { result: result as 'ExplicitlyDenied' | 'ImplicitlyDenied' });
  }

  private async verdictOf(caller: Caller, request: AccessRequest): Promise<string> {
    try {
      return (await evaluate(caller, request, this.deployment.account)).result;
    } catch (err) {
      if (!(err instanceof EvaluationError)) throw err;
      // An action the evaluator does not know: only a principal allowed everything (the deployer) may.
      return allowsEverything(caller) ? 'Allowed' : 'ImplicitlyDenied';
    }
  }

  private record(call: RecordedCall): void {
    if (this.recordTo) appendFileSync(this.recordTo, `${JSON.stringify(call)}\n`);
  }
}

/** Every condition key of every policy of `deployment` and `principals`, lowercase. */
function conditionKeys(deployment: Deployment, principals: Map<string, LocalPrincipal>): Set<string> {
  const documents: PolicyDocument[] = [
    deployment.key.policy,
    ...deployment.replicaKeys.map((k) => k.policy),
    deployment.schedulerRole.trust,
    ...Object.values(deployment.functions).map((f) => f.policy),
    ...deployment.secretPolicies.values(),
    ...[...principals.values()].flatMap((p) => p.identityPolicies.map((i) => i.policy)),
  ];
  const keys = new Set<string>();
  for (const doc of documents) {
    for (const statement of doc.Statement) {
      for (const block of Object.values(statement.Condition ?? {})) for (const key of Object.keys(block)) keys.add(key.toLowerCase());
    }
  }
  return keys;
}

function withPolicy(policy: PolicyDocument | undefined): { resourcePolicy?: PolicyDocument } {
  return policy ? { resourcePolicy: policy } : {};
}

function allowsEverything(caller: Caller): boolean {
  return caller.identityPolicies.some((p) => p.policy.Statement.some((s) => s.Effect === 'Allow' && s.Action === '*' && s.Resource === '*' && !s.Condition));
}

/** An ARN with its region replaced (the same key or function in the request's region). */
function withRegion(arn: string, region: string): string {
  const parts = arn.split(':');
  parts[3] = region;
  return parts.join(':');
}
