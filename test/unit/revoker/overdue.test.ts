import { describe, expect, it } from 'vitest';
import { settingsToTags, TAGS } from '../../../core/state';
import { RevokerWorld, TEST_SETTINGS } from '../../support/revoker-harness';

const DAY = 86_400_000;

describe('Action: reconcile (KeysOverdue)', () => {
  it('counts keys overdue by their own schedule: weekly among monthly, never rotated, frozen apart', async () => {
    // Prepare: 'payments/api' (weekly, rotation disabled, never rotated) is created at the start
    const world = new RevokerWorld('payments/api', { rotateEvery: 7 * DAY / 1000 });
    world.sm.setRotation(world.arn, { enabled: false });
    await world.clock.advance(10 * DAY);
    const now = world.clock.now();
    const add = (name: string, rotateEvery: number, rotation: Parameters<typeof world.sm.setRotation>[1], frozen = false) => {
      const arn = world.sm.create(name, [
        ...settingsToTags({ ...TEST_SETTINGS, rotateEvery }),
        ...(frozen ? [{ Key: TAGS.frozen, Value: '2026-01-01T00:00:00Z ana: provider incident' }] : []),
      ]);
      world.sm.setRotation(arn, rotation);
    };
    const weekly = 7 * 86_400;
    const monthly = 30 * 86_400;
    add('weekly/late', weekly, { lastRotated: now - 10 * DAY, nextRotation: now - 3 * DAY });
    add('weekly/in-window', weekly, { lastRotated: now - 8 * DAY, nextRotation: now - DAY });
    add('monthly/ok', monthly, { lastRotated: now - 20 * DAY, nextRotation: now + 10 * DAY });
    add('monthly/stopped', monthly, { enabled: false, lastRotated: now - 33 * DAY });
    add('weekly/frozen', weekly, { lastRotated: now - 30 * DAY, nextRotation: now - 23 * DAY }, true);
    add('weekly/new', weekly, { enabled: false });

    // Act
    await world.handler({ action: 'reconcile' });

    // Assess
    expect(world.metrics.last('KeysOverdue')).toBe(3);
    const overdue = world.logger.lines.filter((l) => l.message.startsWith('rotation overdue'));
    expect(overdue.map((l) => [l.attributes.secret, l.attributes.basis])).toEqual([
      ['payments/api', 'created'],
      ['weekly/late', 'next-rotation'],
      ['monthly/stopped', 'last-rotated'],
    ]);
    const done = world.logger.lines.find((l) => l.message === 'reconcile done');
    expect(done?.attributes).toMatchObject({ keysOverdue: 3, frozen: ['weekly/frozen'] });
  });

  it('emits KeysOverdue 0 when every key is on time, so the alarm clears', async () => {
    // Prepare
    const world = new RevokerWorld();
    await world.rotate();
    world.sm.setRotation(world.arn, { lastRotated: world.clock.now(), nextRotation: world.clock.now() + DAY });

    // Act
    await world.handler({ action: 'reconcile' });

    // Assess
    expect(world.metrics.last('KeysOverdue')).toBe(0);
  });
});
