/**
 * Local stand-in for the EventBridge schedules: the same schedule configuration (cdk.json context
 * `schedules`) fires the batch state machine with the same input the deployed rule sends.
 *
 * Expressions: `rate(<n> minute|minutes|hour|hours|day|days)` (first fire one period after start, as
 * EventBridge does for a new rule) and `cron(min hour day-of-month month day-of-week year)` in UTC
 * with `*`, `?`, numbers, names (JAN-DEC, SUN-SAT), ranges, lists and steps. The `L`, `W` and `#`
 * forms are refused at start-up rather than misread.
 */
import { scheduledExecutionInput, type ScheduleSpec } from '../api/batch-tasks.js';

/** One scheduled regression replay, as configured in the CDK context. */
export type LocalSchedule = ScheduleSpec & { schedule: string };

/** The execution input a schedule sends (the same function builds the deployed EventBridge target's). */
export const scheduleInput = (s: LocalSchedule) => scheduledExecutionInput(s);

const UNIT_MS: Record<string, number> = { minute: 60_000, minutes: 60_000, hour: 3_600_000, hours: 3_600_000, day: 86_400_000, days: 86_400_000 };
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

export class ScheduleExpressionError extends Error {
  constructor(expression: string, reason: string) {
    super(`schedule expression '${expression}': ${reason}`);
    this.name = 'ScheduleExpressionError';
  }
}

type FieldSet = Set<number> | 'any';

function parseField(expr: string, field: string, min: number, max: number, names?: string[], offset = 0): FieldSet {
  if (field === '*' || field === '?') return 'any';
  if (/[LW#]/.test(field.replace(/[A-Z]{3}/g, ''))) throw new ScheduleExpressionError(expr, `'${field}' (L, W and # forms) is not supported by the local scheduler`);
  const value = (token: string): number => {
    const upper = token.toUpperCase();
    const named = names?.indexOf(upper) ?? -1;
    const n = named >= 0 ? named + offset : Number(token);
    if (!Number.isInteger(n) || n < min || n > max) throw new ScheduleExpressionError(expr, `'${token}' is outside ${min}-${max}`);
    return n;
  };
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new ScheduleExpressionError(expr, `bad step in '${part}'`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = min;
      hi = max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      lo = value(a);
      hi = value(b);
    } else {
      lo = value(range);
      hi = stepText === undefined ? lo : max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

const has = (set: FieldSet, v: number) => set === 'any' || set.has(v);

/** The next fire time strictly after `afterMs` (epoch ms). */
export function nextFireTime(expression: string, afterMs: number, anchorMs = afterMs): number {
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression);
  if (rate) {
    const period = Number(rate[1]) * (UNIT_MS[rate[2] as string] as number);
    if (period <= 0) throw new ScheduleExpressionError(expression, 'the period must be positive');
    const elapsed = Math.max(0, afterMs - anchorMs);
    return anchorMs + (Math.floor(elapsed / period) + 1) * period;
  }
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression);
  if (!cron) throw new ScheduleExpressionError(expression, 'expected rate(<n> <unit>) or cron(<6 fields>)');
  const [, mi = '', h = '', dom = '', mon = '', dow = '', yr = ''] = cron;
  const minutes = parseField(expression, mi, 0, 59);
  const hours = parseField(expression, h, 0, 23);
  const days = parseField(expression, dom, 1, 31);
  const months = parseField(expression, mon, 1, 12, MONTHS, 1);
  const weekdays = parseField(expression, dow, 1, 7, DAYS, 1);
  const years = parseField(expression, yr, 1970, 2199);
  const t = new Date(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
  const limit = afterMs + 5 * 366 * 86_400_000;
  while (t.getTime() <= limit) {
    if (!has(years, t.getUTCFullYear()) || !has(months, t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!has(days, t.getUTCDate()) || !has(weekdays, t.getUTCDay() + 1)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!has(hours, t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (has(minutes, t.getUTCMinutes())) return t.getTime();
    t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
  }
  throw new ScheduleExpressionError(expression, 'never fires in the next five years');
}

export interface SchedulerClock {
  now(): number;
}

/**
 * Fires each schedule at its times. `tick()` fires whatever is due at the clock's now (tests drive
 * it with a controlled clock); `start()` also arms a timer for the next fire.
 */
export class LocalScheduler {
  private readonly next = new Map<string, number>();
  private readonly anchor: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly schedules: readonly LocalSchedule[],
    private readonly fire: (schedule: LocalSchedule, at: Date) => void,
    private readonly clock: SchedulerClock,
  ) {
    this.anchor = clock.now();
    for (const s of schedules) this.next.set(s.name, nextFireTime(s.schedule, this.anchor, this.anchor));
  }

  /** When each schedule fires next (epoch ms). */
  upcoming(): Record<string, string> {
    return Object.fromEntries([...this.next].map(([name, at]) => [name, new Date(at).toISOString()]));
  }

  /** Fires every schedule due by now; returns how many fired. */
  tick(): number {
    const now = this.clock.now();
    let fired = 0;
    for (const s of this.schedules) {
      const at = this.next.get(s.name) as number;
      if (at > now) continue;
      this.next.set(s.name, nextFireTime(s.schedule, now, this.anchor));
      this.fire(s, new Date(at));
      fired += 1;
    }
    return fired;
  }

  start(): void {
    this.stop();
    if (this.schedules.length === 0) return;
    const soonest = Math.min(...this.next.values());
    const delay = Math.min(Math.max(0, soonest - this.clock.now()), 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      this.tick();
      this.start();
    }, delay);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
