import type { Tag } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { assessKey } from '../../../cli/assess';
import { formatStatus } from '../../../cli/format/status';
import { autoEmergencyTag, canaryTag, managedSecretFrom } from '../../../core/state';
import { entry } from './harness';

/** `keyrelay status` shows the canary's last verdict (issue 19), from the secret's tags (the state contract). */
const NOW = Date.UTC(2026, 11, 4, 22, 0, 0);
const current = { versionId: 'v2', keyId: 'k-2', fingerprint: 'sha256:aaaaaaaaaaaa', issuedAt: '2026-12-01T00:00:00Z' };
const withTags = (...tags: Tag[]) =>
  managedSecretFrom({ $metadata: {}, ...entry({ name: 'payments/api', versions: { v2: ['AWSCURRENT'] }, extraTags: tags }) });

describe('status: the canary verdict', () => {
  it('shows when the canary last checked, its verdict and the last automatic emergency, needing no attention once healed', () => {
    // Prepare
    const secret = withTags(
      canaryTag({ at: NOW - 120_000, verdict: 'rejected', action: 'rotated' }),
      autoEmergencyTag({ at: NOW - 120_000, trigger: 'canary', keyId: 'k-1' }),
    );

    // Act
    const status = assessKey(secret, current, NOW);
    const text = formatStatus({ generatedAt: '', keys: [status], alarms: { firing: [] }, broken: [] }, { json: false });

    // Assess
    expect(status.canary).toEqual({ checkedAt: '2026-12-04T21:58:00Z', verdict: 'rejected', action: 'rotated' });
    expect(status.attention.filter((a) => a.code === 'canary')).toEqual([]);
    expect(text).toMatch(/payments\/api\s+2026-12-04T21:58:00Z\s+rejected\s+rotated\s+2026-12-04T21:58:00Z \(canary, key k-1\)/);
  });

  it.each([
    ['a dead key it did not rotate', canaryTag({ at: NOW, verdict: 'rejected', action: 'held-limit' }), /NOT rotated \(held-limit\): `keyrelay rotate --emergency payments\/api`/],
    ['an outage', canaryTag({ at: NOW, verdict: 'provider-unavailable' }), /provider was unavailable/],
    ['a rejected admin credential', canaryTag({ at: NOW, verdict: 'admin-rejected' }), /rejects the admin credential/],
  ])('needs attention for %s', (_, tag, detail) => {
    // Act
    const status = assessKey(withTags(tag), current, NOW);

    // Assess
    expect(status.attention.filter((a) => a.code === 'canary')).toEqual([{ code: 'canary', detail: expect.stringMatching(detail) }]);
  });
});
