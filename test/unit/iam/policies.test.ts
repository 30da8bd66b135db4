import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config';
import { accessDeniedMessage, evaluate, type AccessRequest, type Caller } from '../../../local/iam/evaluate';
import { synthesizeDeployment, type Deployment } from '../../../local/iam/policies';
import { functionCredentials, localPrincipals, PRINCIPAL_CREDENTIALS, type LocalPrincipal } from '../../../local/iam/principals';

// The example config's templates, synthesized for an account and a region other than us-east-1, judged by the
// evaluator: what the functions do at every rotation must be allowed by what the CDK app writes.
const env = { account: '123456789012', region: 'eu-west-1' };
const config = loadConfig(new URL('../../../keyrelay.config.json', import.meta.url).pathname);
let deployment: Deployment;
let principals: Map<string, LocalPrincipal>;
const secretArn = `arn:aws:secretsmanager:${env.region}:${env.account}:secret:payments/reference-api-AbCdEf`;
const managedTags = { 'aws:ResourceTag/keyrelay:revoker': 'KeyRelay-revoker', 'aws:ResourceTag/keyrelay:managed': 'v1' };

function principal(name: string): Caller {
  const p = principals.get(name);
  if (!p) throw new Error(`no principal ${name}`);
  return p;
}

beforeAll(() => {
  deployment = synthesizeDeployment(config, env);
  principals = localPrincipals(deployment, config);
});

describe('local IAM: the synthesized deployment', () => {
  it('resolves every principal with its own fixed credentials, the deployer keeping the documented keyrelay-local', () => {
    // Assess
    expect([...principals.keys()].sort()).toEqual(['admin', 'oncall', 'outsider', 'reader-1', 'revoker', 'rotation', 'scheduler']);
    expect(principals.get('admin')?.accessKeyId).toBe('keyrelay-local');
    expect(principals.get('rotation')).toMatchObject({ ...functionCredentials('rotation'), arn: expect.stringMatching(/^arn:aws:iam::123456789012:role\//) });
    expect(new Set([...principals.values()].map((p) => p.accessKeyId)).size).toBe(principals.size);
    expect(PRINCIPAL_CREDENTIALS.outsider.accessKeyId).not.toBe(PRINCIPAL_CREDENTIALS.admin.accessKeyId);
    // ARNs are concrete and in the target region: no token or intrinsic survives.
    expect(JSON.stringify(deployment)).not.toMatch(/Fn::|"Ref"|\$\{Token/);
    expect(deployment.key.arn).toMatch(/^arn:aws:kms:eu-west-1:123456789012:key\/[0-9a-f-]{36}$/);
  });

  it('lets the rotation role write the old key record and the current-key note in one TagResource (finishSecret)', async () => {
    // Prepare: exactly finishSecret's request (lambda/rotation/steps.ts).
    const request: AccessRequest = {
      action: 'secretsmanager:TagResource',
      resource: secretArn,
      context: {
        ...managedTags,
        'aws:TagKeys': ['keyrelay:key:2b1f0c8e', 'keyrelay:current'],
        'aws:RequestTag/keyrelay:key:2b1f0c8e': 'grace 2026-12-05T10:00:00Z',
        'aws:RequestTag/keyrelay:current': '7c1d',
      },
    };
    // Act
    const verdict = await evaluate(principal('rotation'), request, env.account);
    // Assess
    expect(verdict.result, accessDeniedMessage(principal('rotation'), request, verdict)).toBe('Allowed');
  });

  it.each(['rotation', 'revoker'] as const)('lets the %s role write its own log group (or Lambda drops its logs)', async (fn) => {
    const logGroup = deployment.functions[fn].logGroup;
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
      // Prepare
      const request: AccessRequest = { action, resource: `arn:aws:logs:${env.region}:${env.account}:log-group:${logGroup}:log-stream:2026/12/04/[$LATEST]abc`, context: {} };
      // Act
      const verdict = await evaluate(principal(fn), request, env.account);
      // Assess
      expect(verdict.result, `${fn} ${action}`).toBe('Allowed');
    }
  });

  it('still refuses the functions the settings tags (only the deploy writes them)', async () => {
    // Prepare
    const request: AccessRequest = {
      action: 'secretsmanager:TagResource',
      resource: secretArn,
      context: { ...managedTags, 'aws:TagKeys': ['keyrelay:key:2b1f0c8e', 'keyrelay:grace-period'], 'aws:RequestTag/keyrelay:grace-period': '1' },
    };
    // Act
    const verdicts = await Promise.all(['rotation', 'revoker'].map((fn) => evaluate(principal(fn), request, env.account)));
    // Assess
    expect(verdicts.map((v) => v.result)).toEqual(['ImplicitlyDenied', 'ImplicitlyDenied']);
  });

  it("answers a denial in AWS's words", async () => {
    // Prepare
    const outsider = principal('outsider');
    const request: AccessRequest = { action: 'secretsmanager:GetSecretValue', resource: secretArn, context: managedTags };
    // Act
    const verdict = await evaluate(outsider, request, env.account);
    // Assess
    expect(verdict.result).toBe('ImplicitlyDenied');
    expect(accessDeniedMessage(outsider, request, verdict)).toBe(
      `User: arn:aws:iam::123456789012:user/keyrelay-outsider is not authorized to perform: secretsmanager:GetSecretValue on resource: ${secretArn} because no identity-based policy allows the secretsmanager:GetSecretValue action`,
    );
  });
});
