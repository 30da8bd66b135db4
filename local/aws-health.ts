import { HEALTH_EXPOSED } from '../core/ports';

/**
 * An AWS Health `AWS_RISK_CREDENTIALS_EXPOSED` event as EventBridge delivers it to a rule's target (the shape of AWS's
 * own sample responder, aws/aws-health-tools): the exposed access key id in `detail.affectedEntities[].entityValue`.
 * The local stack sends it through the revoker's rule alias (`POST /_keyrelay/aws-health`), as the deployed rule does.
 */
export function healthExposedEvent(accessKeyId: string, account: string, now: number): Record<string, unknown> {
  const time = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return {
    version: '0',
    id: `local-${now}`,
    'detail-type': HEALTH_EXPOSED.detailType,
    source: HEALTH_EXPOSED.source,
    account,
    time,
    region: 'us-east-1',
    resources: [],
    detail: {
      eventArn: `arn:aws:health:global::event/${HEALTH_EXPOSED.eventTypeCode}_LOCAL_${now}`,
      service: 'RISK',
      eventTypeCode: HEALTH_EXPOSED.eventTypeCode,
      eventTypeCategory: 'issue',
      startTime: new Date(now).toUTCString(),
      eventDescription: [{ language: 'en_US', latestDescription: 'AWS found this access key in a public place (local stack).' }],
      affectedEntities: [{ entityValue: accessKeyId }],
    },
  };
}
