import { describe, expect, it } from 'vitest';
import { StateError, createKeyClient } from '../../../client/index';
import { MAX_DURATION_SECONDS } from '../../../core/duration';
import { TAGS, settingsFromTags } from '../../../core/state';
import { FakeClock } from '../../support/fake-clock';
import { FakeSecret, turn } from './fake-secret';

const NAME = 'payments/reference-api';

/** What the state module says of a secret whose grace-period tag is `raw`. */
function stateVerdict(raw: string): string {
  try {
    settingsFromTags(NAME, { [TAGS.managed]: 'v1', [TAGS.provider]: 'reference', [TAGS.gracePeriod]: raw });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`the state module accepts grace-period tag '${raw}'`);
}

describe('Class: KeyClient', () => {
  describe('Method: getApiKey (the grace-period tag, read through core/state.ts)', () => {
    it.each([
      ['an exponent', '1e3'],
      ['padding', ' 60 '],
      ['hexadecimal', '0x10'],
      ['a plus sign', '+5'],
      ['more than the config allows', String(MAX_DURATION_SECONDS + 1)],
    ])('refuses a tag with %s as the state module does, with its message', async (_what, raw) => {
      // Prepare: the first read assumes a grace period; the check after ttl reads the tag
      const secret = new FakeSecret(NAME);
      secret.grace = raw;
      const clock = new FakeClock();
      const client = createKeyClient({ secretsManager: secret.client, clock, gracePeriod: 86_400 });
      await client.getApiKey(NAME);

      // Act
      await clock.advance(300_000 + 900_000);
      await turn();
      const err = await client.getApiKey(NAME).catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(StateError);
      expect((err as Error).message).toBe(stateVerdict(raw));
    });
  });
});
