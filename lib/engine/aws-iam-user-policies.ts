import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ConfigError } from '../../core/errors';
import { AWS_IAM_ACTIONS, awsIamProvider, type AwsIamSettings } from '../../lambda/providers/aws-iam';
import { claimAwsIamUser } from '../aws-iam-keys';
import type { ResolvedKey } from '../config';

/** The IAM user tags the `aws-iam` adapter writes (labels, issue intent) all start with keyrelay's tag prefix. */
export const AWS_IAM_TAG_KEYS = 'keyrelay:*';
const IAM_TAG_ACTIONS: readonly string[] = ['iam:TagUser', 'iam:UntagUser'];

/** IAM's size limit of one managed policy: characters, whitespace not counted. */
const MANAGED_POLICY_MAX_CHARS = 6_144;
/** More than the policy's size without user ARNs (version, sids, actions, condition: about 400 characters). */
const IAM_USER_POLICY_OVERHEAD = 600;
/**
 * Managed policies IAM attaches to one role by default (quota "Managed policies per role", 10, raisable to 20).
 * The function roles hold no other managed policy.
 */
export const MAX_AWS_IAM_USER_POLICIES = 10;

/** What one user adds to its policy: its ARN in both statements, quoted with a comma, at the longest partition. */
function iamUserCost(resourceName: string): number {
  return 2 * `"arn:aws-us-gov:iam::123456789012:user/${resourceName}",`.length;
}

/**
 * One managed policy letting the functions manage the access keys of some `aws-iam` users: exactly
 * `AWS_IAM_ACTIONS` on their ARNs, tag writes only for keyrelay's tag keys. It knows how full it is
 * ({@link tryAddUser}); {@link AwsIamUserPolicies} opens the next one.
 *
 * @example
 * const policy = new AwsIamUserPolicy(engine, 'AwsIamUsers1', { part: 1, prefix: 'KeyRelay', roles });
 * policy.tryAddUser(userArn, cost);
 */
export class AwsIamUserPolicy extends iam.ManagedPolicy {
  private readonly keyActions: iam.PolicyStatement;
  private readonly tagActions: iam.PolicyStatement;
  private size = IAM_USER_POLICY_OVERHEAD;

  constructor(scope: Construct, id: string, props: { part: number; prefix: string; roles: iam.IRole[] }) {
    const keyActions = new iam.PolicyStatement({
      sid: 'ManageAccessKeys',
      actions: AWS_IAM_ACTIONS.filter((a) => !IAM_TAG_ACTIONS.includes(a)),
    });
    // The adapter labels keys with user tags; a user's other tags may drive access decisions (ABAC): keyrelay's only.
    const tagActions = new iam.PolicyStatement({
      sid: 'TagUsersWithKeyrelayTagsOnly',
      actions: AWS_IAM_ACTIONS.filter((a) => IAM_TAG_ACTIONS.includes(a)),
      conditions: { 'ForAllValues:StringLike': { 'aws:TagKeys': AWS_IAM_TAG_KEYS } },
    });
    super(scope, id, {
      description: `keyrelay (${props.prefix}): access keys of the IAM users of aws-iam keys (part ${props.part})`,
      statements: [keyActions, tagActions],
      roles: props.roles,
    });
    this.keyActions = keyActions;
    this.tagActions = tagActions;
  }

  /** Adds the user `arn` when `cost` more characters fit under IAM's limit. @returns whether it did. */
  tryAddUser(arn: string, cost: number): boolean {
    if (this.size + cost > MANAGED_POLICY_MAX_CHARS) return false;
    this.size += cost;
    this.keyActions.addResources(arn);
    this.tagActions.addResources(arn);
    return true;
  }
}

/**
 * Packs the IAM users of the engine's `aws-iam` keys (`credentials: role`) into {@link AwsIamUserPolicy} policies
 * shared by both function roles (ids `AwsIamUsers<n>` in the engine), and refuses a second key for one user.
 *
 * The user ARNs go to managed policies, not to the roles' inline policies (10,240 characters for all of a role's
 * inline policies, about 2,000 already used: some 60 users, twice over): a managed policy holds 25 to 45 users
 * (6,144 characters; 64- to 20-character names), and a new one starts when it is full, up to
 * {@link MAX_AWS_IAM_USER_POLICIES} (250 to 450 users). One user ARN per key, never a wildcard: a path or name-prefix
 * convention would stay small but would reach users the config does not name.
 */
export class AwsIamUserPolicies {
  /** The policies so far, in order of {@link grant} calls; empty without `credentials: role` keys. */
  readonly policies: AwsIamUserPolicy[] = [];
  /** IAM users claimed so far, see `claimAwsIamUser`: keys may come from several resolved configs. */
  private readonly claims = new Map<string, string>();
  /** Number of `credentials: role` users in {@link policies}. */
  private roleUsers = 0;

  /** @param scope the engine, where the policies are created; @param roles the function roles they attach to. */
  constructor(
    private readonly scope: Construct,
    private readonly prefix: string,
    private readonly roles: iam.IRole[],
  ) {}

  /**
   * Claims `key`'s IAM user and, for `credentials: role`, adds its ARN. Keys of other providers are ignored.
   * @throws ConfigError when a key granted before names the same IAM user, or when the users no longer fit in
   *   {@link MAX_AWS_IAM_USER_POLICIES} policies.
   */
  grant(key: ResolvedKey): void {
    if (key.provider !== awsIamProvider.type) return;
    claimAwsIamUser(this.claims, key);
    // resolveConfig validated the settings against the adapter's schema (and that admin-secret has an adminSecret).
    const { userName, path = '/', credentials = 'role' } = key.providerSettings as AwsIamSettings;
    // With admin-secret, the access key in the admin secret calls IAM; the functions only read that secret (adminSecrets).
    if (credentials === 'admin-secret') return;
    this.roleUsers++;
    // IAM matches a policy against the user's full ARN, path included: user/<path><name>.
    const resourceName = `${path.slice(1)}${userName}`;
    const arn = Stack.of(this.scope).formatArn({ service: 'iam', region: '', resource: 'user', resourceName });
    const cost = iamUserCost(resourceName);
    if (this.policies.at(-1)?.tryAddUser(arn, cost)) return;
    const part = this.policies.length + 1;
    if (part > MAX_AWS_IAM_USER_POLICIES) {
      throw new ConfigError(
        `key '${key.name}': provider aws-iam: the IAM users of ${this.roleUsers} keys with credentials 'role' need more ` +
          `than ${MAX_AWS_IAM_USER_POLICIES} managed policies on each function role (IAM's default quota); give some keys ` +
          "credentials 'admin-secret' (an access key whose own policy covers them, e.g. a user/keyrelay/* path) or " +
          'move them to a deployment with another stacks.prefix',
      );
    }
    const policy = new AwsIamUserPolicy(this.scope, `AwsIamUsers${part}`, { part, prefix: this.prefix, roles: this.roles });
    this.policies.push(policy);
    policy.tryAddUser(arn, cost);
  }
}
