import type { ResolvedConfig } from '../../lib/config';
import { functionSettings, type FunctionSettings } from '../function-settings';
import type { FunctionRole, IdentityPolicy } from './principals';
import { localTemplates, type Resource, type ResolvedTemplate, type TargetEnv } from './templates';

/**
 * What one deployment's templates say about access: each role's identity policies, the on-call managed policy, the
 * KMS key policy, the secrets' resource policies, the functions' resource policies (from `AWS::Lambda::Permission`,
 * as Lambda renders them) and the functions' log groups. Read from the resolved templates only: no second copy.
 */

/** One policy statement, as IAM reads it. */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  Version?: string;
  Statement: Statement[];
}

/** A role: its ARN, trust policy and identity policies (inline and attached managed). */
export interface RolePolicies {
  arn: string;
  trust: PolicyDocument;
  policies: IdentityPolicy[];
}

/** One of keyrelay's functions. */
export interface DeployedFunction {
  name: string;
  arn: string;
  /** `/aws/lambda/<name>`. */
  logGroup: string;
  role: RolePolicies;
  /** Its resource policy: who else may invoke it. */
  policy: PolicyDocument;
  /** Handler, timeout, memory, environment: what the local Lambda runtime gives its process. */
  settings: FunctionSettings;
}

/** A deployment's access facts; see the module comment. */
export interface Deployment extends TargetEnv {
  functions: Record<FunctionRole, DeployedFunction>;
  schedulerRole: RolePolicies;
  onCallPolicy: { name: string; arn: string; policy: PolicyDocument };
  /** The KMS key encrypting the deployment's secrets. */
  key: { arn: string; policy: PolicyDocument };
  /** The deployment's KMS key in each replica region (`<prefix>-Replica-<region>`), encrypting the replicas there. */
  replicaKeys: Array<{ region: string; arn: string; policy: PolicyDocument }>;
  /** Resource policies of the config's secrets, by secret name. */
  secretPolicies: Map<string, PolicyDocument>;
  /** The reconcile rule (EventBridge invokes the revoker for it; the canary rule's permission is alike). */
  reconcileRuleArn: string;
  /** The AWS Health rule and the revoker alias only it may invoke (docs/security.md, "Automatic emergencies"). */
  awsHealth: { ruleArn: string; aliasArn: string };
  /** The revocation schedules' group (Scheduler assumes the scheduler role for its schedules). */
  scheduleGroup: string;
}

/** The templates lack something the local IAM needs (e.g. a function of the engine). */
export class DeploymentShapeError extends Error {
  constructor(message: string) {
    super(`local/iam/policies.ts: ${message}`);
    this.name = 'DeploymentShapeError';
  }
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function document(value: unknown): PolicyDocument {
  const doc = value as { Version?: string; Statement?: Statement | Statement[] };
  return { Version: doc.Version ?? '2012-10-17', Statement: asList(doc.Statement) };
}

/** Reads the access facts of `templates`, the deployment `prefix` of `env`. */
export function deploymentOf(templates: readonly ResolvedTemplate[], prefix: string, env: TargetEnv): Deployment {
  const all: Array<Resource & { id: string; region: string }> = templates.flatMap((t) =>
    Object.entries(t.resources).map(([id, r]) => ({ id, region: t.region, ...r })),
  );
  const ofType = (type: string) => all.filter((r) => r.Type === type);
  const props = (r: Resource) => r.Properties as Record<string, unknown>;

  function role(arn: unknown): RolePolicies {
    const found = ofType('AWS::IAM::Role').find((r) => r.arn === arn);
    if (!found) throw new DeploymentShapeError(`no role with ARN ${String(arn)}`);
    const name = found.ref as string;
    const policies: IdentityPolicy[] = [];
    for (const p of asList(props(found).Policies as Array<{ PolicyName: string; PolicyDocument: unknown }> | undefined)) {
      policies.push({ name: p.PolicyName, policy: document(p.PolicyDocument) });
    }
    for (const p of ofType('AWS::IAM::Policy')) {
      if (asList(props(p).Roles as string[]).includes(name)) policies.push({ name: String(props(p).PolicyName), policy: document(props(p).PolicyDocument) });
    }
    for (const p of ofType('AWS::IAM::ManagedPolicy')) {
      if (asList(props(p).Roles as string[]).includes(name)) policies.push({ name: p.arn as string, policy: document(props(p).PolicyDocument) });
    }
    const external = asList(props(found).ManagedPolicyArns as string[]);
    if (external.length > 0) {
      throw new DeploymentShapeError(`role ${name} attaches managed policies the templates do not hold (${external.join(', ')}); write the statements in the stack`);
    }
    return { arn: found.arn as string, trust: document(props(found).AssumeRolePolicyDocument), policies };
  }

  function fn(kind: FunctionRole): DeployedFunction {
    const name = `${prefix}-${kind}`;
    const found = ofType('AWS::Lambda::Function').find((r) => props(r).FunctionName === name);
    if (!found) throw new DeploymentShapeError(`no function named ${name}`);
    const arn = found.arn as string;
    // Permissions on the function and on its aliases (`<arn>:<alias>`: each judged on its own ARN, as Lambda does).
    const statements: Statement[] = ofType('AWS::Lambda::Permission')
      .filter((p) => props(p).FunctionName === arn || props(p).FunctionName === name || String(props(p).FunctionName).startsWith(`${arn}:`))
      .map((p, i) => {
        const { Action, Principal, SourceAccount, SourceArn, FunctionName } = props(p) as Record<string, string | undefined>;
        const condition: Statement['Condition'] = {};
        if (SourceAccount) condition.StringEquals = { 'AWS:SourceAccount': SourceAccount };
        if (SourceArn) condition.ArnLike = { 'AWS:SourceArn': SourceArn };
        const principal = String(Principal).endsWith('.amazonaws.com') ? { Service: Principal } : { AWS: Principal };
        const resource = FunctionName?.startsWith(`${arn}:`) ? FunctionName : arn;
        return { Sid: `permission-${i}`, Effect: 'Allow' as const, Principal: principal, Action: Action ?? 'lambda:InvokeFunction', Resource: resource, ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}) };
      });
    return {
      name,
      arn,
      logGroup: `/aws/lambda/${name}`,
      role: role(props(found).Role),
      policy: { Version: '2012-10-17', Statement: statements },
      settings: functionSettings(name, props(found)),
    };
  }

  const functions = { rotation: fn('rotation'), revoker: fn('revoker') };
  const schedulerRole = ofType('AWS::IAM::Role').find((r) =>
    asList((props(r).AssumeRolePolicyDocument as { Statement?: Statement[] } | undefined)?.Statement).some((s) =>
      asList((s.Principal as { Service?: string | string[] } | undefined)?.Service).includes('scheduler.amazonaws.com'),
    ),
  );
  const onCallName = `${prefix}-oncall`;
  const onCall = ofType('AWS::IAM::ManagedPolicy').find((p) => props(p).ManagedPolicyName === onCallName);
  const keys = ofType('AWS::KMS::Key').filter((k) => k.region === env.region);
  const replicaKeys = ofType('AWS::KMS::Key')
    .filter((k) => k.region !== env.region)
    .map((k) => ({ region: k.region, arn: k.arn as string, policy: document(props(k).KeyPolicy) }));
  const reconcile = ofType('AWS::Lambda::Permission').find((p) => props(p).FunctionName === functions.revoker.arn && props(p).Principal === 'events.amazonaws.com');
  const group = ofType('AWS::Scheduler::ScheduleGroup')[0];
  const onAlias = ofType('AWS::Lambda::Permission').find((p) => String(props(p).FunctionName).startsWith(`${functions.revoker.arn}:`));
  if (!schedulerRole || !onCall || keys.length !== 1 || !keys[0] || !reconcile || !group || !onAlias) {
    throw new DeploymentShapeError('the engine stack needs a scheduler role, the on-call policy, one KMS key, the reconcile rule, the AWS Health rule and a schedule group');
  }
  const secretPolicies = new Map<string, PolicyDocument>();
  for (const p of ofType('AWS::SecretsManager::ResourcePolicy')) {
    const secret = ofType('AWS::SecretsManager::Secret').find((s) => s.ref === props(p).SecretId);
    if (secret) secretPolicies.set(String(props(secret).Name), document(props(p).ResourcePolicy));
  }
  return {
    ...env,
    functions,
    schedulerRole: role(schedulerRole.arn),
    onCallPolicy: { name: onCallName, arn: onCall.arn as string, policy: document(props(onCall).PolicyDocument) },
    key: { arn: keys[0].arn as string, policy: document(props(keys[0]).KeyPolicy) },
    replicaKeys,
    secretPolicies,
    reconcileRuleArn: String(props(reconcile).SourceArn),
    awsHealth: { ruleArn: String(props(onAlias).SourceArn), aliasArn: String(props(onAlias).FunctionName) },
    scheduleGroup: String(props(group).Name),
  };
}

/** The deployment `cdk synth` makes of `config` in `env`. */
export function synthesizeDeployment(config: ResolvedConfig, env: TargetEnv): Deployment {
  return deploymentOf(localTemplates(config, env), config.deploy.prefix, env);
}
