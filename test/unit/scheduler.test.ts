/**
 * The local scheduler (DESIGN §8): EventBridge rate/cron expressions read in UTC, refused forms
 * named, and schedules fired by a controlled clock with the same input the deployed rule sends.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scheduledBatchInput } from '../../lib/config.js';
import { LocalScheduler, nextFireTime, scheduleInput, ScheduleExpressionError, type LocalSchedule, type ScheduleState } from '../../functions/local/scheduler.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('nextFireTime: rate expressions', () => {
  it('fires rate(1 day) one day after the anchor, then every day after it', () => {
    const anchor = at('2026-03-10T12:34:56.789Z');
    expect(iso(nextFireTime('rate(1 day)', anchor, anchor))).toBe('2026-03-11T12:34:56.789Z');
    expect(iso(nextFireTime('rate(1 day)', at('2026-03-11T12:34:56.789Z'), anchor))).toBe('2026-03-12T12:34:56.789Z');
    expect(iso(nextFireTime('rate(3 days)', at('2026-03-11T00:00:00.000Z'), anchor))).toBe('2026-03-13T12:34:56.789Z');
  });

  it('anchors rate(15 minutes) at the start, not at wall-clock quarter hours', () => {
    const anchor = at('2026-03-10T12:07:30.000Z');
    expect(iso(nextFireTime('rate(15 minutes)', anchor, anchor))).toBe('2026-03-10T12:22:30.000Z');
    expect(iso(nextFireTime('rate(15 minutes)', at('2026-03-10T12:30:00.000Z'), anchor))).toBe('2026-03-10T12:37:30.000Z');
    // Strictly after: a fire time itself is not returned again.
    expect(iso(nextFireTime('rate(15 minutes)', at('2026-03-10T12:37:30.000Z'), anchor))).toBe('2026-03-10T12:52:30.000Z');
  });

  it('reads minute and hour units, singular and plural', () => {
    const anchor = at('2026-03-10T00:00:00.000Z');
    expect(nextFireTime('rate(1 minute)', anchor) - anchor).toBe(60_000);
    expect(nextFireTime('rate(2 hours)', anchor) - anchor).toBe(2 * 3_600_000);
    expect(nextFireTime('rate(1 hour)', anchor) - anchor).toBe(3_600_000);
  });

  it('refuses a zero period', () => {
    expect(() => nextFireTime('rate(0 minutes)', 0)).toThrow(/period must be positive/);
  });
});

describe('nextFireTime: cron expressions (UTC)', () => {
  it.each([
    // [expression, after, expected]
    ['cron(0 3 * * ? *)', '2026-03-10T12:00:00.000Z', '2026-03-11T03:00:00.000Z'],
    ['cron(0 3 * * ? *)', '2026-03-10T02:59:59.999Z', '2026-03-10T03:00:00.000Z'],
    ['cron(0 3 * * ? *)', '2026-03-10T03:00:00.000Z', '2026-03-11T03:00:00.000Z'],
    ['cron(0 3 * * ? *)', '2026-12-31T23:59:00.000Z', '2027-01-01T03:00:00.000Z'],
    // 2026-03-13 is a Friday.
    ['cron(30 9 ? * MON-FRI *)', '2026-03-13T10:00:00.000Z', '2026-03-16T09:30:00.000Z'],
    ['cron(30 9 ? * MON-FRI *)', '2026-03-13T09:29:00.000Z', '2026-03-13T09:30:00.000Z'],
    ['cron(30 9 ? * MON-FRI *)', '2026-03-14T08:00:00.000Z', '2026-03-16T09:30:00.000Z'],
    ['cron(0 12 ? * SUN *)', '2026-03-10T00:00:00.000Z', '2026-03-15T12:00:00.000Z'],
    ['cron(0 0 1 JAN ? *)', '2026-03-10T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['cron(0 0 1 JAN ? *)', '2025-12-31T23:59:59.000Z', '2026-01-01T00:00:00.000Z'],
    ['cron(0 0 29 2 ? *)', '2026-03-10T00:00:00.000Z', '2028-02-29T00:00:00.000Z'],
    ['cron(0 0 1 * ? 2030)', '2026-03-10T00:00:00.000Z', '2030-01-01T00:00:00.000Z'],
    // Steps, lists and ranges.
    ['cron(0/15 * * * ? *)', '2026-03-10T12:07:00.000Z', '2026-03-10T12:15:00.000Z'],
    ['cron(0/15 * * * ? *)', '2026-03-10T12:45:00.000Z', '2026-03-10T13:00:00.000Z'],
    ['cron(*/20 * * * ? *)', '2026-03-10T12:41:10.000Z', '2026-03-10T13:00:00.000Z'],
    ['cron(5 8,12,18 * * ? *)', '2026-03-10T12:05:00.000Z', '2026-03-10T18:05:00.000Z'],
    ['cron(5 8,12,18 * * ? *)', '2026-03-10T18:05:00.000Z', '2026-03-11T08:05:00.000Z'],
    ['cron(10-20/5 6 * * ? *)', '2026-03-10T06:11:00.000Z', '2026-03-10T06:15:00.000Z'],
    ['cron(10-20/5 6 * * ? *)', '2026-03-10T06:20:00.000Z', '2026-03-11T06:10:00.000Z'],
    ['cron(0 0 ? JAN,JUL MON *)', '2026-03-10T00:00:00.000Z', '2026-07-06T00:00:00.000Z'],
  ])('%s after %s fires at %s', (expression, after, expected) => {
    expect(iso(nextFireTime(expression, at(after)))).toBe(expected);
  });

  it('reads day and month names case-insensitively', () => {
    expect(iso(nextFireTime('cron(30 9 ? * mon-fri *)', at('2026-03-13T10:00:00.000Z')))).toBe('2026-03-16T09:30:00.000Z');
  });

  it.each([
    ['L (last day of month)', 'cron(0 0 L * ? *)', "'L'"],
    ['W (nearest weekday)', 'cron(0 0 15W * ? *)', "'15W'"],
    ['# (nth weekday)', 'cron(0 0 ? * MON#2 *)', "'MON#2'"],
    ['L in day-of-week', 'cron(0 0 ? * 6L *)', "'6L'"],
  ])('refuses %s with a message naming the field and the unsupported form', (_label, expression, field) => {
    expect(() => nextFireTime(expression, 0)).toThrow(ScheduleExpressionError);
    expect(() => nextFireTime(expression, 0)).toThrow(`schedule expression '${expression}': ${field} (L, W and # forms) is not supported by the local scheduler`);
  });

  it.each([
    ['not an expression', 'every day', /expected rate\(<n> <unit>\) or cron\(<6 fields>\)/],
    ['a cron with five fields', 'cron(0 3 * * ?)', /expected rate/],
    ['an unknown rate unit', 'rate(2 weeks)', /expected rate/],
    ['a minute out of range', 'cron(61 * * * ? *)', /'61' is outside 0-59/],
    ['an hour out of range', 'cron(0 24 * * ? *)', /'24' is outside 0-23/],
    ['an unknown month name', 'cron(0 0 1 FOO ? *)', /'FOO' is outside 1-12/],
    ['a zero step', 'cron(0/0 * * * ? *)', /bad step in '0\/0'/],
    ['a date that never exists', 'cron(0 0 31 2 ? *)', /never fires in the next five years/],
    // Probe s19: read as 0 (Number('') is 0) or as a number EventBridge does not take, instead of refused.
    ['a list with a value missing (read as 0,5)', 'cron(,5 * * * ? *)', /a value is missing in ',5'/],
    ['a list ending in a comma', 'cron(0, * * * ? *)', /a value is missing in '0,'/],
    ['a range without its start (read as 0-5)', 'cron(-5 * * * ? *)', /a value is missing in '-5'/],
    ['a number in exponent notation (read as 10)', 'cron(1e1 * * * ? *)', /'1e1' is outside 0-59/],
    ['a hexadecimal number', 'cron(0 0x3 * * ? *)', /'0x3' is outside 0-23/],
    ['a step in exponent notation', 'cron(0/1e1 * * * ? *)', /bad step in '0\/1e1'/],
    ['both day-of-month and day-of-week', 'cron(0 3 * * * *)', /exactly one of day-of-month and day-of-week/],
    ['a day-of-month and a day-of-week (read as both at once)', 'cron(0 3 1 * MON *)', /exactly one of day-of-month and day-of-week/],
    ["'?' in both day fields", 'cron(0 3 ? * ? *)', /exactly one of day-of-month and day-of-week/],
    ["'?' in the minutes", 'cron(? 3 * * ? *)', /'\?' is only for day-of-month or day-of-week, not the minutes/],
  ])('refuses %s with ScheduleExpressionError', (_label, expression, message) => {
    expect(() => nextFireTime(expression, at('2026-03-10T00:00:00.000Z'))).toThrow(ScheduleExpressionError);
    expect(() => nextFireTime(expression, at('2026-03-10T00:00:00.000Z'))).toThrow(message);
  });
});

describe('scheduleInput', () => {
  const nightly: LocalSchedule = { name: 'nightly', schedule: 'cron(0 3 * * ? *)', selector: { functionName: 'approve_loan', lastHours: 24 } };

  it('sends {trigger: "schedule", scheduleName, request: {selector}} and leaves absent options absent', () => {
    expect(scheduleInput(nightly)).toEqual({ trigger: 'schedule', scheduleName: 'nightly', request: { selector: { functionName: 'approve_loan', lastHours: 24 } } });
    expect(Object.keys(scheduleInput(nightly).request)).toEqual(['selector']);
  });

  it('carries mode, maxConcurrency, policyName and tolerance when configured', () => {
    const s: LocalSchedule = { ...nightly, mode: 'Tolerant', maxConcurrency: 20, policyName: 'loan-regression', tolerance: 0.9 };
    expect(scheduleInput(s).request).toEqual({ selector: { functionName: 'approve_loan', lastHours: 24 }, mode: 'Tolerant', maxConcurrency: 20, policyName: 'loan-regression', tolerance: 0.9 });
  });

  it.each([
    ['with defaults', nightly],
    ['with every option', { ...nightly, mode: 'ValidationOnly' as const, maxConcurrency: 5, policyName: 'p', tolerance: 0.5 }],
  ])('is the input the deployed EventBridge target sends (%s)', (_label, s) => {
    expect(scheduleInput(s)).toEqual(scheduledBatchInput(s));
  });
});

describe('LocalScheduler', () => {
  const START = at('2026-03-10T12:00:00.000Z');
  const schedules: LocalSchedule[] = [
    { name: 'nightly', schedule: 'cron(0 3 * * ? *)', selector: { functionName: 'approve_loan', lastHours: 24 }, mode: 'Tolerant' },
    { name: 'hourly', schedule: 'rate(1 hour)', selector: { functionName: 'score_claim', lastHours: 1 } },
  ];

  function controlled() {
    let now = START;
    const fired: { name: string; at: string; input: ReturnType<typeof scheduleInput> }[] = [];
    const scheduler = new LocalScheduler(schedules, (s, when) => fired.push({ name: s.name, at: when.toISOString(), input: scheduleInput(s) }), { now: () => now });
    return { scheduler, fired, set: (iso: string) => (now = at(iso)) };
  }

  it('knows when each schedule fires first: a rate one period after start, a cron at its next time', () => {
    const { scheduler } = controlled();
    expect(scheduler.upcoming()).toEqual({ nightly: '2026-03-11T03:00:00.000Z', hourly: '2026-03-10T13:00:00.000Z' });
  });

  it('fires nothing before a schedule is due', () => {
    const { scheduler, fired, set } = controlled();
    set('2026-03-10T12:59:59.999Z');
    expect(scheduler.tick()).toBe(0);
    expect(fired).toEqual([]);
  });

  it('fires a due schedule once, with the scheduled time and its input, and moves its next fire time on', () => {
    // Arrange
    const { scheduler, fired, set } = controlled();
    set('2026-03-10T13:00:00.000Z');

    // Act
    const count = scheduler.tick();
    const again = scheduler.tick();

    // Assert
    expect([count, again]).toEqual([1, 0]);
    expect(fired).toEqual([{ name: 'hourly', at: '2026-03-10T13:00:00.000Z', input: { trigger: 'schedule', scheduleName: 'hourly', request: { selector: { functionName: 'score_claim', lastHours: 1 } } } }]);
    expect(scheduler.upcoming()).toEqual({ nightly: '2026-03-11T03:00:00.000Z', hourly: '2026-03-10T14:00:00.000Z' });
  });

  it('fires each schedule as it comes due, the cron one with its options', () => {
    const { scheduler, fired, set } = controlled();
    set('2026-03-11T03:00:30.000Z');

    expect(scheduler.tick()).toBe(2);

    expect(fired.map((f) => [f.name, f.at])).toEqual([
      ['nightly', '2026-03-11T03:00:00.000Z'],
      ['hourly', '2026-03-10T13:00:00.000Z'],
    ]);
    expect(fired[0]?.input).toEqual({ trigger: 'schedule', scheduleName: 'nightly', request: { selector: { functionName: 'approve_loan', lastHours: 24 }, mode: 'Tolerant' } });
    // Missed rate periods are not replayed one by one: the next time is the first after now, on the anchor's grid.
    expect(scheduler.upcoming()).toEqual({ nightly: '2026-03-12T03:00:00.000Z', hourly: '2026-03-11T04:00:00.000Z' });
  });

  it('refuses an unsupported expression when it is constructed, not when it would fire', () => {
    expect(() => new LocalScheduler([{ ...schedules[0], name: 'bad', schedule: 'cron(0 0 L * ? *)' } as LocalSchedule], () => undefined, { now: () => START })).toThrow(ScheduleExpressionError);
  });

  describe('across restarts (with a state store)', () => {
    function store(initial: Record<string, ScheduleState> = {}) {
      let saved = structuredClone(initial);
      return { load: () => structuredClone(saved), save: (s: Record<string, ScheduleState>) => void (saved = structuredClone(s)), get saved() { return saved; } };
    }

    it('keeps the phase of a rate schedule and owes a cron run missed while down: one fire at start, logged', () => {
      const state = store();
      new LocalScheduler(schedules, () => undefined, { now: () => START }, { state });
      // Restarted 30 minutes later: still on the first start's grid.
      const again = new LocalScheduler(schedules, () => undefined, { now: () => at('2026-03-10T12:30:00.000Z') }, { state });
      expect(again.upcoming()).toEqual({ nightly: '2026-03-11T03:00:00.000Z', hourly: '2026-03-10T13:00:00.000Z' });

      // Down from 12:30 to the next day 05:30: both are owed, each fires once at start.
      const logs: string[] = [];
      const fired: string[] = [];
      const later = new LocalScheduler(schedules, (sc, when) => fired.push(`${sc.name} ${when.toISOString()}`), { now: () => at('2026-03-11T05:30:00.000Z') }, { state, log: (m) => logs.push(m) });
      expect(later.status().hourly?.missedWhileDown).toEqual({ count: 17, firstDueAt: '2026-03-10T13:00:00.000Z', lastDueAt: '2026-03-11T05:00:00.000Z' });
      expect(later.status().nightly?.missedWhileDown).toEqual({ count: 1, firstDueAt: '2026-03-11T03:00:00.000Z', lastDueAt: '2026-03-11T03:00:00.000Z' });
      expect(logs).toHaveLength(2);
      expect(later.tick()).toBe(2);
      expect(later.tick()).toBe(0);
      expect(fired).toEqual(['nightly 2026-03-11T03:00:00.000Z', 'hourly 2026-03-10T13:00:00.000Z']);
      expect(state.saved).toEqual({ nightly: { since: iso(START), lastFireAt: '2026-03-11T03:00:00.000Z' }, hourly: { since: iso(START), lastFireAt: '2026-03-11T05:00:00.000Z' } });
      expect(later.upcoming()).toEqual({ nightly: '2026-03-12T03:00:00.000Z', hourly: '2026-03-11T06:00:00.000Z' });

      // Restarted right after: nothing owed.
      const after = new LocalScheduler(schedules, () => undefined, { now: () => at('2026-03-11T05:31:00.000Z') }, { state });
      expect(after.tick()).toBe(0);
      expect(after.status().hourly).toEqual({ nextFireAt: '2026-03-11T06:00:00.000Z', lastFireAt: '2026-03-11T05:00:00.000Z' });
    });
  });

  describe('with timers', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('start() arms a timer for the soonest schedule and re-arms after each fire; stop() disarms it', () => {
      vi.useFakeTimers({ now: START });
      const fired: string[] = [];
      const scheduler = new LocalScheduler([{ name: 'minutely', schedule: 'rate(1 minute)', selector: { functionName: 'f', lastHours: 1 } }], (_s, when) => fired.push(when.toISOString()), { now: () => Date.now() });

      scheduler.start();
      vi.advanceTimersByTime(59_999);
      expect(fired).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(fired).toEqual(['2026-03-10T12:01:00.000Z']);
      vi.advanceTimersByTime(60_000);
      expect(fired).toEqual(['2026-03-10T12:01:00.000Z', '2026-03-10T12:02:00.000Z']);

      scheduler.stop();
      vi.advanceTimersByTime(600_000);
      expect(fired).toHaveLength(2);
    });
  });
});
