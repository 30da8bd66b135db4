import { FileSystem, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal, type CfnRole } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stageFunctionCode } from '../../../lib/manifest';
import { ENV } from '../../../core/env';
import { METRICS } from '../../../core/metrics';
import { AWS_EVENTS_ALIAS } from '../../../core/ports';
import { STATE_NOTE_TAGS, TAGS } from '../../../core/state';
import { resolveConfig } from '../../../lib/config';
import { bundleDir, LAMBDA_HANDLER, LAMBDA_NODE_MAJOR } from '../../../lib/bundles';
import { KeyRelayEngine } from '../../../lib/engine';
import { grantReadKeys, KeyRelayKey } from '../../../lib/key';
import { asArray, buildFast, fastApp, iamStatements, SMALL_CONFIG, type Json, type Statement } from './fixture';

describe('Class: KeyRelayEngine', () => {
  let built: ReturnType<typeof buildFast>;
  let engine: Template;
  let keys: Template[];
  let logicalId: (c: { node: { defaultChild?: unknown } } | object) => string;

  beforeAll(() => {
    built = buildFast();
    engine = Template.fromStack(built.engineStack);
    keys = [...built.keyStacks.values()].map((s) => Template.fromStack(s));
    logicalId = (c) => {
      const cfn = ('node' in c && (c.node as { defaultChild?: unknown }).defaultChild) || c;
      return built.engineStack.getLogicalId(cfn as never);
    };
  });

  describe('the synthesized template: invoke permission, schedule order, KMS grants, failure rule', () => {
    it('conditions the Secrets Manager invoke permission on aws:SourceAccount', () => {
      // Assess
      engine.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'secretsmanager.amazonaws.com',
        SourceAccount: '123456789012',
        FunctionName: { 'Fn::GetAtt': [logicalId(built.engine.rotationFunction), 'Arn'] },
      });
      // No other permission lets Secrets Manager in without the condition.
      const permissions = Object.values(engine.findResources('AWS::Lambda::Permission')) as Json[];
      for (const p of permissions.filter((p) => p.Properties.Principal === 'secretsmanager.amazonaws.com')) {
        expect(p.Properties.SourceAccount).toBeDefined();
      }
    });

    it('creates the invoke permission before any rotation schedule (key stacks depend on the engine stack)', () => {
      // Assess
      for (const stack of built.keyStacks.values()) {
        expect(stack.dependencies).toContain(built.engineStack);
      }
    });

    it('makes the schedule depend on the permission when key and engine share a stack', () => {
      // Prepare
      const app = fastApp();
      const stack = new Stack(app, 'Single', { env: { account: '123456789012', region: 'eu-west-1' } });
      const [key] = resolveConfig(SMALL_CONFIG).keys;
      const eng = new KeyRelayEngine(stack, 'Engine', { keys: [key!] });
      // Act
      new KeyRelayKey(stack, 'Key', { engine: eng, key: key! });
      // Assess
      const schedules = Object.values(Template.fromStack(stack).findResources('AWS::SecretsManager::RotationSchedule')) as Json[];
      expect(schedules).toHaveLength(1);
      expect(schedules[0]!.DependsOn).toContain(stack.getLogicalId(eng.rotationInvokePermission));
    });

    it('grants the functions the KMS key only through Secrets Manager', () => {
      // Assess
      const keyArn = { 'Fn::GetAtt': [logicalId(built.engine.key), 'Arn'] };
      for (const role of ['RotationRole', 'RevokerRole']) {
        const policies = engine.findResources('AWS::IAM::Policy', {
          Properties: { Roles: [{ Ref: Match.stringLikeRegexp(`^Engine${role}`) }] },
        });
        const statements = (Object.values(policies) as Json[]).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
        expect(statements).toContainEqual(
          expect.objectContaining({
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Resource: keyArn,
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
          }),
        );
        // And no use of the key outside a service: every KMS statement is bound to Secrets Manager or SQS.
        for (const s of statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('kms:')))) {
          expect(s.Condition?.StringEquals?.['kms:ViaService'], JSON.stringify(s)).toMatch(/^(secretsmanager|sqs)\.eu-west-1\.amazonaws\.com$/);
        }
      }
    });

    it('lets cloudwatch.amazonaws.com and events.amazonaws.com use the key of the encrypted alarm topic', () => {
      // Assess
      engine.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            // Their conditions (aws:SourceAccount, aws:SourceArn): test/unit/cdk/hardening.test.ts.
            Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
            Match.objectLike({ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
          ]),
        },
      });
      engine.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(built.engine.key), 'Arn'] } });
    });

    it('sends RotationFailed, RotationAbandoned and TestRotationFailed service events to the alarm topic', () => {
      // Assess
      engine.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.secretsmanager'],
          'detail-type': ['AWS Service Event via CloudTrail'],
          detail: {
            eventSource: ['secretsmanager.amazonaws.com'],
            eventName: ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'],
          },
        },
        State: 'ENABLED',
        Targets: [Match.objectLike({ Arn: { Ref: logicalId(built.engine.alarmTopic) } })],
      });
    });

    it("lets services publish to the alarm topic only for this account's alarms and this engine's rule (no confused deputy)", () => {
      // Prepare
      const policies = Object.values(engine.findResources('AWS::SNS::TopicPolicy')) as Json[];
      const allows = policies
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
        .filter((s) => s.Effect === 'Allow' && typeof s.Principal === 'object' && s.Principal !== null && 'Service' in s.Principal);

      // Assess
      const services = allows.flatMap((s) => asArray((s.Principal as { Service: string | string[] }).Service));
      expect(services.sort()).toEqual(['cloudwatch.amazonaws.com', 'events.amazonaws.com']);
      for (const s of allows) {
        const scoped = s.Condition?.StringEquals?.['aws:SourceAccount'] ?? s.Condition?.ArnEquals?.['aws:SourceArn'];
        expect(scoped, `topic policy statement for ${JSON.stringify(s.Principal)}`).toBeDefined();
      }
      const events = allows.find((s) => JSON.stringify(s.Principal).includes('events.amazonaws.com'));
      expect(events?.Condition?.ArnEquals?.['aws:SourceArn']).toEqual({ 'Fn::GetAtt': [logicalId(built.engine.rotationFailedRule), 'Arn'] });
    });
  });

  describe('least privilege', () => {
    it('puts no * resource on any Secrets Manager write, and scopes every secret action to this engine by tag', () => {
      // Prepare
      const statements = iamStatements(engine);
      const smActions = (s: Statement) => asArray(s.Action).filter((a) => a.startsWith('secretsmanager:'));
      // Assess
      expect(statements.some((s) => smActions(s).length > 0)).toBe(true);
      for (const s of statements.filter((s) => smActions(s).length > 0)) {
        if (asArray(s.Resource).includes('*')) {
          expect(smActions(s)).toEqual(['secretsmanager:ListSecrets']);
          continue;
        }
        const isAdminSecret = JSON.stringify(s.Resource).includes('keyrelay/admin/reference-??????');
        if (!isAdminSecret) {
          expect(s.Condition?.StringEquals?.[`aws:ResourceTag/${TAGS.revoker}`]).toBe('KeyRelay-revoker');
        }
      }
    });

    it('lets the functions write only key-record tags and the state notes (current key, canary verdict, last automatic emergency)', () => {
      // Assess
      const tagging = iamStatements(engine).filter((s) => asArray(s.Action).includes('secretsmanager:TagResource'));
      expect(tagging.length).toBeGreaterThan(0);
      for (const s of tagging) {
        const keys = s.Condition?.['ForAllValues:StringLike']?.['aws:TagKeys'] ?? s.Condition?.['ForAllValues:StringEquals']?.['aws:TagKeys'];
        expect(asArray(keys as string[]).every((k) => k === `${TAGS.keyRecord}*` || (STATE_NOTE_TAGS as readonly string[]).includes(k) || k === TAGS.frozen)).toBe(true);
      }
    });

    it('lets the scheduler role invoke only the unqualified revoker (not its aws-events alias), and only the functions pass only that role', () => {
      // Assess
      engine.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } } })],
        },
      });
      // Every statement of every policy on the scheduler role, not just the one naming the revoker.
      const role = { Ref: logicalId(built.engine.schedulerRole) };
      const schedulerPolicies = ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].flatMap(
        (type) => Object.values(engine.findResources(type, { Properties: { Roles: Match.arrayWith([role]) } })) as Json[],
      );
      const schedulerInvoke = schedulerPolicies
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
        .filter((s) => asArray(s.Action).some((a) => a.startsWith('lambda:')));
      expect(schedulerInvoke).toHaveLength(1);
      expect(schedulerInvoke[0]?.Action).toBe('lambda:InvokeFunction');
      expect(asArray(schedulerInvoke[0]?.Resource).map((r) => JSON.stringify(r))).toEqual([expect.stringContaining(':function:KeyRelay-revoker"')]);
      const passRole = iamStatements(engine).filter((s) => asArray(s.Action).includes('iam:PassRole'));
      expect(passRole.length).toBeGreaterThan(0);
      for (const s of passRole) {
        expect(s.Resource).toEqual({ 'Fn::GetAtt': [logicalId(built.engine.schedulerRole), 'Arn'] });
        expect(s.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
      }
    });

    it('scopes schedule creation to the schedule group and name prefix', () => {
      // Assess
      const scheduling = iamStatements(engine).filter((s) => asArray(s.Action).includes('scheduler:CreateSchedule'));
      expect(scheduling).toHaveLength(2);
      for (const s of scheduling) expect(JSON.stringify(s.Resource)).toContain(':schedule/KeyRelay-revocations/kr-*');
    });

    it('publishes events only with source keyrelay', () => {
      // Assess
      const put = iamStatements(engine).filter((s) => asArray(s.Action).includes('events:PutEvents'));
      expect(put).toHaveLength(1);
      expect(put[0]!.Condition).toEqual({ StringEquals: { 'events:source': 'keyrelay' } });
    });

    it('gives on-call exactly the CLI actions: no value writes, no label moves, tag writes only for freeze, as an output', () => {
      // Prepare
      const managed = Object.values(engine.findResources('AWS::IAM::ManagedPolicy')) as Json[];
      const statements = managed.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
      const actions = statements.flatMap((s) => asArray(s.Action));
      // Assess
      expect(managed).toHaveLength(1);
      for (const denied of ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage']) {
        expect(actions).not.toContain(denied);
      }
      expect(actions).toEqual(
        expect.arrayContaining(['secretsmanager:ListSecrets', 'secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret', 'secretsmanager:TagResource', 'lambda:InvokeFunction', 'cloudwatch:DescribeAlarms']),
      );
      // The only tag on-call writes is the freeze note: key records are the functions' alone.
      const tagging = statements.filter((s) => asArray(s.Action).some((a) => a.endsWith('TagResource')));
      expect(tagging.map((s) => s.Condition)).toEqual([expect.objectContaining({ 'ForAllValues:StringEquals': { 'aws:TagKeys': [TAGS.frozen] } })]);
      engine.hasOutput('*', { Value: { Ref: logicalId(built.engine.onCallPolicy) } });
    });

    it('lets on-call rotate only with the deployed rotation function, named by the secret and by the request if it names one', () => {
      // Prepare
      const statements = (Object.values(engine.findResources('AWS::IAM::ManagedPolicy')) as Json[]).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
      // Act
      const rotate = statements.filter((s) => asArray(s.Action).includes('secretsmanager:RotateSecret'));
      // Assess
      expect(rotate).toHaveLength(1);
      const rotationArn = { 'Fn::GetAtt': [logicalId(built.engine.rotationFunction), 'Arn'] };
      expect(rotate[0]!.Condition).toMatchObject({
        ArnEquals: { 'secretsmanager:resource/AllowRotationLambdaArn': rotationArn },
        ArnEqualsIfExists: { 'secretsmanager:RotationLambdaARN': rotationArn },
      });
    });

    it('lets the revoker write secret values (import) but never the on-call policy', () => {
      // Assess
      const revokerPolicy = iamStatements(engine).filter((s) => asArray(s.Action).includes('secretsmanager:PutSecretValue'));
      expect(revokerPolicy.length).toBeGreaterThanOrEqual(2); // the rotation role's and the revoker role's
    });
  });

  describe('functions', () => {
    it('runs every function on nodejs24.x with the timeouts chosen, and no reserved concurrency by default', () => {
      // Assess
      const fns = Object.values(engine.findResources('AWS::Lambda::Function')) as Json[];
      expect(fns).toHaveLength(2);
      for (const fn of fns) {
        expect(fn.Properties.Runtime).toBe(`nodejs${LAMBDA_NODE_MAJOR}.x`);
        expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
      }
      engine.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'KeyRelay-rotation', Timeout: 300 });
      engine.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'KeyRelay-revoker', Timeout: 600 });
    });

    it('deploys the prebuilt bundle of each function with the manifest beside it, handler index.handler, no source-map option', () => {
      // Assess: the asset is dist/lambda/<name> (lib/bundles.ts) plus manifest.json, not a second bundling of the sources.
      for (const [name, fnName] of [['rotation', 'KeyRelay-rotation'], ['revoker', 'KeyRelay-revoker']] as const) {
        const [fn] = Object.values(engine.findResources('AWS::Lambda::Function', { Properties: { FunctionName: fnName } })) as Json[];
        expect(fn!.Properties.Handler).toBe(LAMBDA_HANDLER);
        expect(fn!.Properties.Environment.Variables.NODE_OPTIONS).toBeUndefined();
        const staged = stageFunctionCode(bundleDir(name), built.engine.manifest, mkdtempSync(join(tmpdir(), 'keyrelay-test-')));
        expect(readFileSync(join(staged, 'index.js')).equals(readFileSync(join(bundleDir(name), 'index.js')))).toBe(true);
        expect(fn!.Properties.Code.S3Key).toBe(`${FileSystem.fingerprint(staged)}.zip`);
      }
    });

    it('ships every declared key in the manifest, so a key change redeploys the functions, and refuses an undeclared key', () => {
      // Prepare
      const keys = resolveConfig(SMALL_CONFIG).keys;
      const stack = new Stack(fastApp(), 'Alone', { env: { account: '123456789012', region: 'eu-west-1' } });
      const eng = new KeyRelayEngine(stack, 'Engine', { keys: keys.slice(1) });
      // Act + Assess
      expect([...built.engine.manifest.keys.keys()].sort()).toEqual(keys.map((k) => k.name).sort());
      expect(built.engine.manifest.keys.get(keys[0]!.name)).toMatchObject({ provider: 'reference', revoker: 'KeyRelay-revoker' });
      expect(() => new KeyRelayKey(stack, 'Undeclared', { engine: eng, key: keys[0]! })).toThrow(/not declared in the engine's manifest/);
    });

    it('sets every environment variable of core/env.ts on both functions', () => {
      // Assess
      for (const name of ['KeyRelay-rotation', 'KeyRelay-revoker']) {
        const [fn] = Object.values(engine.findResources('AWS::Lambda::Function', { Properties: { FunctionName: name } })) as Json[];
        expect(Object.keys(fn!.Properties.Environment.Variables)).toEqual(expect.arrayContaining(Object.values(ENV)));
      }
    });

    it('sets reserved concurrency when configured', () => {
      // Act
      const { engineStack } = buildFast({ ...SMALL_CONFIG, engine: { reservedConcurrency: 5 } });
      // Assess
      Template.fromStack(engineStack).resourcePropertiesCountIs('AWS::Lambda::Function', { ReservedConcurrentExecutions: 5 }, 2);
    });

    it('gives the revoker an encrypted dead-letter queue and runs the reconcile sweep on a schedule', () => {
      // Assess
      const dlq = logicalId(built.engine.revokerDeadLetterQueue);
      engine.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: { 'Fn::GetAtt': [logicalId(built.engine.key), 'Arn'] } });
      engine.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: 'KeyRelay-revoker',
        DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
      });
      engine.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 hour)',
        Targets: [Match.objectLike({ Input: JSON.stringify({ action: 'reconcile' }), DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } } })],
      });
    });
  });

  describe('alarms', () => {
    it('sends every alarm to the topic, with a description saying what to do first', () => {
      // Prepare
      const alarms = Object.values(engine.findResources('AWS::CloudWatch::Alarm')) as Json[];
      // Assess
      expect(alarms.length).toBe(21);
      for (const a of alarms) {
        expect(a.Properties.AlarmName).toMatch(/^KeyRelay-/);
        expect(a.Properties.AlarmActions).toEqual([{ Ref: logicalId(built.engine.alarmTopic) }]);
        expect(a.Properties.AlarmDescription).toMatch(/First:/);
      }
    });

    it('alarms on the dead-letter queue', () => {
      engine.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(built.engine.revokerDeadLetterQueue), 'QueueName'] } }],
        Threshold: 1,
      });
    });

    it('treats a silent sweep as overdue (TreatMissingData breaching) with the longest interval plus slack', () => {
      // Assess: longest interval 7d + 1d window + 1d slack.
      engine.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: METRICS.secondsSinceLastRotation,
        Namespace: 'keyrelay',
        Dimensions: [{ Name: 'service', Value: 'keyrelay' }],
        TreatMissingData: 'breaching',
        Threshold: 9 * 86_400,
      });
    });

    it('alarms on any key overdue by its own schedule, a silent sweep left to RotationOverdue', () => {
      // Assess
      const alarms = Object.values(engine.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: METRICS.keysOverdue } }));
      expect(alarms).toHaveLength(1);
      expect(alarms[0]!.Properties).toMatchObject({
        Namespace: 'keyrelay',
        Dimensions: [{ Name: 'service', Value: 'keyrelay' }],
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(alarms[0]!.Properties.AlarmDescription).toMatch(/overdue by its own schedule.*First:/);
    });

    it.each([METRICS.rotationStepFailed, METRICS.revocationFailed, METRICS.keysPastDeadline, METRICS.oldKeyInUsePastHold])(
      'alarms on %s',
      (metric) => {
        engine.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: metric, Namespace: 'keyrelay', Threshold: 1 });
      },
    );

    it('alarms on tags that disagree with the manifest, or a forged secret (SettingsMismatch), at the first one', () => {
      // Assess
      const alarms = Object.values(engine.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: METRICS.settingsMismatch } }));
      expect(alarms).toHaveLength(1);
      expect(alarms[0]!.Properties).toMatchObject({
        AlarmName: 'KeyRelay-SettingsMismatch',
        Namespace: 'keyrelay',
        Dimensions: [{ Name: 'service', Value: 'keyrelay' }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: logicalId(built.engine.alarmTopic) }],
      });
      expect(alarms[0]!.Properties.AlarmDescription).toMatch(/ignored.*CloudTrail/);
    });

    it('alarms on errors and throttles of both functions', () => {
      for (const metric of ['Errors', 'Throttles']) {
        engine.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: metric, Namespace: 'AWS/Lambda' }, 2);
      }
    });

    it('subscribes the configured recipients', () => {
      engine.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
      engine.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'https', Endpoint: 'https://events.example.com/hook' });
      engine.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    });
  });

  describe('keys', () => {
    it('creates each secret without a value, encrypted with the engine key and tagged per the state contract', () => {
      // Prepare
      const secrets = keys.flatMap((t) => Object.values(t.findResources('AWS::SecretsManager::Secret')) as Json[]);
      // Assess
      expect(secrets).toHaveLength(2);
      for (const s of secrets) {
        expect(s.Properties.SecretString).toBeUndefined();
        expect(s.Properties.GenerateSecretString).toBeUndefined();
        // A cross-stack reference to the engine's key (weak references per cdk.json: Fn::GetStackOutput).
        expect(JSON.stringify(s.Properties.KmsKeyId)).toMatch(/"StackName":"KeyRelay".*EngineKey[0-9A-F]{8}Arn/);
        expect(s.Properties.Tags).toEqual(
          expect.arrayContaining([
            { Key: TAGS.managed, Value: 'v1' },
            { Key: TAGS.revoker, Value: 'KeyRelay-revoker' },
            { Key: TAGS.provider, Value: 'reference' },
            { Key: 'team', Value: 'platform' },
          ]),
        );
        expect(s.DeletionPolicy).toBe('Retain');
      }
    });

    it('schedules rotation without rotating on deploy, with windows that open on the hour', () => {
      // Prepare
      const schedules = keys.flatMap((t) => Object.values(t.findResources('AWS::SecretsManager::RotationSchedule')) as Json[]);
      // Assess
      expect(schedules).toHaveLength(2);
      for (const s of schedules) {
        expect(s.Properties.RotateImmediatelyOnUpdate).toBe(false);
        expect(s.Properties.RotationRules.ScheduleExpression).toMatch(/^cron\(0 /);
        expect(s.Properties.RotationRules.Duration).toBe('2h');
        expect(JSON.stringify(s.Properties.RotationLambdaARN)).toMatch(/"StackName":"KeyRelay".*EngineRotation[0-9A-F]{8}Arn/);
      }
    });

    it('grants readers in other accounts through the resource policy and the key policy', () => {
      // Assess
      const policies = keys.flatMap((t) => Object.values(t.findResources('AWS::SecretsManager::ResourcePolicy')) as Json[]);
      const principals = policies.flatMap((p) => (p.Properties.ResourcePolicy.Statement as Statement[]).map((s) => JSON.stringify(s.Principal)));
      expect(principals).toEqual(
        expect.arrayContaining([expect.stringContaining('role/payments-app'), expect.stringContaining(':iam::222222222222:root')]),
      );
      for (const p of policies) {
        expect(p.Properties.BlockPublicPolicy).toBe(true);
        // Stage conditions on GetSecretValue: test/unit/cdk/hardening.test.ts.
        for (const s of p.Properties.ResourcePolicy.Statement as Statement[]) {
          expect(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']).toContain(s.Action);
        }
      }
      // Every key policy statement naming a reader lets it only decrypt, only through Secrets Manager.
      const [key] = Object.values(engine.findResources('AWS::KMS::Key')) as Json[];
      const forReaders = (key!.Properties.KeyPolicy.Statement as Statement[]).filter((s) => /111111111111|222222222222/.test(JSON.stringify(s.Principal)));
      expect(forReaders).toHaveLength(1);
      engine.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'kms:Decrypt',
              Principal: { AWS: ['arn:aws:iam::111111111111:role/payments-app', 'arn:aws:iam::222222222222:root'] },
              Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
            }),
          ]),
        },
      });
    });
  });

  describe('Method: grantRead', () => {
    it('gives a role of the same account an identity policy for the group of keys, and kms:Decrypt only via Secrets Manager', () => {
      // Prepare
      const app = fastApp();
      const stack = new Stack(app, 'Single', { env: { account: '123456789012', region: 'eu-west-1' } });
      const resolved = resolveConfig(SMALL_CONFIG).keys;
      const eng = new KeyRelayEngine(stack, 'Engine', { keys: resolved });
      const group = resolved.map((key, i) => new KeyRelayKey(stack, `Key${i}`, { engine: eng, key }));
      const role = new Role(stack, 'App', { assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com') });
      // Act
      grantReadKeys(role, group);
      // Assess
      const template = Template.fromStack(stack);
      template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 0);
      const [policy] = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as CfnRole) }] } })) as Json[];
      const statements = policy!.Properties.PolicyDocument.Statement as Statement[];
      // minimizePolicies (cdk.json) merges the group into one statement per action and condition.
      const resources = group.map((k) => ({ Ref: stack.getLogicalId(k.secret) }));
      expect(statements).toContainEqual(expect.objectContaining({ Action: 'secretsmanager:DescribeSecret', Resource: resources }));
      for (const Condition of [{ Null: { 'secretsmanager:VersionStage': 'true' } }, { StringEquals: { 'secretsmanager:VersionStage': 'AWSCURRENT' } }]) {
        expect(statements).toContainEqual(expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: resources, Condition }));
      }
      expect(statements).toContainEqual(
        expect.objectContaining({
          Action: 'kms:Decrypt',
          Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
        }),
      );
      // Nothing else: no other action on the secrets, no other use of the key.
      expect(statements).toHaveLength(4);
    });
  });

  it('identifies functions by logical id resolved from the constructs, not literals', () => {
    // Guards the helper the tests above rely on.
    expect(logicalId(built.engine.rotationFunction)).toBe(built.engineStack.getLogicalId(built.engine.rotationFunction.node.defaultChild as CfnFunction));
  });
});

describe('Class: KeyRelayEngine (leak response, issue 19)', () => {
  let engine: Template;
  beforeAll(() => {
    engine = Template.fromStack(buildFast().engineStack);
  });

  it('sends AWS Health exposed-key events only to the revoker alias, which only that rule may invoke', () => {
    // Assess
    engine.hasResourceProperties('AWS::Lambda::Alias', { Name: AWS_EVENTS_ALIAS, FunctionVersion: '$LATEST' });
    engine.hasResourceProperties('AWS::Events::Rule', {
      Name: 'KeyRelay-aws-health',
      EventPattern: { source: ['aws.health'], 'detail-type': ['AWS Health Event'], detail: { eventTypeCode: ['AWS_RISK_CREDENTIALS_EXPOSED'] } },
    });
    const aliasId = Object.keys(engine.findResources('AWS::Lambda::Alias'))[0] as string;
    const onAlias = Object.values(engine.findResources('AWS::Lambda::Permission', { Properties: { FunctionName: { Ref: aliasId } } })) as Json[];
    expect(onAlias).toHaveLength(1);
    expect(onAlias[0]?.Properties).toMatchObject({ Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': [expect.stringMatching(/AwsHealthRule/), 'Arn'] } });
    // No identity policy of the deployment names a qualified revoker ARN (the scheduler role, on-call).
    for (const s of iamStatements(engine)) {
      for (const r of asArray(s.Resource)) expect(JSON.stringify(r)).not.toMatch(/KeyRelay-revoker:/);
    }
  });

  it('runs the canary at the shortest canary interval of the keys', () => {
    // Assess
    engine.hasResourceProperties('AWS::Events::Rule', { Name: 'KeyRelay-canary', ScheduleExpression: 'rate(5 minutes)' });
  });
});
