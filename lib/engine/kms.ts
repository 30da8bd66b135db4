import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct, IConstruct } from 'constructs';
import type { EngineNames } from './names';

/**
 * The condition that lets a KMS permission be used only through `service` in the stack's region, or `region`
 * (`kms:ViaService`; each region's own): a grant to decrypt secrets is useless for anything but reading them through
 * Secrets Manager.
 *
 * @example
 * new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [key.keyArn], conditions: viaService(stack, 'secretsmanager') });
 */
export function viaService(
  scope: IConstruct,
  service: 'secretsmanager' | 'sqs',
  region: string = Stack.of(scope).region,
): Record<string, Record<string, string>> {
  return { StringEquals: { 'kms:ViaService': `${service}.${region}.amazonaws.com` } };
}

/** A statement allowing `actions` on `key` only through `service` ({@link viaService}). */
export function keyViaServiceStatement(sid: string, key: kms.IKey, service: 'secretsmanager' | 'sqs', actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, actions, resources: [key.keyArn], conditions: viaService(key, service) });
}

/**
 * The engine's customer-managed key (secrets, alarm topic, dead-letter queue), with a key policy that lets CloudWatch
 * and EventBridge deliver to the encrypted topic and queue. Without that, alarms and rules would fail silently. Only
 * for this account (`aws:SourceAccount`) and this engine's own alarms and rules (`aws:SourceArn`), so no other
 * account's or other resource's alarm or rule can have CloudWatch or EventBridge use the key (confused deputy). The
 * ARNs are built from physical names: naming the rules by reference would make the key depend on the topic that
 * depends on the key.
 *
 * Construct id `Key` in `scope` (the engine), as before the engine was split: the logical id must not change, or
 * CloudFormation would replace the key of every secret.
 */
export function createEngineKey(scope: Construct, names: EngineNames): kms.Key {
  const stack = Stack.of(scope);
  const key = new kms.Key(scope, 'Key', {
    description: `keyrelay (${names.prefix}): secrets, alarm topic, revoker dead-letter queue`,
    enableKeyRotation: true,
    alias: names.alias,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const allowDelivery = (sid: string, service: string, sourceArns: string[]): void => {
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid,
        principals: [new iam.ServicePrincipal(service)],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnLike: { 'aws:SourceArn': sourceArns } },
      }),
    );
  };
  const alarms = stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: `${names.alarmPrefix}-*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  allowDelivery('AlarmDeliveryToEncryptedTopic', 'cloudwatch.amazonaws.com', [alarms]);
  const rules = Object.values(names.rules).map((name) => stack.formatArn({ service: 'events', resource: 'rule', resourceName: name }));
  allowDelivery('EventDeliveryToEncryptedTopicAndQueue', 'events.amazonaws.com', rules);
  return key;
}
