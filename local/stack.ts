import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { IAMClient, CreateRoleCommand } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { isoTime } from '../core/clock';
import { describeError } from '../core/errors';
import { healthExposedEvent } from './aws-health';
import { KeyRelayError } from '../core/errors';
import type { KeyProvider } from '../lambda/providers/types';
import { createRotationHandler, withQuotaRelief } from '../lambda/rotation/handler';
import type { RotationRetry, RotationStep } from '../lambda/rotation/steps';
import { createRevokerHandler, metricsFrom } from '../lambda/revoker';
import { stsCallerVerifier, type CallerVerifier } from '../lambda/revoker/caller';
import { createLogger, createMetrics, MANIFEST_PATH_ENV, ProviderCache, providerForSecret, settingsMismatchReporter } from '../lambda/runtime';
import { keySettings, loadConfig, rotationRules, type ResolvedConfig, type ResolvedKey } from '../lib/config';
import { MANIFEST_FILE, manifestJson, manifestTrust } from '../core/manifest';
import type { SecretTrust } from '../core/manifest';
import { settingsToTags } from '../core/state';
import { addToManifest, buildManifest } from '../lib/manifest';
import { LocalClock, type RanTimer } from './clock';
import { FunctionRegistry, functionQualifier, startBundleFunctions, type FunctionMode, type LocalFunction } from './functions';
import { functionCredentials, LOCAL_PREFIX, PRINCIPAL_CREDENTIALS, type FunctionRole, type LocalCredentials, type PrincipalInfo } from './iam/principals';
import type { LambdaRuntime } from './lambda-runtime';
import { startMoto, type MotoServer } from './moto';
import { startProxy, type Proxy as EndpointProxy } from './proxy';
import { LocalReplicas, type LagStatus } from './replicas';
import { startReferenceProvider, type ReferenceProvider } from './reference-provider';
import { RotationService, type SecretRotation } from './rotation-service';
import { LocalEvents, LocalScheduler, type RecordedEvent, type ScheduledRevocation } from './scheduler';

/** Region of the local stack (any client region works; moto keys state by region, so use this one). */
export const LOCAL_REGION = 'us-east-1';
/** moto's default account. */
export const LOCAL_ACCOUNT = '123456789012';
/** Names of keyrelay's functions in the local stack (the local deployment's prefix, `keyrelay`). */
export const LOCAL_FUNCTIONS = { rotation: `${LOCAL_PREFIX}-rotation`, revoker: `${LOCAL_PREFIX}-revoker` } as const;
/** The deployer's credentials (principal `admin`): the local stack's own set-up, the README's AWS CLI examples. */
export const LOCAL_CREDENTIALS: LocalCredentials = { ...PRINCIPAL_CREDENTIALS.admin };

/**
 * Points of a rotation a one-shot hook can run at: before or after a step of the rotation function, or right after
 * the provider issued a key (before createSecret stores it).
 */
export type HookPoint = 'afterIssue' | `${'before' | 'after'}:${RotationStep}`;
/** Where a rotation can be made to crash once, to test recovery. */
export type CrashPoint = HookPoint;

/** The error an injected crash throws (code `InjectedCrash`). */
export class InjectedCrash extends KeyRelayError {
  constructor(point: CrashPoint) {
    super('InjectedCrash', `injected crash (${point})`);
  }
}

/** How to raise the reference provider's quota, for errors: every way the local stack is started. */
export const QUOTA_WAY_OUT =
  'raise it with `npm run local -- --quota N` (`npm start -- --quota N` for the demo, option `quota` of startLocalStack)';

/** The local stack could not set up a configured key (code `LocalStackSetup`). */
export class LocalStackError extends KeyRelayError {
  constructor(message: string) {
    super('LocalStackSetup', message);
  }
}

/** What the extra functions factory gets: the revoker's deps (its clients sign as the revoker's role). */
export interface LocalFunctionDeps {
  sm: SecretsManagerClient;
  /** Clients for other regions (replicas), signed as the same role. */
  smIn(region: string): SecretsManagerClient;
  /** Proves who sent an on-call action (STS `GetCallerIdentity` at the endpoint). */
  callers: CallerVerifier;
  /** The manifest built from the config the stack runs (`lib/manifest.ts`, as a deploy builds it). */
  trust: SecretTrust;
  clock: LocalClock;
  provider(secret: Parameters<typeof providerForSecret>[0]): Promise<KeyProvider>;
  scheduler: LocalScheduler;
  events: LocalEvents;
  logger: Logger;
  metrics: Metrics;
  /**
   * The automatic emergency's `RotateSecret` (signed as the revoker, judged by the local IAM), resolving once the
   * rotation's attempt ended: a fast or frozen local clock would otherwise outrun the rotation's real-time steps while
   * the revoker waits for `AWSCURRENT` to move.
   */
  rotateSecret(secretArn: string, token: string): Promise<void>;
}

/** Options for {@link startLocalStack}. */
export interface LocalStackOptions {
  /** A resolved config; wins over `configPath`. */
  config?: ResolvedConfig;
  /** Path of `keyrelay.config.json`. @default 'keyrelay.config.json' (in the working directory) */
  configPath?: string;
  /** Clock speed (see {@link LocalClock}); ignored when `clock` is given. @default 1 */
  speed?: number;
  /** The clock to use. @default - a new LocalClock at `speed` */
  clock?: LocalClock;
  /** Seed of the random moment inside rotation windows. @default 1 */
  seed?: number;
  /**
   * Reference provider key quota per admin credential (`npm run local -- --quota N`); keys of the config's reference
   * provider get it as their `quota` setting. @default 5
   */
  quota?: number;
  /** Called with every key value the reference provider issues (tests: the leak guard's `registerSecret`). */
  onIssue?: (apiKey: string) => void;
  /** Waits before each retry of a failed rotation, local ms. @default - see RotationService */
  retryDelaysMs?: number[];
  /** Reconcile sweep interval, local ms (0: off). @default - the config's `engine.reconcileEvery` */
  reconcileEveryMs?: number;
  /**
   * Canary rule interval, local ms (0: off). `npm run local` and the demo pass the deployed one
   * (`canaryRuleEvery`); tests turn it on where they test it. @default 0
   */
  canaryEveryMs?: number;
  /** Retry budget of the rotation function's steps. @default - the handler's (60 s of clock time per step) */
  rotationRetry?: RotationRetry;
  /** Logger for the functions. @default createLogger() (level from POWERTOOLS_LOG_LEVEL) */
  logger?: Logger;
  /** Metrics for the functions. @default createMetrics() */
  metrics?: Metrics;
  /**
   * IAM enforced at the endpoint and before each function runs, judged by the policies `cdk synth` makes of the
   * config (local/iam/). Off only for measurements that compare with an unjudged endpoint. @default true
   */
  enforceIam?: boolean;
  /** More in-process functions by name (or replacements of keyrelay's own); registered before any secret is created. */
  functions?: (deps: LocalFunctionDeps) => Record<string, LocalFunction>;
  /** Where `.venv` is created if moto is missing. @default process.cwd() */
  projectDir?: string;
  /**
   * How keyrelay's functions run: `bundle`, the deployed bundles (`npm run build:lambda`) as Node 24 processes
   * behind a local Lambda Runtime API, signing as their roles; `in-process`, the TypeScript handlers in this process
   * with the deps above (`logger`, `metrics`, `rotationRetry`, and the `afterIssue` hook point). `npm run local` uses
   * `bundle`. @default 'in-process'
   */
  functionMode?: FunctionMode;
  /** Bundle mode: directory of the built bundles. @default - `dist/lambda` of this package */
  bundlesDir?: string;
  /** Bundle mode: variables added to the functions' environment (local switches such as `POWERTOOLS_LOG_LEVEL`). */
  functionEnvironment?: Record<string, string>;
}

/** The `keyrelay local ready` JSON (also `.keyrelay/local.json`). A fixed interface: fields are only ever added. */
export interface LocalInfo {
  /** AWS-compatible endpoint (Secrets Manager, Lambda, and everything else moto serves). */
  endpoint: string;
  /** Reference provider base URL. */
  provider: string;
  region: string;
  functions: { rotation: string; revoker: string };
  /** Names of the configured secrets, each with a first key issued. */
  secrets: string[];
  /** Clock speed. */
  speed: number;
  /** How keyrelay's functions run: `bundle` (Node processes of the deployed bundles) or `in-process`. */
  functionMode: FunctionMode;
  /** moto's own URL (for `/moto-api/...`; AWS clients should use `endpoint`). */
  moto: string;
  /**
   * Who may call the endpoint: principal name → ARN and credentials (`admin`, `rotation`, `revoker`, `scheduler`,
   * `oncall`, `outsider`, `reader-<n>`). A request signed with any other access key id is refused with
   * `UnrecognizedClientException`, as AWS does.
   */
  principals: Record<string, PrincipalInfo>;
  /** Whether the endpoint judges requests by the synthesized policies. */
  iam: boolean;
  /** Regions holding replicas of the config's secrets (sign requests for one to read its replicas). */
  replicaRegions: string[];
}

/** A running local stack. */
export interface LocalStack {
  endpoint: string;
  providerUrl: string;
  region: string;
  clock: LocalClock;
  provider: ReferenceProvider;
  functions: FunctionRegistry;
  /** How the functions run. */
  functionMode: FunctionMode;
  /** Bundle mode: the local Lambda runtime running them. */
  lambdaRuntime?: LambdaRuntime;
  rotation: RotationService;
  scheduler: LocalScheduler;
  /** Replica lag injection (moto replicates at once): `replicas.lag(region)`, `replicas.catchUp(region)`. */
  replicas: LocalReplicas;
  /** `KeyRotated` events published so far. */
  events: RecordedEvent[];
  info: LocalInfo;
  /** Advances the clock and runs everything that falls due; returns what ran. */
  advance(ms: number): Promise<RanTimer[]>;
  /**
   * Creates one more managed secret as the config would (admin credential secret if new, tags, rotation rules)
   * and, unless `issue` is false, runs its first rotation to completion.
   */
  addKey(key: ResolvedKey, options?: { issue?: boolean }): Promise<void>;
  /** Runs `fn` once, the next time a rotation (of `secretName`, or any) reaches `point`; a throw fails the step. */
  hookOnce(point: HookPoint, fn: () => void | Promise<void>, secretName?: string): void;
  /** Makes the next rotation attempt (of `secretName`, or any) crash once at `point` (throws {@link InjectedCrash}). */
  crashOnce(point: CrashPoint, secretName?: string): void;
  /** A Secrets Manager client pointed at the endpoint. */
  secretsManager(): SecretsManagerClient;
  stop(): Promise<void>;
}

// An empty zip: moto (without Docker) stores functions but never runs them.
const EMPTY_ZIP = Buffer.concat([Buffer.from('PK\x05\x06', 'latin1'), Buffer.alloc(18)]);

/**
 * Starts the whole local AWS: moto, the reference provider, keyrelay's functions in-process, the proxy in front of
 * moto, the local scheduler; then creates the config's admin credential secrets and secrets (state-contract tags,
 * rotation rules) and issues each secret's first key by running a rotation to completion.
 *
 * @example
 * const stack = await startLocalStack({ configPath: 'keyrelay.config.json', speed: 60 });
 * // point any AWS client at stack.endpoint
 * await stack.stop();
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const config = options.config ?? loadConfig(options.configPath ?? 'keyrelay.config.json');
  const clock = options.clock ?? new LocalClock({ speed: options.speed ?? 1 });
  const stops: Array<() => Promise<void> | void> = [() => clock.stop()];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch {
        // keep stopping the rest
      }
    }
  };
  try {
    const motoStarting = startMoto({ projectDir: options.projectDir });
    stops.push(() => motoStarting.then((m) => m.stop()));
    // The local IAM may load aws-cdk-lib and synthesize the app (seconds of CPU, unless cached): while moto starts.
    const { createLocalIam } = await import('./iam');
    let motoUrl = '';
    const iam = await createLocalIam({ config, account: LOCAL_ACCOUNT, region: LOCAL_REGION, motoUrl: () => motoUrl });
    const moto: MotoServer = await motoStarting;
    motoUrl = moto.url;
    const provider = await startReferenceProvider({ clock, quota: options.quota, onIssue: options.onIssue });
    stops.push(() => provider.stop());

    const clientConfig = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    await fetch(`${moto.url}/moto-api/config`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lambda: { use_docker: false } }),
    }).then((res) => res.arrayBuffer());
    const role = await new IAMClient({ ...clientConfig, endpoint: moto.url }).send(
      new CreateRoleCommand({ RoleName: 'keyrelay-local', AssumeRolePolicyDocument: '{}' }),
    );
    const lambda = new LambdaClient({ ...clientConfig, endpoint: moto.url });
    for (const name of Object.values(LOCAL_FUNCTIONS)) {
      // moto's RotateSecret needs a function it knows; the proxy answers Invoke for it in-process.
      await lambda.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: 'nodejs20.x',
          Role: role.Role?.Arn,
          Handler: 'index.handler',
          Code: { ZipFile: EMPTY_ZIP },
        }),
      );
    }

    const enforce = options.enforceIam ?? true;
    const functions = new FunctionRegistry(LOCAL_REGION, LOCAL_ACCOUNT);
    if (enforce) functions.setGuard(iam.guard);
    const rotation = new RotationService({
      moto: new SecretsManagerClient({ ...clientConfig, endpoint: moto.url }),
      clock,
      functions,
      defaultFunction: LOCAL_FUNCTIONS.rotation,
      retryDelaysMs: options.retryDelaysMs,
      seed: options.seed,
    });
    stops.push(() => rotation.stop());
    const scheduler = new LocalScheduler({
      clock,
      functions,
      revoker: LOCAL_FUNCTIONS.revoker,
      reconcileEveryMs: options.reconcileEveryMs ?? config.deploy.reconcileEvery * 1000,
      canaryEveryMs: options.canaryEveryMs ?? 0,
    });
    stops.push(() => scheduler.stop());
    const events = new LocalEvents(clock);
    const motoIn = new Map<string, SecretsManagerClient>();
    const replicas = new LocalReplicas((region) => {
      let client = motoIn.get(region);
      if (!client) {
        client = new SecretsManagerClient({ ...clientConfig, region, endpoint: moto.url });
        motoIn.set(region, client);
      }
      return client;
    });

    let stack: LocalStack | undefined;
    const admin = adminApi(() => stack);
    const proxy: EndpointProxy = await startProxy({
      motoUrl: moto.url,
      rotation,
      functions,
      scheduler,
      events,
      replicas,
      admin,
      callerIdentity: (accessKeyId) => iam.enforcer.principal(accessKeyId),
      ...(enforce ? { authorize: (request) => iam.enforcer.authorize(request), answered: (request) => iam.answered(request) } : {}),
    });
    stops.push(() => proxy.stop());
    const sm = new SecretsManagerClient({ ...clientConfig, endpoint: proxy.url });
    // Each function signs as its own role, as on AWS.
    const smAs = (fn: FunctionRole, region = LOCAL_REGION) =>
      new SecretsManagerClient({ region, credentials: functionCredentials(fn), endpoint: proxy.url });

    const hooks: Array<{ point: HookPoint; fn: () => void | Promise<void>; secretName?: string }> = [];
    const runHook = async (point: HookPoint, secretId: string): Promise<void> => {
      const i = hooks.findIndex(
        (h) => h.point === point && (h.secretName === undefined || secretId === h.secretName || secretId.includes(`:secret:${h.secretName}-`)),
      );
      const hook = hooks[i];
      if (!hook) return;
      hooks.splice(i, 1);
      await hook.fn();
    };
    const logger = options.logger ?? createLogger();
    const metrics = options.metrics ?? createMetrics();
    // As a deploy would: the manifest holds the config's keys (addKey is a deploy of one more key), and the loopback
    // reference provider is the one plain-http origin it allows.
    const manifest = buildManifest([], LOCAL_FUNCTIONS.revoker, [new URL(provider.url).origin]);
    const trust = manifestTrust(manifest, { account: LOCAL_ACCOUNT, region: LOCAL_REGION }, settingsMismatchReporter(logger, metrics));
    /** One function's deps: its own clients (signed as its role) and provider cache, as in its own Lambda. */
    const depsFor = (fn: FunctionRole): LocalFunctionDeps => {
      const client = smAs(fn);
      const cache = new ProviderCache();
      const regional = new Map<string, SecretsManagerClient>();
      return {
        sm: client,
        smIn(region) {
          let other = regional.get(region);
          if (!other) {
            other = smAs(fn, region);
            regional.set(region, other);
          }
          return other;
        },
        // As deployed: on-call callers proven through STS (the endpoint), the function signing as its role.
        callers: stsCallerVerifier(new STSClient({ region: LOCAL_REGION, credentials: functionCredentials(fn), endpoint: proxy.url })),
        trust,
        clock,
        scheduler,
        events,
        logger,
        metrics,
        async rotateSecret(secretArn, token) {
          await client.send(new RotateSecretCommand({ SecretId: secretArn, ClientRequestToken: token }));
          await rotation.settled(secretArn);
        },
        async provider(secret) {
          const real = await providerForSecret(secret, client, clock, cache);
          if (hooks.length === 0) return real;
          return new Proxy(real, {
            get(target, prop, receiver) {
              const value: unknown = Reflect.get(target, prop, receiver);
              if (prop !== 'issue' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
              return async (request: Parameters<KeyProvider['issue']>[0]) => {
                const issued = await (value as KeyProvider['issue']).call(target, request);
                await runHook('afterIssue', secret.arn);
                return issued;
              };
            },
          });
        },
      };
    };
    const deps = depsFor('revoker');
    const functionMode = options.functionMode ?? 'in-process';
    let manifestFile: string | undefined;
    let rotate: (event: unknown) => Promise<unknown>;
    let lambdaRuntime: LambdaRuntime | undefined;
    if (functionMode === 'bundle') {
      // What the template gives each function (handler, timeout, memory, environment), from the deployment the local
      // IAM judges by: the local deployment's names and ARNs.
      const { functions: deployedFunctions } = iam.deployment();
      manifestFile = join(mkdtempSync(join(tmpdir(), 'keyrelay-manifest-')), MANIFEST_FILE);
      writeFileSync(manifestFile, manifestJson(manifest));
      const runtime = startBundleFunctions({
        registry: functions,
        names: LOCAL_FUNCTIONS,
        endpoint: proxy.url,
        clock,
        settings: { rotation: deployedFunctions.rotation.settings, revoker: deployedFunctions.revoker.settings },
        credentials: functionCredentials,
        bundlesDir: options.bundlesDir,
        environment: { [MANIFEST_PATH_ENV]: manifestFile, ...options.functionEnvironment },
      });
      lambdaRuntime = runtime;
      stops.push(() => runtime.stop());
      rotate = (event) => runtime.invoke(LOCAL_FUNCTIONS.rotation, event);
      functions.register(LOCAL_FUNCTIONS.revoker, (event, invocation) =>
        runtime.invoke(LOCAL_FUNCTIONS.revoker, event, functionQualifier(invocation.invokedFunctionArn)),
      );
    } else {
      const rotationDeps = depsFor('rotation');
      // The deployed wiring (lambda/rotation/handler.ts).
      rotate = createRotationHandler({
        ...withQuotaRelief(rotationDeps),
        ...(options.rotationRetry ? { retry: options.rotationRetry } : {}),
      });
      functions.register(LOCAL_FUNCTIONS.revoker, createRevokerHandler({ ...deps, metrics: metricsFrom(deps.metrics) }));
    }
    // Step hooks run around the function, whichever way it runs.
    functions.register(LOCAL_FUNCTIONS.rotation, async (event) => {
      const e = event as { Step?: RotationStep; SecretId?: string };
      await runHook(`before:${e.Step ?? 'createSecret'}`, e.SecretId ?? '');
      await rotate(event);
      await runHook(`after:${e.Step ?? 'createSecret'}`, e.SecretId ?? '');
      return null;
    });
    for (const [name, fn] of Object.entries(options.functions?.(deps) ?? {})) functions.register(name, fn);
    scheduler.startSweep();

    // The config's secrets: admin credentials first, then each key with its tags, rules and a first key.
    const adminSecrets = new Set<string>();
    const adminKey = provider.adminKeys[0] ?? '';
    const addKey = async (key: ResolvedKey, addOptions: { issue?: boolean } = {}): Promise<void> => {
      await iam.addKey(key);
      if (key.adminSecret !== undefined && !adminSecrets.has(key.adminSecret)) {
        adminSecrets.add(key.adminSecret);
        await sm.send(new CreateSecretCommand({ Name: key.adminSecret, SecretString: JSON.stringify({ adminKey }) }));
      }
      const providerSettings = {
        ...key.providerSettings,
        ...(key.provider === 'reference' ? { baseUrl: provider.url, quota: String(provider.quota) } : {}),
      };
      const settings = keySettings({ ...key, providerSettings }, { revoker: LOCAL_FUNCTIONS.revoker });
      addToManifest(manifest, { ...key, providerSettings }, LOCAL_FUNCTIONS.revoker);
      if (manifestFile) writeFileSync(manifestFile, manifestJson(manifest)); // the bundles' deploy of one more key
      await sm.send(
        new CreateSecretCommand({
          Name: key.name,
          Tags: settingsToTags(settings),
          // As the key stack deploys it: each replica encrypted with the deployment's key of its region (the alias).
          ...(key.replicaRegions ? { AddReplicaRegions: key.replicaRegions.map((Region) => ({ Region, KmsKeyId: `alias/${LOCAL_PREFIX}` })) } : {}),
        }),
      );
      if (addOptions.issue === false) return;
      await rotation.rotate({
        SecretId: key.name,
        RotationLambdaARN: functions.arn(LOCAL_FUNCTIONS.rotation),
        RotationRules: rotationRules(key),
      });
      const run = (await rotation.settled(key.name))?.runs.at(-1);
      if (run?.status !== 'succeeded') {
        const errors = run?.errors.join('; ') ?? 'no run';
        throw new LocalStackError(
          `the first rotation of '${key.name}' did not succeed (${errors}); ` +
            (key.provider === 'reference' && /RotationQuota(Error|Full)/.test(errors)
              ? `the reference provider's quota of ${provider.quota} keys per admin credential is full: ${QUOTA_WAY_OUT}`
              : `check the key's provider settings in the config, and the reference provider's quota (${QUOTA_WAY_OUT})`),
        );
      }
    };
    for (const key of config.keys) await addKey(key);

    const info: LocalInfo = {
      endpoint: proxy.url,
      provider: provider.url,
      region: LOCAL_REGION,
      functions: { ...LOCAL_FUNCTIONS },
      secrets: config.keys.map((k) => k.name),
      speed: clock.speed,
      functionMode,
      moto: moto.url,
      principals: iam.principals(),
      iam: enforce,
      replicaRegions: [...new Set(config.keys.flatMap((k) => k.replicaRegions ?? []))].sort(),
    };
    const hookPointInProcess = (point: HookPoint): void => {
      if (point === 'afterIssue' && functionMode === 'bundle') {
        throw new LocalStackError("hook point 'afterIssue' is inside the rotation function: start the stack with functionMode 'in-process'");
      }
    };
    stack = {
      endpoint: proxy.url,
      providerUrl: provider.url,
      region: LOCAL_REGION,
      clock,
      provider,
      functions,
      functionMode,
      lambdaRuntime,
      rotation,
      scheduler,
      replicas,
      events: events.published,
      info,
      advance: (ms) => clock.advance(ms),
      addKey,
      hookOnce(point, fn, secretName) {
        hookPointInProcess(point);
        hooks.push({ point, fn, secretName });
      },
      crashOnce(point, secretName) {
        hookPointInProcess(point);
        hooks.push({
          point,
          secretName,
          fn: () => {
            throw new InjectedCrash(point);
          },
        });
      },
      secretsManager: () => new SecretsManagerClient({ ...clientConfig, endpoint: proxy.url }),
      stop: stopAll,
    };
    return stack;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The admin API under `/_keyrelay/`. */
function adminApi(stack: () => LocalStack | undefined) {
  return async (method: string, path: string, body: unknown): Promise<{ status: number; body: unknown }> => {
    const s = stack();
    if (!s) return { status: 503, body: { error: 'the local stack is still starting' } };
    const key = `${method} ${path}`;
    switch (key) {
      case 'POST /advance': {
        const ms = (body as { ms?: unknown } | undefined)?.ms;
        if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
          return { status: 400, body: { error: `body must be {"ms": <milliseconds >= 0>}, got ${JSON.stringify(body) ?? 'nothing'}` } };
        }
        const ran = await s.advance(ms);
        return { status: 200, body: { now: isoTime(s.clock.now()), ran } };
      }
      case 'GET /clock':
        return { status: 200, body: { now: isoTime(s.clock.now()), nowMs: s.clock.now(), speed: s.clock.speed } };
      case 'GET /events':
        return { status: 200, body: { events: s.events } };
      case 'GET /state':
        return { status: 200, body: stateOf(s) };
      case 'POST /aws-health': {
        const accessKeyId = (body as { accessKeyId?: unknown } | undefined)?.accessKeyId;
        if (typeof accessKeyId !== 'string' || accessKeyId === '') {
          return { status: 400, body: { error: `body must be {"accessKeyId": "AKIA..."}, got ${JSON.stringify(body) ?? 'nothing'}` } };
        }
        try {
          const answer = await s.scheduler.deliverAwsEvent(healthExposedEvent(accessKeyId, LOCAL_ACCOUNT, s.clock.now()));
          return { status: 200, body: { delivered: true, answer } };
        } catch (err) {
          return { status: 200, body: { delivered: true, error: describeError(err) } };
        }
      }
      case 'POST /replica-lag': {
        const { region, lagging, status } = (body ?? {}) as { region?: unknown; lagging?: unknown; status?: unknown };
        if (typeof region !== 'string' || typeof lagging !== 'boolean' || (status !== undefined && status !== 'InProgress' && status !== 'Failed')) {
          return { status: 400, body: { error: `body must be {"region": "<replica region>", "lagging": true|false, "status"?: "InProgress"|"Failed"}, got ${JSON.stringify(body) ?? 'nothing'}` } };
        }
        if (lagging) await s.replicas.lag(region, (status as LagStatus | undefined) ?? 'InProgress');
        else s.replicas.catchUp(region);
        return { status: 200, body: { lagging: s.replicas.state() } };
      }
      default:
        return {
          status: 404,
          body: { error: `no admin route '${key}'; routes: POST /_keyrelay/advance, /replica-lag, /aws-health, GET /_keyrelay/clock, /events, /state` },
        };
    }
  };
}

/** What `GET /_keyrelay/state` answers: clock, rotations, revocations, sweeps, pending timers. Never key material. */
export function stateOf(s: LocalStack): {
  now: string;
  speed: number;
  info: LocalInfo;
  rotations: SecretRotation[];
  revocations: ScheduledRevocation[];
  sweeps: LocalScheduler['sweeps'];
  canaryRuns: LocalScheduler['canaryRuns'];
  timers: Array<{ label: string; due: string }>;
  replicaLag: ReturnType<LocalReplicas['state']>;
} {
  return {
    now: isoTime(s.clock.now()),
    speed: s.clock.speed,
    info: s.info,
    rotations: s.rotation.state(),
    revocations: s.scheduler.revocations,
    sweeps: s.scheduler.sweeps,
    canaryRuns: s.scheduler.canaryRuns,
    replicaLag: s.replicas.state(),
    timers: s.clock
      .pending()
      .filter((t) => t.label !== 'sleep')
      .map((t) => ({ label: t.label, due: isoTime(t.due) })),
  };
}
