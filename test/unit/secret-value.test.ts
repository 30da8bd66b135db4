import { describe, expect, it } from 'vitest';
import { parseSecretValue } from '../../core/secret-value';

// The field checks of the secret value (core/secret-value.ts), written out so @keyrelay/client carries no schema
// library: each rule, and what the error names.
describe('Function: parseSecretValue, field by field', () => {
  const valid = { apiKey: 'k', keyId: 'key_1', provider: 'reference', issuedAt: '2026-11-22T10:00:00Z' };
  const parse = (value: unknown): unknown => parseSecretValue(JSON.stringify(value), 'payments/x');

  it('keeps the optional fields and drops unknown ones', () => {
    const full = { ...valid, principal: 'acct_1', attributes: { accessKeyId: 'AKIA1' } };
    expect(parse({ ...full, extra: 1 })).toEqual(full);
  });

  it.each([
    ['2026-11-22T10:00Z', true],
    ['2026-11-22T10:00:00.123+02:00', true],
    ['2026-11-22T10:00:00', false],
    ['2026-11-22 10:00:00Z', false],
    ['2026-13-45T10:00:00Z', false],
    ['yesterday', false],
  ])('issuedAt %s is accepted: %s', (issuedAt, ok) => {
    const run = () => parse({ ...valid, issuedAt });
    if (ok) expect(run()).toMatchObject({ issuedAt });
    else expect(run).toThrow(/invalid at 'issuedAt': expected an ISO-8601 date and time with a zone/);
  });

  it.each([
    [[valid], '(root)'],
    [null, '(root)'],
    [{ ...valid, apiKey: '' }, 'apiKey'],
    [{ ...valid, provider: undefined }, 'provider'],
    [{ ...valid, principal: 7 }, 'principal'],
    [{ ...valid, attributes: ['a'] }, 'attributes'],
    [{ ...valid, attributes: { accessKeyId: 1 } }, 'attributes.accessKeyId'],
  ])('names the bad field of %j: %s', (value, field) => {
    expect(() => parse(value)).toThrow(`secret 'payments/x' value is invalid at '${field}'`);
  });

  it('never quotes a bad value in its error', () => {
    expect(() => parse({ ...valid, keyId: 'sk_live_abc', apiKey: ['sk_live_abc'] })).toThrow(/^(?!.*sk_live_abc).*$/s);
  });
});
