import { CfnOutput } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { EVENTS } from '../../core/ports';

/** What the engine stack tells its deployer: the on-call policy, the revoker, the alarm topic, the rotation event. */
export interface EngineOutputs {
  readonly onCallPolicyArn: string;
  readonly revokerFunctionName: string;
  readonly alarmTopicArn: string;
}

/** The engine stack's outputs (ids as before the split, in `scope`, the engine). */
export function addEngineOutputs(scope: Construct, outputs: EngineOutputs): void {
  new CfnOutput(scope, 'OnCallPolicyArn', {
    description: 'Attach to on-call engineers: exactly what the keyrelay CLI needs',
    value: outputs.onCallPolicyArn,
  });
  new CfnOutput(scope, 'RevokerFunctionName', { value: outputs.revokerFunctionName });
  new CfnOutput(scope, 'AlarmTopicArn', { value: outputs.alarmTopicArn });
  new CfnOutput(scope, 'KeyRotatedEventPattern', {
    description: 'EventBridge pattern apps subscribe to for an immediate refresh after a rotation',
    value: JSON.stringify({ source: [EVENTS.source], 'detail-type': [EVENTS.keyRotated] }),
  });
}
