import { DescribeSecretCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ResolvedConfig, ResolvedKey } from '../../lib/config';
import type { InvokeGuard } from '../functions';
import { changesSecrets, type EndpointRequest, type SecretFacts, type SecretLookup } from './context';
import { Enforcer } from './enforcer';
import { cachedDeployment } from './cache';
import type { Deployment } from './policies';
import type { TargetEnv } from './templates';
import { LOCAL_PREFIX, localPrincipals, principalInfo, PRINCIPAL_CREDENTIALS, type FunctionRole, type PrincipalInfo } from './principals';

/**
 * The local stack's IAM, assembled: the deployment `cdk synth` makes of the config being run (as the local
 * deployment `keyrelay`, in the local account and region), its principals, and the enforcer the endpoint and the
 * local Lambda runtime ask. See docs/local.md, "IAM".
 */

export { LOCAL_PREFIX } from './principals';

/** Options for {@link createLocalIam}. */
export interface LocalIamOptions {
  config: ResolvedConfig;
  account: string;
  region: string;
  /** moto's URL (asked at the first request): secrets' tags are read there, as AWS reads them when it authorizes. */
  motoUrl: () => string;
}

/** The local IAM of one local stack. */
export interface LocalIam {
  enforcer: Enforcer;
  /** The deployment being judged (names and ARNs the functions' environment holds). */
  deployment(): Deployment;
  /** What `keyrelay local ready` lists: principal name → ARN and credentials. */
  principals(): Record<string, PrincipalInfo>;
  /** The check the local Lambda runtime runs before a keyrelay function: service invokers, and log writes. */
  guard: InvokeGuard;
  /** Tells the IAM an endpoint request was answered (a write changes what it knows of secrets). */
  answered(request: EndpointRequest): void;
  /** Adds a key to the config being judged (new admin secrets, IAM users and readers change the policies). */
  addKey(key: ResolvedKey): Promise<void>;
}

/** `config` as the local deployment: its own prefix, so names match the local functions. */
function asLocal(config: ResolvedConfig): ResolvedConfig {
  return { ...config, deploy: { ...config.deploy, prefix: LOCAL_PREFIX } };
}

/** What of a config shapes the synthesized policies beyond the tag-scoped statements. */
function policyShape(config: ResolvedConfig): string {
  return JSON.stringify({
    adminSecrets: [...new Set(config.keys.flatMap((k) => (k.adminSecret ? [k.adminSecret] : [])))].sort(),
    iamUsers: config.keys.filter((k) => k.provider === 'aws-iam').map((k) => [k.name, k.providerSettings]),
    readers: config.deploy.readers,
    replicaRegions: config.keys.filter((k) => k.replicaRegions).map((k) => [k.name, k.replicaRegions]),
  });
}

/** The deployment `cdk synth` makes of `config`: cached, else synthesized (aws-cdk-lib loaded only then). */
function deploymentOf(config: ResolvedConfig, env: TargetEnv): Promise<Deployment> {
  return cachedDeployment(config, env, async () => (await import('./policies')).synthesizeDeployment(config, env));
}

/** Builds the local IAM for `options.config`. */
export async function createLocalIam(options: LocalIamOptions): Promise<LocalIam> {
  const env = { account: options.account, region: options.region };
  let config = asLocal(options.config);
  let shape = policyShape(config);
  let deployment = await deploymentOf(config, env);
  let principals = localPrincipals(deployment, config);

  const clients = new Map<string, SecretsManagerClient>();
  const motoClient = (region: string): SecretsManagerClient => {
    let client = clients.get(region);
    if (!client) {
      // Straight to moto, as AWS itself: no principal of the account makes this read.
      client = new SecretsManagerClient({ region, endpoint: options.motoUrl(), credentials: { ...PRINCIPAL_CREDENTIALS.admin }, maxAttempts: 1 });
      clients.set(region, client);
    }
    return client;
  };
  // Secrets' tags by region and id, dropped when a write through the endpoint (the only way tags change) is done.
  const facts = new Map<string, Promise<SecretFacts | undefined>>();
  const lookup: SecretLookup = (secretId, region) => {
    const key = `${region} ${secretId}`;
    let found = facts.get(key);
    if (!found) {
      found = describe(secretId, region);
      facts.set(key, found);
      found.catch(() => facts.delete(key));
    }
    return found;
  };
  const describe = async (secretId: string, region: string): Promise<SecretFacts | undefined> => {
    try {
      const d = await motoClient(region).send(new DescribeSecretCommand({ SecretId: secretId }));
      if (!d.ARN || !d.Name) return undefined;
      const tags = Object.fromEntries((d.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      return { arn: d.ARN, name: d.Name, tags, ...(d.RotationLambdaARN ? { rotationLambdaArn: d.RotationLambdaARN } : {}) };
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
  };
  const enforcer = new Enforcer({ deployment, principals, lookup });
  // Lambda checks a role once per deployment of it, not per invocation.
  let logChecks = new Map<FunctionRole, Promise<void>>();
  let updating = Promise.resolve();
  const roleOf = (name: string): FunctionRole | undefined =>
    (['rotation', 'revoker'] as const).find((fn) => deployment.functions[fn].name === name);

  return {
    enforcer,
    deployment: () => deployment,
    principals: () => principalInfo(principals),
    answered(request) {
      if (changesSecrets(request)) facts.clear();
    },
    async guard(name, invoker, qualifier) {
      const fn = roleOf(name);
      if (!fn) return;
      if (invoker) await enforcer.authorizeService(invoker, fn, qualifier);
      let check = logChecks.get(fn);
      if (!check) {
        check = enforcer.checkLogWrite(fn);
        logChecks.set(fn, check);
      }
      await check;
    },
    async addKey(key) {
      config = { ...config, keys: [...config.keys.filter((k) => k.name !== key.name), key] };
      const next = policyShape(config);
      if (next !== shape) {
        shape = next;
        const current = config;
        // In order, and every caller waits for the policies its key needs.
        updating = updating.then(async () => {
          deployment = await deploymentOf(current, env);
          principals = localPrincipals(deployment, current);
          enforcer.update(deployment, principals);
          logChecks = new Map();
        });
      }
      await updating;
    },
  };
}
