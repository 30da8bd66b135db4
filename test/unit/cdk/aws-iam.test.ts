import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../core/errors';
import { AWS_IAM_ACTIONS, ISSUING_KNOWN_TAG, ISSUING_TAG, LABEL_TAG_PREFIX } from '../../../lambda/providers/aws-iam';
import { buildKeyRelay } from '../../../lib/app';
import { resolveConfig, type KeyRelayConfig } from '../../../lib/config';
import { AWS_IAM_TAG_KEYS, KeyRelayEngine, MAX_AWS_IAM_USER_POLICIES } from '../../../lib/engine';
import { asArray, buildFast, fastApp, iamStatements, SMALL_CONFIG, type Json, type Statement } from './fixture';

const TAG_ACTIONS = ['iam:TagUser', 'iam:UntagUser'];
const KEY_ACTIONS = AWS_IAM_ACTIONS.filter((a) => !TAG_ACTIONS.includes(a)).sort();
/** IAM's limit of a managed policy, characters without whitespace. */
const MANAGED_POLICY_LIMIT = 6_144;

const iamKey = (userName: string, more: Record<string, string> = {}) => ({
  provider: { type: 'aws-iam', userName, ...more },
  rotateEvery: '7d',
  gracePeriod: '1d',
});

/** Two role-credential users, one admin-secret user and a reference key. */
const MIXED: KeyRelayConfig = {
  keys: {
    'ci/deployer': iamKey('ci-deployer'),
    'billing/exporter': iamKey('billing-exporter', { credentials: 'role', region: 'eu-west-1' }),
    'partner/uploader': { ...iamKey('partner-uploader', { credentials: 'admin-secret' }), adminSecret: 'keyrelay/admin/partner-iam' },
    'search/reference-api': { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/reference' },
  },
};

const userArn = (name: string) => `arn:aws:iam::123456789012:user/${name}`;
const hasIamUserAction = (s: Statement) => asArray(s.Action).some((a) => (AWS_IAM_ACTIONS as readonly string[]).includes(a));

/** `n` keys of role-credential users whose names are `length` characters long. */
function manyUsers(n: number, length: number): KeyRelayConfig {
  const keys: KeyRelayConfig['keys'] = {};
  for (let i = 0; i < n; i++) keys[`ci/user-${i}`] = iamKey(`${i}-`.padEnd(length, 'u'));
  return { keys, stacks: { shards: 4 } };
}

function userPolicies(engine: KeyRelayEngine): Json[] {
  const template = Template.fromStack(Stack.of(engine));
  return engine.awsIamUserPolicies.map((p) => template.toJSON().Resources[Stack.of(engine).getLogicalId(p.node.defaultChild as CfnResource)] as Json);
}

describe('Class: KeyRelayEngine', () => {
  describe('Method: grantProviderAccess (aws-iam keys)', () => {
    it('grants both functions exactly AWS_IAM_ACTIONS on the role-credential users, one statement listing their ARNs', () => {
      // Act
      const { engine, engineStack } = buildFast(MIXED);
      // Assess
      const [policy, ...others] = userPolicies(engine);
      expect(others).toHaveLength(0);
      const roles = [engine.rotationFunction.role!, engine.revokerFunction.role!].map((r) => ({ Ref: engineStack.getLogicalId(r.node.defaultChild as CfnRole) }));
      expect(policy!.Properties.Roles).toEqual(roles);
      const [manage, tag, ...rest] = policy!.Properties.PolicyDocument.Statement as Statement[];
      expect(rest).toHaveLength(0);
      const users = [userArn('billing-exporter'), userArn('ci-deployer')];
      expect({ ...manage, Action: asArray(manage!.Action).sort(), Resource: asArray(manage!.Resource).sort() }).toEqual({
        Sid: 'ManageAccessKeys',
        Effect: 'Allow',
        Action: KEY_ACTIONS,
        Resource: users,
      });
      expect({ ...tag, Resource: asArray(tag!.Resource).sort() }).toEqual({
        Sid: 'TagUsersWithKeyrelayTagsOnly',
        Effect: 'Allow',
        Action: TAG_ACTIONS,
        Resource: users,
        Condition: { 'ForAllValues:StringLike': { 'aws:TagKeys': 'keyrelay:*' } },
      });
      expect([...asArray(manage!.Action), ...asArray(tag!.Action)].sort()).toEqual([...AWS_IAM_ACTIONS].sort());
    });

    it("grants on the user's full ARN when the user lives under an IAM path", () => {
      // Act
      const { engine } = buildFast({ keys: { 'ci/deployer': iamKey('ci-deployer', { path: '/service-accounts/' }) } });
      // Assess
      const [manage] = userPolicies(engine)[0]!.Properties.PolicyDocument.Statement as Statement[];
      expect(asArray(manage!.Resource)).toEqual([userArn('service-accounts/ci-deployer')]);
    });

    it('refuses a path that is not an IAM path, naming the key and the field', () => {
      expect(() => resolveConfig({ keys: { 'ci/deployer': iamKey('ci-deployer', { path: 'service-accounts' }) } })).toThrow(
        /key 'ci\/deployer': provider.path must be an IAM path/,
      );
    });

    it('puts the IAM user actions in no other statement of any stack, and never on a wildcard', () => {
      // Act
      const { engineStack, keyStacks } = buildFast(MIXED);
      // Assess
      const statements = [engineStack, ...keyStacks.values()].flatMap((s) => iamStatements(Template.fromStack(s))).filter(hasIamUserAction);
      expect(statements).toHaveLength(2);
      for (const s of statements) {
        for (const r of asArray(s.Resource)) expect(r).toMatch(/^arn:aws:iam::123456789012:user\/[\w+=.@-]+$/);
      }
      expect(JSON.stringify(statements)).not.toContain('partner-uploader');
    });

    it('puts no IAM user statement in any template when the config has no aws-iam keys', () => {
      // Act
      const { engine, engineStack, keyStacks } = buildFast(SMALL_CONFIG);
      // Assess
      expect(engine.awsIamUserPolicies).toEqual([]);
      const actions = [engineStack, ...keyStacks.values()].flatMap((s) => iamStatements(Template.fromStack(s))).flatMap((s) => asArray(s.Action));
      // The only IAM action is the rotation's hand-over of the scheduler role.
      expect(new Set(actions.filter((a) => a.startsWith('iam:')))).toEqual(new Set(['iam:PassRole']));
    });

    it("grants credentials 'admin-secret' keys no IAM action, only a read of their admin secret", () => {
      // Act
      const { engine, engineStack } = buildFast({ keys: { 'partner/uploader': MIXED.keys['partner/uploader']! } });
      // Assess
      expect(engine.awsIamUserPolicies).toEqual([]);
      const statements = iamStatements(Template.fromStack(engineStack));
      expect(statements.filter(hasIamUserAction)).toEqual([]);
      const reads = statements.filter((s) => s.Sid === 'ProviderAdminSecrets');
      expect(reads).toHaveLength(2);
      for (const s of reads) {
        expect(asArray(s.Action).sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
        expect(JSON.stringify(s.Resource)).toContain(':secret:keyrelay/admin/partner-iam-??????');
      }
    });

    it('fails naming both keys when keys resolved from two configs rotate one IAM user (names are case-insensitive)', () => {
      // Prepare: each config alone passes resolveConfig's check; only the engine sees both keys.
      const stack = new Stack(fastApp(), 'Single', { env: { account: '123456789012', region: 'eu-west-1' } });
      const engine = new KeyRelayEngine(stack, 'Engine');
      const [first] = resolveConfig({ keys: { a: iamKey('ci-deployer') } }).keys;
      const [second] = resolveConfig({ keys: { b: iamKey('CI-Deployer') } }).keys;
      engine.grantProviderAccess(first!);
      // Act + Assess
      expect(() => engine.grantProviderAccess(second!)).toThrow(
        new ConfigError(
          "key 'b': provider.userName 'CI-Deployer' is already rotated by key 'a'; " +
            'give each IAM user one key (its two access key slots are the current key and the one rotating in)',
        ),
      );
    });

    it('adds one managed policy to the engine stack and nothing to the key stacks', () => {
      // Prepare
      const count = (s: Stack) => s.node.findAll().filter((c) => c instanceof CfnResource).length;
      const reference = buildFast({ keys: { a: { provider: { type: 'reference' }, adminSecret: 'x', rotateEvery: '7d', gracePeriod: '1d' } } });
      // Act
      const iam = buildFast({ keys: { a: iamKey('ci-deployer') } });
      // Assess
      expect(count(iam.engineStack)).toBe(count(reference.engineStack) + 1);
      expect([...iam.keyStacks.values()].map(count)).toEqual([...reference.keyStacks.values()].map(count));
    });

    it("keeps every policy under IAM's 6,144 characters at the longest partition, and fills each before opening the next", () => {
      // Act: 64 characters is IAM's longest user name.
      const { engine } = buildFast(manyUsers(200, 64));
      // Assess
      const policies = userPolicies(engine);
      expect(policies.length).toBeGreaterThan(1);
      expect(policies.length).toBeLessThanOrEqual(MAX_AWS_IAM_USER_POLICIES);
      const sizes = policies.map((p) => JSON.stringify(p.Properties.PolicyDocument).replaceAll('arn:aws:', 'arn:aws-us-gov:').length);
      for (const size of sizes) expect(size).toBeLessThanOrEqual(MANAGED_POLICY_LIMIT);
      // Full within one user's ARNs and the estimate's margin.
      for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(MANAGED_POLICY_LIMIT - 2 * 110 - 600);
      const granted = policies.flatMap((p) => (p.Properties.PolicyDocument.Statement as Statement[]).flatMap((s) => asArray(s.Resource)));
      expect(granted).toHaveLength(400);
      expect(new Set(granted).size).toBe(200);
    });

    it('fits 450 users with 20-character names (the documented capacity)', () => {
      // Act
      const { engine } = buildFast(manyUsers(450, 20));
      // Assess
      expect(engine.awsIamUserPolicies).toHaveLength(MAX_AWS_IAM_USER_POLICIES);
    });

    it('fails naming the quota when the users need more managed policies than a role holds', () => {
      // Act + Assess
      expect(() => buildFast(manyUsers(300, 64))).toThrow(/provider aws-iam: the IAM users of \d+ keys .* more than 10 managed policies on each function role/);
    });

    it('conditions tag writes on a prefix that covers every user tag the adapter writes', () => {
      // Prepare
      const prefix = new RegExp(`^${AWS_IAM_TAG_KEYS.replace('*', '')}`);
      // Assess
      for (const tag of [LABEL_TAG_PREFIX, ISSUING_TAG, ISSUING_KNOWN_TAG]) expect(tag).toMatch(prefix);
    });

    it('passes cdk-nag AwsSolutions with aws-iam keys without any new acknowledgment', () => {
      // Prepare
      const app = fastApp();
      buildKeyRelay(app, resolveConfig(MIXED));
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      // Act
      const out = app.synth().directory;
      // Assess
      type Report = { pluginReports: Array<{ conclusion: string; violations: unknown[]; suppressedViolations?: Array<{ ruleName: string }> }> };
      const [nag] = (JSON.parse(readFileSync(join(out, 'validation-report.json'), 'utf8')) as Report).pluginReports;
      expect(nag?.conclusion).toBe('success');
      expect(nag?.violations).toEqual([]);
      expect(nag?.suppressedViolations?.map((v) => v.ruleName).filter((r) => r.includes(':iam:'))).toEqual([]);
    });
  });
});
