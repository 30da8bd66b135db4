import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../lib/config';
import { FunctionRegistry } from '../../../local/functions';
import { LOCAL_PREFIX } from '../../../local/iam';
import { Enforcer, LogPermissionError } from '../../../local/iam/enforcer';
import { synthesizeDeployment, type Deployment } from '../../../local/iam/policies';
import { localPrincipals } from '../../../local/iam/principals';

// The local Lambda runtime's check before a function runs: Lambda runs a function whose role cannot write its log
// group, and drops the logs without a word; locally the invocation fails and says why.
const env = { account: '123456789012', region: 'eu-west-1' };
const config = resolveConfig({ keys: { 'a/key': { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/a' } }, stacks: { prefix: LOCAL_PREFIX } });
let deployment: Deployment;

function enforcerFor(d: Deployment): Enforcer {
  return new Enforcer({ deployment: d, principals: localPrincipals(d, config), lookup: async () => undefined, recordTo: '' });
}

/** The deployment with every statement granting a `logs:` action removed from the function roles. */
function withoutLogWrites(d: Deployment): Deployment {
  const strip = (fn: Deployment['functions']['rotation']) => ({
    ...fn,
    role: {
      ...fn.role,
      policies: fn.role.policies.map((p) => ({
        ...p,
        policy: { ...p.policy, Statement: p.policy.Statement.filter((s) => ![s.Action].flat().some((a) => String(a).startsWith('logs:'))) },
      })),
    },
  });
  return { ...d, functions: { rotation: strip(d.functions.rotation), revoker: strip(d.functions.revoker) } };
}

beforeAll(() => {
  deployment = synthesizeDeployment(config, env);
});

describe('local IAM: log writes before a function runs', () => {
  it('passes the roles the CDK app writes', async () => {
    // Act & Assess
    await expect(enforcerFor(deployment).checkLogWrite('rotation')).resolves.toBeUndefined();
    await expect(enforcerFor(deployment).checkLogWrite('revoker')).resolves.toBeUndefined();
  });

  it('fails, naming the log group and the grant, for a role that cannot write its logs', async () => {
    // Act
    const check = enforcerFor(withoutLogWrites(deployment)).checkLogWrite('revoker');
    // Assess
    await expect(check).rejects.toBeInstanceOf(LogPermissionError);
    await expect(check).rejects.toThrow(/function 'keyrelay-revoker' would run without logs: .* on log group \/aws\/lambda\/keyrelay-revoker .*grant logs:CreateLogStream and logs:PutLogEvents/);
  });

  it('keeps the function from running at all', async () => {
    // Prepare
    const enforcer = enforcerFor(withoutLogWrites(deployment));
    const registry = new FunctionRegistry(env.region, env.account);
    let ran = false;
    registry.register('keyrelay-rotation', async () => {
      ran = true;
    });
    registry.setGuard((name) => enforcer.checkLogWrite(name === 'keyrelay-rotation' ? 'rotation' : 'revoker'));
    // Act
    const invoked = registry.invoke('keyrelay-rotation', {}, 'secretsmanager.amazonaws.com');
    // Assess
    await expect(invoked).rejects.toBeInstanceOf(LogPermissionError);
    expect(ran).toBe(false);
  });

  it('judges the services that invoke the functions by the functions\' resource policies and the scheduler role\'s trust', async () => {
    // Prepare
    const enforcer = enforcerFor(deployment);
    // Act & Assess
    await expect(enforcer.authorizeService('secretsmanager.amazonaws.com', 'rotation')).resolves.toBeUndefined();
    await expect(enforcer.authorizeService('scheduler.amazonaws.com', 'revoker')).resolves.toBeUndefined();
    await expect(enforcer.authorizeService('events.amazonaws.com', 'revoker')).resolves.toBeUndefined();
    await expect(enforcer.authorizeService('events.amazonaws.com', 'rotation')).rejects.toMatchObject({ type: 'AccessDeniedException' });
    await expect(enforcer.authorizeService('scheduler.amazonaws.com', 'rotation')).rejects.toMatchObject({ type: 'AccessDeniedException' });
  });
});
