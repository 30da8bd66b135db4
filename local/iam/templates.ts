import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { buildKeyRelay } from '../../lib/app';
import type { ResolvedConfig } from '../../lib/config';

/**
 * The CloudFormation templates `cdk synth` makes for a config, with every intrinsic the policies use resolved to the
 * concrete names and ARNs the resources get in one account and region. Synthesized through `buildKeyRelay` with the
 * app's own feature flags (cdk.json) and `env` set, as the CDK CLI runs the app when it has credentials; only the
 * functions' bundling is skipped (the asset's contents are no policy's concern).
 *
 * Physical names CloudFormation would generate (roles, queues, rules, topics) are `<stack>-<logicalId>` here, and the
 * KMS key's id a hash of its logical id: stable, so principals and fixtures can name them.
 */

/** Where the templates deploy. */
export interface TargetEnv {
  account: string;
  region: string;
}

/** A template's resource, intrinsics resolved. */
export interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  /** Its `Ref`, where the local IAM reads one (a role's name, a function's name, a secret's ARN pattern). */
  ref?: string;
  /** Its ARN, where it has one the local IAM reads. */
  arn?: string;
}

/** One stack's template, intrinsics resolved. */
export interface ResolvedTemplate {
  stackName: string;
  /** The stack's region: the target's, or a replica region's (`<prefix>-Replica-<region>`). */
  region: string;
  resources: Record<string, Resource>;
}

/** A value could not be resolved (an intrinsic or a resource type this file does not know). */
export class TemplateResolutionError extends Error {
  constructor(stack: string, what: string) {
    super(`local/iam/templates.ts cannot resolve ${what} in stack '${stack}': add it to the resolver, or keep the policy to known intrinsics`);
    this.name = 'TemplateResolutionError';
  }
}

type Json = unknown;
type RawTemplate = { region?: string; Resources?: Record<string, { Type: string; Properties?: Record<string, Json> }>; Outputs?: Record<string, { Value: Json }> };

const CDK_JSON = new URL('../../cdk.json', import.meta.url);

/** The feature flags of cdk.json, so the local templates are the ones `cdk synth` makes. */
function cdkFlags(): Record<string, unknown> {
  return (JSON.parse(readFileSync(CDK_JSON, 'utf8')) as { context: Record<string, unknown> }).context;
}

/** Synthesizes `config` for `env` (no bundling) and returns each stack's raw template by stack name. */
export function synthesize(config: ResolvedConfig, env: TargetEnv): Map<string, RawTemplate> {
  const app = new App({ builtinCloudFormationValidation: false, context: { ...cdkFlags(), 'aws:cdk:bundling-stacks': [] } });
  buildKeyRelay(app, config, { env });
  const assembly = app.synth();
  // Each with its own region: replica regions' stacks live elsewhere than the target.
  return new Map(assembly.stacks.map((s) => [s.stackName, { ...(s.template as RawTemplate), region: s.environment.region }]));
}

/** A stable key id (UUID form) for a key's logical id. */
function keyId(stack: string, logicalId: string): string {
  const h = createHash('sha256').update(`${stack}/${logicalId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Resolves every stack's intrinsics. @throws TemplateResolutionError for what it cannot resolve. */
export function resolveTemplates(raw: Map<string, RawTemplate>, env: TargetEnv): ResolvedTemplate[] {
  const { account } = env;
  const regionOf = (stack: string): string => raw.get(stack)?.region ?? env.region;
  const pseudoOf = (stack: string): Record<string, string> => ({
    'AWS::AccountId': account,
    'AWS::Region': regionOf(stack),
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::NoValue': '',
  });

  /** Ref and GetAtt of a resource: its physical name or ARN. */
  function reference(stack: string, logicalId: string, attribute: string | undefined): string {
    const resource = raw.get(stack)?.Resources?.[logicalId];
    if (!resource) throw new TemplateResolutionError(stack, `a reference to missing resource '${logicalId}'`);
    const props = resource.Properties ?? {};
    const named = (field: string) => (typeof props[field] === 'string' ? (props[field] as string) : `${stack}-${logicalId}`);
    const what = `${resource.Type} ${attribute ?? 'Ref'}`;
    const region = regionOf(stack);
    const arn = (service: string, name: string, withRegion = true) => `arn:aws:${service}:${withRegion ? region : ''}:${account}:${name}`;
    switch (`${resource.Type}.${attribute ?? 'Ref'}`) {
      case 'AWS::IAM::Role.Ref':
        return named('RoleName');
      case 'AWS::IAM::Role.Arn':
        return arn('iam', `role/${named('RoleName')}`, false);
      case 'AWS::IAM::ManagedPolicy.Ref':
      case 'AWS::IAM::ManagedPolicy.PolicyArn':
        return arn('iam', `policy/${named('ManagedPolicyName')}`, false);
      case 'AWS::Lambda::Function.Ref':
        return named('FunctionName');
      case 'AWS::Lambda::Function.Arn':
        return arn('lambda', `function:${named('FunctionName')}`);
      case 'AWS::Lambda::Alias.Ref':
        // The alias ARN: the function's, qualified by the alias name.
        return arn('lambda', `function:${asString(stack, resolve(stack, props.FunctionName as Json))}:${named('Name')}`);
      case 'AWS::KMS::Key.Ref':
      case 'AWS::KMS::Key.KeyId':
        return keyId(stack, logicalId);
      case 'AWS::KMS::Key.Arn':
        return arn('kms', `key/${keyId(stack, logicalId)}`);
      case 'AWS::SQS::Queue.Arn':
        return arn('sqs', named('QueueName'));
      case 'AWS::SQS::Queue.Ref':
        return `https://sqs.${region}.amazonaws.com/${account}/${named('QueueName')}`;
      case 'AWS::SNS::Topic.Ref':
      case 'AWS::SNS::Topic.TopicArn':
        return arn('sns', named('TopicName'));
      case 'AWS::Events::Rule.Arn':
        return arn('events', `rule/${named('Name')}`);
      case 'AWS::Logs::LogGroup.Ref':
        return named('LogGroupName');
      case 'AWS::Logs::LogGroup.Arn':
        return arn('logs', `log-group:${named('LogGroupName')}:*`);
      case 'AWS::Scheduler::ScheduleGroup.Ref':
        return named('Name');
      case 'AWS::SecretsManager::Secret.Ref':
      case 'AWS::SecretsManager::Secret.Id':
        // The ARN ends in a random six characters: as a pattern, it matches the secret whatever they are.
        return arn('secretsmanager', `secret:${named('Name')}-??????`);
      default:
        throw new TemplateResolutionError(stack, what);
    }
  }

  function output(stack: string, name: string): string {
    const value = raw.get(stack)?.Outputs?.[name]?.Value;
    if (value === undefined) throw new TemplateResolutionError(stack, `output '${name}'`);
    return asString(stack, resolve(stack, value));
  }

  function exported(stack: string, name: string): string {
    for (const [other, template] of raw) {
      for (const out of Object.values(template.Outputs ?? {}) as Array<{ Value: Json; Export?: { Name?: Json } }>) {
        if (out.Export?.Name !== undefined && resolve(other, out.Export.Name) === name) return asString(other, resolve(other, out.Value));
      }
    }
    throw new TemplateResolutionError(stack, `Fn::ImportValue '${name}'`);
  }

  function asString(stack: string, value: Json): string {
    if (typeof value !== 'string') throw new TemplateResolutionError(stack, `a non-string value ${JSON.stringify(value)}`);
    return value;
  }

  function sub(stack: string, text: string, vars: Record<string, Json>): string {
    return text.replace(/\$\{([^}!][^}]*)\}/g, (_m, name: string) => {
      if (name in vars) return asString(stack, resolve(stack, vars[name]));
      const pseudo = pseudoOf(stack);
      if (name in pseudo) return pseudo[name] as string;
      const [id, attr] = name.split('.');
      return reference(stack, id ?? name, attr);
    });
  }

  function resolve(stack: string, value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => resolve(stack, v));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, Json>);
    const [fn, arg] = entries[0] ?? [];
    if (entries.length === 1 && fn !== undefined && (fn === 'Ref' || fn.startsWith('Fn::'))) {
      switch (fn) {
        case 'Ref':
          return pseudoOf(stack)[arg as string] ?? reference(stack, arg as string, undefined);
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split('.');
          return reference(stack, id as string, attr);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, Json[]];
          return (resolve(stack, parts) as Json[]).map((p) => asString(stack, p)).join(sep);
        }
        case 'Fn::Sub':
          return Array.isArray(arg) ? sub(stack, arg[0] as string, (arg[1] ?? {}) as Record<string, Json>) : sub(stack, arg as string, {});
        case 'Fn::Select': {
          const [index, list] = arg as [Json, Json];
          return (resolve(stack, list) as Json[])[Number(resolve(stack, index))];
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, Json];
          return asString(stack, resolve(stack, text)).split(sep);
        }
        case 'Fn::GetStackOutput': {
          const { StackName, OutputName } = resolve(stack, arg) as { StackName: string; OutputName: string };
          return output(StackName, OutputName);
        }
        case 'Fn::ImportValue':
          return exported(stack, asString(stack, resolve(stack, arg)));
        default:
          throw new TemplateResolutionError(stack, fn);
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(stack, v)]));
  }

  return [...raw].map(([stackName, template]) => ({
    stackName,
    region: regionOf(stackName),
    resources: Object.fromEntries(
      Object.entries(template.Resources ?? {}).map(([id, r]) => [
        id,
        {
          Type: r.Type,
          Properties: resolveProperties(stackName, r.Type, r.Properties ?? {}),
          ...(r.Type in RESOLVED ? identity(stackName, id, r.Type) : {}),
        },
      ]),
    ),
  }));

  function identity(stack: string, id: string, type: string): { ref?: string; arn?: string } {
    const out: { ref?: string; arn?: string } = {};
    if (REF[type]) out.ref = reference(stack, id, undefined);
    if (ARN[type]) out.arn = reference(stack, id, ARN[type]);
    return out;
  }

  /** Only what judging a request needs: alarms, dashboards and bundled code hold intrinsics no policy uses. */
  function resolveProperties(stack: string, type: string, props: Record<string, Json>): Record<string, unknown> {
    const fields = RESOLVED[type];
    if (!fields) return {};
    return Object.fromEntries(fields.filter((f) => props[f] !== undefined).map((f) => [f, resolve(stack, props[f])]));
  }
}

/** Types whose Ref the local IAM reads. */
const REF: Record<string, true> = { 'AWS::IAM::Role': true, 'AWS::Lambda::Function': true, 'AWS::SecretsManager::Secret': true, 'AWS::Logs::LogGroup': true };
/** Types whose ARN the local IAM reads, with the attribute that holds it. */
const ARN: Record<string, string> = {
  'AWS::IAM::Role': 'Arn',
  'AWS::IAM::ManagedPolicy': 'PolicyArn',
  'AWS::Lambda::Function': 'Arn',
  'AWS::KMS::Key': 'Arn',
  'AWS::Events::Rule': 'Arn',
  'AWS::Logs::LogGroup': 'Arn',
};

/** The resource types (and their properties) the local IAM and the local Lambda runtime read. */
const RESOLVED: Record<string, readonly string[]> = {
  'AWS::IAM::Role': ['RoleName', 'AssumeRolePolicyDocument', 'ManagedPolicyArns', 'Policies'],
  'AWS::IAM::Policy': ['PolicyName', 'PolicyDocument', 'Roles', 'Users'],
  'AWS::IAM::ManagedPolicy': ['ManagedPolicyName', 'PolicyDocument', 'Roles', 'Users'],
  'AWS::KMS::Key': ['KeyPolicy'],
  // Handler to Environment: what the local Lambda runtime gives a function's process (local/function-settings.ts).
  'AWS::Lambda::Function': ['FunctionName', 'Role', 'Handler', 'Timeout', 'MemorySize', 'Environment'],
  'AWS::Lambda::Permission': ['Action', 'FunctionName', 'Principal', 'SourceAccount', 'SourceArn'],
  'AWS::Logs::LogGroup': ['LogGroupName'],
  'AWS::SecretsManager::Secret': ['Name', 'KmsKeyId'],
  'AWS::SecretsManager::ResourcePolicy': ['SecretId', 'ResourcePolicy'],
  'AWS::Scheduler::ScheduleGroup': ['Name'],
  'AWS::Events::Rule': ['Name'],
};

/** The config's templates for `env`, synthesized and resolved. */
export function localTemplates(config: ResolvedConfig, env: TargetEnv): ResolvedTemplate[] {
  return resolveTemplates(synthesize(config, env), env);
}
