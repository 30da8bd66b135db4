import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../core/error-codes';
import { ConfigError } from '../../../core/errors';
import { KeyInUseError, NothingToDoError, RevocationFailedError } from '../../../lambda/revoker/errors';
import { HINTS, hintFor, toCliError } from '../../../cli/errors';

const FALLBACK = 'rerun with --debug for details';

describe('Function: toCliError (one hint table for every operator error code)', () => {
  it.each([
    ['KeyInUse', new KeyInUseError("secret 'a': key 'k1' is referenced by AWSCURRENT; rotate first")],
    ['NothingToDo', new NothingToDoError("secret 'a': nothing to restore")],
    ['RevocationFailed', new RevocationFailedError([{ secretName: 'a', keyId: 'k1', reason: 'provider down' }])],
    ['ConfigInvalid', new ConfigError("key 'a': gracePeriod must be at least 1 minute")],
  ])('gives %s its own next step, not the generic one', (code, err) => {
    // Act
    const cli = toCliError(err);
    // Assess
    expect(cli.code).toBe(code);
    expect(cli.hint).toBe(HINTS[code as keyof typeof HINTS]);
    expect(cli.hint).not.toBe(FALLBACK);
  });

  it('has a hint for every code of the core, the providers and the revoker, and the same one for the revoker errorType', () => {
    for (const code of [...ERROR_CODES.core, ...ERROR_CODES.provider, ...ERROR_CODES.revoker]) {
      expect(HINTS[code], code).toMatch(/\w{3}/);
      expect(hintFor(code, 'fallback')).toBe(HINTS[code]);
    }
    expect(hintFor('Runtime.ExitError', 'fallback')).toBe('fallback');
  });
});
