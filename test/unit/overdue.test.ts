import { describe, expect, it } from 'vitest';
import { assessKey } from '../../cli/assess';
import { judgeRotation, OVERDUE_SLACK_MS, ROTATION_WINDOW_MS } from '../../core/overdue';
import type { ManagedSecret } from '../../core/state';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 22, 10);
const LATE = ROTATION_WINDOW_MS + OVERDUE_SLACK_MS;

function secret(over: Partial<ManagedSecret> = {}): ManagedSecret {
  return {
    arn: 'arn:s', name: 'a/key', records: [], versions: { v1: ['AWSCURRENT'] }, tags: {},
    settings: { provider: 'reference', providerSettings: {}, gracePeriod: 3600, rotateEvery: 7 * 86_400 },
    rotationEnabled: true, createdDate: new Date(NOW - 100 * DAY), ...over,
  };
}

describe('Function: judgeRotation', () => {
  it('goes overdue the moment NextRotationDate plus window plus slack passes, not before', () => {
    // Prepare
    const s = secret({ nextRotationDate: new Date(NOW - LATE), lastRotatedDate: new Date(NOW - DAY) });
    // Act + Assess
    expect(judgeRotation(s, NOW)).toMatchObject({ state: 'on-time', basis: 'next-rotation', overdueAt: NOW });
    expect(judgeRotation(s, NOW + 1)).toMatchObject({ state: 'overdue', due: NOW - LATE });
  });

  it('trusts NextRotationDate over rotate-every (a staggered monthly cron may run 31 days apart)', () => {
    // Prepare: 28-day interval, last rotation 31 days ago, AWS says next is tomorrow
    const s = secret({
      settings: { ...secret().settings, rotateEvery: 28 * 86_400 },
      lastRotatedDate: new Date(NOW - 31 * DAY), nextRotationDate: new Date(NOW + DAY),
    });
    // Act + Assess
    expect(judgeRotation(s, NOW).state).toBe('on-time');
  });

  it('with rotation disabled, judges from the last rotation, or from creation when never rotated', () => {
    // Act + Assess
    expect(judgeRotation(secret({ rotationEnabled: false, lastRotatedDate: new Date(NOW - 7 * DAY - LATE - 1) }), NOW))
      .toMatchObject({ state: 'overdue', basis: 'last-rotated' });
    expect(judgeRotation(secret({ rotationEnabled: false, createdDate: new Date(NOW - 7 * DAY - LATE - 1) }), NOW))
      .toMatchObject({ state: 'overdue', basis: 'created' });
    expect(judgeRotation(secret({ rotationEnabled: false, createdDate: new Date(NOW - 7 * DAY) }), NOW))
      .toMatchObject({ state: 'on-time', basis: 'created' });
  });

  it('never calls a frozen key overdue, and cannot judge a cron key without a schedule', () => {
    // Act + Assess
    expect(judgeRotation(secret({ frozen: 'x', nextRotationDate: new Date(NOW - 30 * DAY) }), NOW)).toEqual({ state: 'frozen' });
    const cron = secret({ rotationEnabled: false, settings: { ...secret().settings, rotateEvery: undefined } });
    expect(judgeRotation(cron, NOW)).toEqual({ state: 'unknown' });
  });

  it('is the rule keyrelay status applies', () => {
    // Prepare
    const late = secret({ nextRotationDate: new Date(NOW - LATE - 1) });
    const inWindow = secret({ nextRotationDate: new Date(NOW - LATE + 1) });
    // Act
    const codes = (s: ManagedSecret) => assessKey(s, undefined, NOW).attention.map((a) => a.code);
    // Assess
    expect(codes(late)).toEqual(['overdue']);
    expect(assessKey(late, undefined, NOW).attention[0]?.detail).toBe('rotation overdue: was due 2026-11-20T09:59:59Z, no success since');
    expect(codes(inWindow)).toEqual([]);
  });
});
