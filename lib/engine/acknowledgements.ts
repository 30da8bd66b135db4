import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** cdk-nag AwsSolutions rule ids as the validation plugin reports them. */
export const NAG_RULE = {
  wildcard: (resource: string) => `AwsSolutions::AwsSolutions-IAM5[Resource::${resource}]`,
} as const;

/**
 * Acknowledges cdk-nag's wildcard finding (IAM5) for `resource` on `scope`, with the reason it is right here (every
 * acknowledgment has one). The finding names the resource as the template holds it, so the acknowledgment is derived
 * from the very ARN the policy uses, never written by hand: an environment-agnostic stack holds
 * `arn:<AWS::Partition>:...:<AWS::Region>:<AWS::AccountId>:...`, one with an account and region (what `cdk deploy`
 * synthesizes when it has credentials) holds the literal ARN.
 *
 * @example
 * acknowledgeWildcard(role, secretArnPattern, 'Narrowed by the keyrelay:revoker tag condition.');
 */
export function acknowledgeWildcard(scope: IConstruct, resource: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: NAG_RULE.wildcard(nagResourceText(Stack.of(scope).resolve(resource))), reason });
}

/** A resolved template value as cdk-nag flattens it in a finding: `Ref`s as `<Name>`, `Fn::Join`s joined. */
function nagResourceText(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { Ref?: unknown; 'Fn::Join'?: [string, unknown[]] };
  if (typeof v.Ref === 'string') return `<${v.Ref}>`;
  if (v['Fn::Join']) return v['Fn::Join'][1].map(nagResourceText).join(v['Fn::Join'][0]);
  throw new Error(`acknowledgeWildcard: cannot name ${JSON.stringify(value)} as cdk-nag does; use a literal, a Ref or a Fn::Join`);
}
