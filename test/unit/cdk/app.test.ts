import { CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseCron, shortestCronInterval } from '../../../core/cron';
import { MAX_RESOURCES_PER_STACK, shardOf } from '../../../lib/app';
import { resolveConfig, type KeyRelayConfig } from '../../../lib/config';
import { staggeredRotationRules } from '../../../lib/schedule';
import { buildFast } from './fixture';

const base = { provider: { type: 'reference' }, adminSecret: 'keyrelay/admin/reference' };

function manyKeys(n: number, extra: Partial<KeyRelayConfig> = {}, rotateEvery = '30d'): KeyRelayConfig {
  const keys: KeyRelayConfig['keys'] = {};
  for (let i = 0; i < n; i++) keys[`team${i % 37}/service-${i}`] = { rotateEvery };
  return { defaults: base, keys, ...extra };
}

describe('Function: buildKeyRelay', () => {
  it('shards 1,000 keys into stacks that each stay under the resource budget', () => {
    // Act
    const { keyStacks, keys } = buildFast(manyKeys(1000, { stacks: { shards: 8 } }));
    // Assess
    expect(keys.size).toBe(1000);
    expect(keyStacks.size).toBe(8);
    for (const stack of keyStacks.values()) {
      const resources = stack.node.findAll().filter((c) => c instanceof CfnResource).length;
      expect(resources).toBeLessThanOrEqual(MAX_RESOURCES_PER_STACK);
    }
  });

  it('fails naming stacks.shards when one stack would exceed the budget', () => {
    // Act + Assess
    expect(() => buildFast(manyKeys(300))).toThrow(
      /keyrelay.config.json stacks.shards: stack 'KeyRelay-Keys0' would hold \d+ resources .*set stacks.shards to at least 2/,
    );
  });

  it('keeps a key in its stack when other keys come and go', () => {
    // Prepare
    const names = Array.from({ length: 50 }, (_, i) => `k${i}`);
    // Act
    const before = new Map(names.map((n) => [n, shardOf(n, 5)]));
    const after = new Map(names.slice(10).map((n) => [n, shardOf(n, 5)]));
    // Assess
    for (const [n, shard] of after) expect(shard).toBe(before.get(n));
    expect(new Set(before.values()).size).toBe(5);
  });

  it('honours a key pinned to a shard', () => {
    // Act
    const { keys } = buildFast({ defaults: base, keys: { a: { shard: 2 } }, stacks: { shards: 3 } });
    // Assess
    expect(keys.get('a')!.stack.stackName).toBe('KeyRelay-Keys2');
  });

  it('grants a reader of the stack\'s own account by resource policy and key policy (keyrelay cannot edit its role)', () => {
    // Prepare: buildFast deploys to account 123456789012.
    const reader = 'arn:aws:iam::123456789012:role/same-account-app';
    const config: KeyRelayConfig = { defaults: base, keys: { 'app/api': { rotateEvery: '7d' } }, readers: [{ principal: reader, keys: ['app/api'] }] };

    // Act
    const { engineStack, keyStacks } = buildFast(config);

    // Assess
    const secretPolicies = [...keyStacks.values()].flatMap((s) => Object.values(Template.fromStack(s).findResources('AWS::SecretsManager::ResourcePolicy')));
    expect(JSON.stringify(secretPolicies)).toContain(reader);
    const keyPolicy = JSON.stringify(Object.values(Template.fromStack(engineStack).findResources('AWS::KMS::Key')));
    expect(keyPolicy).toContain(reader);
  });

  it('names the stacks after stacks.prefix', () => {
    // Act
    const { engineStack, keyStacks } = buildFast({ defaults: base, keys: { a: {} }, stacks: { prefix: 'Billing' } });
    // Assess
    expect(engineStack.stackName).toBe('Billing');
    expect([...keyStacks.values()].map((s) => s.stackName)).toEqual(['Billing-Keys0']);
  });
});

describe('Function: staggeredRotationRules', () => {
  it('spreads weekly keys of one provider over distinct hours and days, windows on the hour', () => {
    // Prepare
    const { keys } = resolveConfig(manyKeys(100, {}, '7d'));
    // Act
    const rules = staggeredRotationRules(keys, true);
    // Assess
    const expressions = [...rules.values()].map((r) => r.ScheduleExpression);
    expect(new Set(expressions).size).toBe(100);
    for (const e of expressions) expect(e).toMatch(/^cron\(0 \d{1,2} \? \* (SUN|MON|TUE|WED|THU|FRI|SAT) \*\)$/);
    expect(shortestCronInterval(parseCron('cron(0 5 ? * WED *)'))).toBe(7 * 86_400);
    expect([...rules.values()].every((r) => r.Duration === '2h')).toBe(true);
  });

  it('turns 30d into a monthly day and hour whose shortest gap still holds the grace period', () => {
    // Prepare
    const { keys } = resolveConfig(manyKeys(30, {}, '30d'));
    // Act
    const expressions = [...staggeredRotationRules(keys, true).values()].map((r) => r.ScheduleExpression);
    // Assess
    expect(new Set(expressions).size).toBe(30);
    for (const e of expressions) expect(e).toMatch(/^cron\(0 \d{1,2} ([1-9]|1\d|2[0-8]) \* \? \*\)$/);
    expect(shortestCronInterval(parseCron(expressions[0]!))).toBe(28 * 86_400);
  });

  it('keeps rate() for a monthly key whose grace and hold would not fit in February', () => {
    // Prepare
    const { keys } = resolveConfig({ defaults: base, keys: { a: { rotateEvery: '30d', gracePeriod: '27d', usageHold: { quietPeriod: '1h', maxHold: '2d' } } } });
    // Act + Assess
    expect(staggeredRotationRules(keys, true).get('a')).toEqual({ ScheduleExpression: 'rate(30 days)' });
  });

  it('keeps rate() when no cron is exact, and when staggering is off', () => {
    // Prepare
    const { keys } = resolveConfig({ defaults: base, keys: { a: { rotateEvery: '10d' }, b: { rotateEvery: '7d' } } });
    // Act
    const on = staggeredRotationRules(keys, true);
    const off = staggeredRotationRules(keys, false);
    // Assess
    expect(on.get('a')).toEqual({ ScheduleExpression: 'rate(10 days)' });
    expect(off.get('b')).toEqual({ ScheduleExpression: 'rate(7 days)' });
  });

  it('never changes an explicit cron schedule', () => {
    // Prepare
    const { keys } = resolveConfig({ defaults: base, keys: { a: { schedule: 'cron(0 3 ? * TUE *)', window: '3h' } } });
    // Act + Assess
    expect(staggeredRotationRules(keys, true).get('a')).toEqual({ ScheduleExpression: 'cron(0 3 ? * TUE *)', Duration: '3h' });
  });

  it('staggers hourly intervals within their period', () => {
    // Prepare
    const { keys } = resolveConfig({ defaults: { ...base, gracePeriod: '1h' }, keys: { a: { rotateEvery: '6h' }, b: { rotateEvery: '6h' } } });
    // Act + Assess
    expect([...staggeredRotationRules(keys, true).values()].map((r) => r.ScheduleExpression)).toEqual([
      'cron(0 0/6 * * ? *)',
      'cron(0 1/6 * * ? *)',
    ]);
  });
});
