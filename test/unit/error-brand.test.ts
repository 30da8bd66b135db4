import { describe, expect, it, vi } from 'vitest';

// Two copies of the same error classes in one process, as an app gets them from the ESM and the CommonJS build of
// @keyrelay/client, or from that package beside keyrelay: vi.resetModules makes the second import evaluate the
// modules again, so its classes are distinct objects with their own prototypes.
async function copies() {
  vi.resetModules();
  const a = { core: await import('../../core/errors'), client: await import('../../client/errors') };
  vi.resetModules();
  const b = { core: await import('../../core/errors'), client: await import('../../client/errors') };
  return { a, b };
}

describe('Error brands: instanceof across copies of the classes', () => {
  it('an error from one copy is instanceof the same class of the other, and of its base classes there', async () => {
    // Arrange
    const { a, b } = await copies();
    expect(a.client.SecretNotFoundError).not.toBe(b.client.SecretNotFoundError);

    // Act
    const err = new a.client.SecretNotFoundError("secret 'x' not found");

    // Assert
    expect(err instanceof b.client.SecretNotFoundError).toBe(true);
    expect(err instanceof b.core.KeyRelayError).toBe(true);
    expect(new a.core.StateError('bad tag') instanceof b.core.StateError).toBe(true);
    expect(new a.core.ConfigError('bad') instanceof b.core.KeyRelayError).toBe(true);
  });

  it('an error is not instanceof a sibling class of either copy', async () => {
    const { a, b } = await copies();
    const err = new a.client.SecretNotFoundError("secret 'x' not found");
    expect(err instanceof b.client.SecretAccessDeniedError).toBe(false);
    expect(err instanceof a.client.SecretAccessDeniedError).toBe(false);
    expect(err instanceof b.core.StateError).toBe(false);
    expect(new a.core.KeyRelayError('X', 'base') instanceof b.client.SecretNotFoundError).toBe(false);
  });

  it('plain errors, look-alikes and non-objects are not keyrelay errors', async () => {
    const { b } = await copies();
    const lookAlike = Object.assign(new Error('x'), { name: 'SecretNotFoundError', code: 'SecretNotFound' });
    expect(lookAlike instanceof b.client.SecretNotFoundError).toBe(false);
    expect(new Error('x') instanceof b.core.KeyRelayError).toBe(false);
    for (const value of [undefined, null, 'SecretNotFoundError', 42] as unknown[]) expect(value instanceof b.core.KeyRelayError).toBe(false);
  });

  it('keeps name, code, message and cause, and the brand out of enumeration and JSON', async () => {
    const { a } = await copies();
    const cause = new Error('socket hang up');
    const err = new a.client.SecretUnavailableError('retry later', { cause });
    expect([err.name, err.code, err.message, err.cause]).toEqual(['SecretUnavailableError', 'SecretUnavailable', 'retry later', cause]);
    expect(Object.keys(err).sort()).toEqual(['code', 'name']);
    expect(JSON.parse(JSON.stringify(err))).toEqual({ code: 'SecretUnavailable', name: 'SecretUnavailableError' });
  });
});
