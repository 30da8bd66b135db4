import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { KeyRelayKey } from '../../../lib/key';
import { buildFast, iamStatements } from './fixture';

describe('Class: KeyRelayKey', () => {
  describe('Method: fromKeyAttributes', () => {
    it('grants a reader of a key deployed elsewhere the current version only, by name, and the key through Secrets Manager', () => {
      // Prepare
      const { app, engine } = buildFast();
      const appStack = new Stack(app, 'App', { env: { account: '123456789012', region: 'eu-west-1' } });
      const role = new iam.Role(appStack, 'Reader', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });

      // Act
      const key = KeyRelayKey.fromKeyAttributes(appStack, 'Payments', { engine, secretName: 'payments/reference-api' });
      key.grantRead(role);

      // Assess
      const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments/reference-api-??????';
      expect(key.secretArn).toBe(arn);
      const statements = iamStatements(Template.fromStack(appStack));
      expect(statements).toContainEqual(expect.objectContaining({ Action: 'secretsmanager:DescribeSecret', Resource: arn }));
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: arn, Condition: { StringEquals: { 'secretsmanager:VersionStage': 'AWSCURRENT' } } }),
      );
      expect(statements).toContainEqual(expect.objectContaining({ Action: 'secretsmanager:GetSecretValue', Resource: arn, Condition: { Null: { 'secretsmanager:VersionStage': 'true' } } }));
      expect(statements).toContainEqual(
        expect.objectContaining({ Action: 'kms:Decrypt', Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } } }),
      );
    });

    it('reads the name from a complete ARN, and refuses attributes that name no secret', () => {
      const { app, engine } = buildFast();
      const appStack = new Stack(app, 'App', { env: { account: '123456789012', region: 'eu-west-1' } });
      const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:payments/reference-api-AbCdEf';
      expect(KeyRelayKey.fromKeyAttributes(appStack, 'ByArn', { engine, secretArn: arn }).secretName).toBe('payments/reference-api');
      expect(() => KeyRelayKey.fromKeyAttributes(appStack, 'Nothing', { engine })).toThrow(/needs secretArn or secretName/);
    });
  });
});
