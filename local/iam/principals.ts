import type { ResolvedConfig } from '../../lib/config';
import type { Deployment, PolicyDocument } from './policies';

/**
 * Who exists in the local account, and the credentials each signs with. The local endpoint attributes a request to a
 * principal by the access key id in its SigV4 `Credential=` (see `context.ts`); the key ids are fixed, so they can be
 * written in docs and scripts.
 *
 * - `admin`: the deployer (AdministratorAccess): the local stack's own set-up and the README's AWS CLI examples;
 * - `rotation`, `revoker`: keyrelay's functions, as their roles (role and policies from the synthesized templates);
 * - `scheduler`: the role EventBridge Scheduler assumes to invoke the revoker;
 * - `oncall`: a user with the `<prefix>-oncall` managed policy attached (what the keyrelay CLI needs);
 * - `reader-<n>`: each `readers` entry of the config (their grants: the secrets' resource policies and the key policy);
 * - `outsider`: an ordinary user of the account with no keyrelay permissions.
 */

/** Static credentials of one local principal. */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The local deployment's `stacks.prefix`: its functions are `keyrelay-rotation` and `keyrelay-revoker`. */
export const LOCAL_PREFIX = 'keyrelay';

/** keyrelay's functions, by their role. */
export type FunctionRole = 'rotation' | 'revoker';

/** Names of the principals every local stack has; readers are `reader-1`, `reader-2`, ... in config order. */
export type FixedPrincipal = 'admin' | FunctionRole | 'scheduler' | 'oncall' | 'outsider';

const fixed = (name: string): LocalCredentials => ({ accessKeyId: `keyrelay-local-${name}`, secretAccessKey: `keyrelay-local-${name}` });

/**
 * The fixed principals' credentials. `admin` keeps the key the local stack always documented (`keyrelay-local`), so
 * AWS CLI and boto3 examples act as the deployer.
 */
export const PRINCIPAL_CREDENTIALS: Readonly<Record<FixedPrincipal, LocalCredentials>> = {
  admin: { accessKeyId: 'keyrelay-local', secretAccessKey: 'keyrelay-local' },
  rotation: fixed('rotation'),
  revoker: fixed('revoker'),
  scheduler: fixed('scheduler'),
  oncall: fixed('oncall'),
  outsider: fixed('outsider'),
};

/**
 * The credentials a keyrelay function signs its AWS calls with: its role's (in-process clients, or a function
 * process's `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`).
 */
export function functionCredentials(fn: FunctionRole): LocalCredentials {
  // A copy: the AWS SDK marks the credentials object it is given.
  return { ...PRINCIPAL_CREDENTIALS[fn] };
}

/** Credentials of the `n`th reader of the config (1-based). */
export function readerCredentials(n: number): LocalCredentials {
  return fixed(`reader-${n}`);
}

/** An identity policy attached to a principal. */
export interface IdentityPolicy {
  name: string;
  policy: PolicyDocument;
}

/** One local principal: who it is, how it signs, what its identity policies allow. */
export interface LocalPrincipal extends LocalCredentials {
  name: string;
  /** The IAM user or role. */
  arn: string;
  /** The ARN its requests carry (for a role: its session, `arn:aws:sts::<account>:assumed-role/<role>/<session>`). */
  callerArn: string;
  identityPolicies: IdentityPolicy[];
}

/** What `keyrelay local ready` lists per principal. */
export interface PrincipalInfo {
  arn: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const ADMINISTRATOR_ACCESS: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

function accountOf(arnOrAccount: string): string {
  return /^\d{12}$/.test(arnOrAccount) ? arnOrAccount : (arnOrAccount.split(':')[4] ?? '');
}

/** `arn:aws:sts::<account>:assumed-role/<role>/<session>` for a role ARN. */
function sessionArn(roleArn: string, session: string): string {
  const name = roleArn.slice(roleArn.lastIndexOf('/') + 1);
  return `arn:aws:sts::${accountOf(roleArn)}:assumed-role/${name}/${session}`;
}

/**
 * Every principal of the local account for `deployment` (synthesized from `config`), keyed by name. A reader in
 * another account gets the identity policy its own account would have to give it (read the secrets, decrypt through
 * Secrets Manager); a reader of this account needs none (the resource and key policies name it).
 */
export function localPrincipals(deployment: Deployment, config: ResolvedConfig): Map<string, LocalPrincipal> {
  const { account } = deployment;
  const user = (name: string) => `arn:aws:iam::${account}:user/${name}`;
  const out = new Map<string, LocalPrincipal>();
  const add = (name: string, arn: string, callerArn: string, credentials: LocalCredentials, identityPolicies: IdentityPolicy[]) =>
    out.set(name, { name, arn, callerArn, identityPolicies, ...credentials });

  add('admin', user('keyrelay-admin'), user('keyrelay-admin'), PRINCIPAL_CREDENTIALS.admin, [{ name: 'AdministratorAccess', policy: ADMINISTRATOR_ACCESS }]);
  for (const fn of ['rotation', 'revoker'] as const) {
    const f = deployment.functions[fn];
    add(fn, f.role.arn, sessionArn(f.role.arn, f.name), PRINCIPAL_CREDENTIALS[fn], f.role.policies);
  }
  const scheduler = deployment.schedulerRole;
  add('scheduler', scheduler.arn, sessionArn(scheduler.arn, 'keyrelay-scheduler'), PRINCIPAL_CREDENTIALS.scheduler, scheduler.policies);
  add('oncall', user('keyrelay-oncall'), user('keyrelay-oncall'), PRINCIPAL_CREDENTIALS.oncall, [
    { name: deployment.onCallPolicy.name, policy: deployment.onCallPolicy.policy },
  ]);
  add('outsider', user('keyrelay-outsider'), user('keyrelay-outsider'), PRINCIPAL_CREDENTIALS.outsider, []);

  config.deploy.readers.forEach((reader, i) => {
    const readerAccount = accountOf(reader.principal);
    // A whole-account reader: some principal of that account; a named one: that principal.
    const arn = /^\d{12}$/.test(reader.principal) ? `arn:aws:iam::${readerAccount}:role/keyrelay-local-reader-${i + 1}` : reader.principal;
    const callerArn = arn.includes(':role/') ? sessionArn(arn, `reader-${i + 1}`) : arn;
    const ownGrant: IdentityPolicy[] =
      readerAccount === account
        ? []
        : [
            {
              name: 'GrantedByItsOwnAccount',
              policy: {
                Version: '2012-10-17',
                Statement: [
                  { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: '*' },
                  { Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' },
                ],
              },
            },
          ];
    add(`reader-${i + 1}`, arn, callerArn, readerCredentials(i + 1), ownGrant);
  });
  return out;
}

/** The principals as `keyrelay local ready` lists them: name → ARN and credentials. */
export function principalInfo(principals: Map<string, LocalPrincipal>): Record<string, PrincipalInfo> {
  return Object.fromEntries(
    [...principals.values()].map((p) => [p.name, { arn: p.arn, accessKeyId: p.accessKeyId, secretAccessKey: p.secretAccessKey }]),
  );
}
