/**
 * Local stand-in for the EventBridge schedules: the same schedule configuration (cdk.json context
 * `schedules`) fires the batch state machine with the same input the deployed rule sends.
 *
 * Expressions: `rate(<n> minute|minutes|hour|hours|day|days)` (first fire one period after the
 * schedule was first seen, as EventBridge does for a new rule) and `cron(min hour day-of-month month day-of-week year)` in UTC
 * with `*`, `?`, numbers, names (JAN-DEC, SUN-SAT), ranges, lists and steps. The `L`, `W` and `#`
 * forms are refused at start-up rather than misread.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { scheduledExecutionInput, type ScheduleSpec } from '../api/batch-tasks.js';
import { IsoInstantSchema } from '../core/instant.js';

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

/** The forms EventBridge reads and the local scheduler does not: `L`, `W` and `#` (once the month and day names are set aside). */
const hasAwsOnlyForm = (field: string) => /[LW#]/.test(field.replace(/[A-Z]{3}/gi, ''));

function parseField(expr: string, field: string, min: number, max: number, names?: string[], offset = 0): FieldSet {
  if (field === '*') return 'any';
  if (hasAwsOnlyForm(field)) throw new ScheduleExpressionError(expr, `'${field}' (L, W and # forms) is not supported by the local scheduler`);
  // Digits or a name only: Number() would read '' as 0 (so ',5' as '0,5' and '-5' as '0-5') and
  // take '1e1' or '0x1' as 10 and 1, where EventBridge refuses the expression.
  const value = (token: string): number => {
    if (token === '') throw new ScheduleExpressionError(expr, `a value is missing in '${field}'`);
    const named = names?.indexOf(token.toUpperCase()) ?? -1;
    const n = named >= 0 ? named + offset : /^\d{1,4}$/.test(token) ? Number(token) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw new ScheduleExpressionError(expr, `'${token}' is outside ${min}-${max}`);
    return n;
  };
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText, ...extra] = part.split('/');
    const step = stepText === undefined ? 1 : /^\d{1,4}$/.test(stepText) ? Number(stepText) : NaN;
    if (extra.length > 0 || !Number.isInteger(step) || step < 1) throw new ScheduleExpressionError(expr, `bad step in '${part}'`);
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = min;
      hi = max;
    } else if (range.includes('-')) {
      const [a = '', b = '', ...more] = range.split('-');
      if (more.length > 0) throw new ScheduleExpressionError(expr, `bad range '${range}'`);
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

/** A cron expression's six fields, in EventBridge's order. */
interface CronFields {
  minutes: FieldSet;
  hours: FieldSet;
  days: FieldSet;
  months: FieldSet;
  weekdays: FieldSet;
  years: FieldSet;
}

/**
 * Reads an EventBridge `cron(…)` as EventBridge does: `?` only in day-of-month or day-of-week, and
 * in exactly one of them (EventBridge refuses both, or neither, rather than read them as both or
 * either). With `awsOnlyForms: 'skip'`, a field in the `L`, `W` or `#` forms, which the deployed
 * rule reads and the local scheduler does not, is left unread (what the CDK context checks);
 * otherwise it is refused.
 */
function parseCron(expression: string, awsOnlyForms: 'refuse' | 'skip' = 'refuse'): CronFields {
  const cron = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/.exec(expression);
  if (!cron) throw new ScheduleExpressionError(expression, 'expected rate(<n> <unit>) or cron(<6 fields>)');
  const [, mi = '', h = '', dom = '', mon = '', dow = '', yr = ''] = cron;
  for (const [name, text] of [['minutes', mi], ['hours', h], ['month', mon], ['year', yr]] as const) {
    if (text === '?') throw new ScheduleExpressionError(expression, `'?' is only for day-of-month or day-of-week, not the ${name}`);
  }
  const field = (text: string, min: number, max: number, names?: string[], offset?: number): FieldSet =>
    text === '?' || (awsOnlyForms === 'skip' && hasAwsOnlyForm(text)) ? 'any' : parseField(expression, text, min, max, names, offset);
  const fields = {
    minutes: field(mi, 0, 59),
    hours: field(h, 0, 23),
    days: field(dom, 1, 31),
    months: field(mon, 1, 12, MONTHS, 1),
    weekdays: field(dow, 1, 7, DAYS, 1),
    years: field(yr, 1970, 2199),
  };
  if ((dom === '?') === (dow === '?')) {
    throw new ScheduleExpressionError(expression, "give '?' in exactly one of day-of-month and day-of-week (EventBridge refuses both and neither)");
  }
  return fields;
}

/**
 * Why EventBridge would refuse a schedule expression, or undefined when it reads it: what the CDK
 * context checks at synth, so an expression the deployed rule or the local scheduler cannot read
 * is named there rather than at deploy or at `npm start`. (`L`, `W` and `#` pass here: the deployed
 * rule reads them, the local scheduler refuses them when it starts.)
 */
export function scheduleExpressionProblem(expression: string): string | undefined {
  if (!expression.startsWith('cron(')) return undefined;
  try {
    parseCron(expression, 'skip');
    return undefined;
  } catch (err) {
    if (err instanceof ScheduleExpressionError) return err.message;
    throw err;
  }
}

/** The next fire time strictly after `afterMs` (epoch ms). */
export function nextFireTime(expression: string, afterMs: number, anchorMs = afterMs): number {
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression);
  if (rate) {
    const period = Number(rate[1]) * (UNIT_MS[rate[2] as string] as number);
    if (period <= 0) throw new ScheduleExpressionError(expression, 'the period must be positive');
    const elapsed = Math.max(0, afterMs - anchorMs);
    return anchorMs + (Math.floor(elapsed / period) + 1) * period;
  }
  const { minutes, hours, days, months, weekdays, years } = parseCron(expression);
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

/** What the scheduler keeps of a schedule across restarts of the host. */
export interface ScheduleState {
  /** When the host first ran with this schedule: the phase of a rate schedule that never fired. */
  since: string;
  /** The scheduled time of its last run (the phase of a rate schedule from then on). */
  lastFireAt?: string;
}

/** Port: where schedule states are kept (DATA_DIR/schedules.json; none in memory). */
export interface ScheduleStateStore {
  load(): Record<string, ScheduleState>;
  save(states: Record<string, ScheduleState>): void;
}

/** Schedule states in one JSON file, replaced whole (written aside, then renamed over it). */
export class FileScheduleStateStore implements ScheduleStateStore {
  constructor(private readonly path: string) {}

  load(): Record<string, ScheduleState> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`${this.path} is not a schedule state file (not JSON: ${(err as Error).message}); move it aside to start the schedules afresh`, { cause: err });
    }
    const parsed = ScheduleStatesSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${this.path} is not a schedule state file (${parsed.error.issues.map((i) => i.message).join('; ')}); move it aside to start the schedules afresh`);
    return parsed.data;
  }

  save(states: Record<string, ScheduleState>): void {
    const aside = `${this.path}.${process.pid}.tmp`;
    writeFileSync(aside, JSON.stringify(states, null, 2) + '\n');
    renameSync(aside, this.path);
  }
}

const ScheduleStatesSchema = z.record(z.string(), z.strictObject({ since: IsoInstantSchema, lastFireAt: z.optional(IsoInstantSchema) }));

/** A schedule's runs that came due while the host was down, as found at start. */
export interface MissedRuns {
  /** How many scheduled times passed (one run fires for all of them). */
  count: number;
  firstDueAt: string;
  lastDueAt: string;
}

/** What `GET /_local/schedules` shows of a schedule besides its configuration. */
export interface ScheduleStatus {
  nextFireAt: string;
  lastFireAt: string | null;
  /** Present when runs came due while the host was down: one of them fired (or fires) at start. */
  missedWhileDown?: MissedRuns;
}

/** Most scheduled times counted when reporting missed runs (a minutely cron over a long downtime). */
const MAX_COUNTED_MISSES = 100_000;

/** The scheduled times from `first` (due) up to `now`: how many, and the last of them. */
function dueBy(expression: string, first: number, now: number, anchor: number): { count: number; last: number } {
  let count = 1;
  let last = first;
  for (let t = nextFireTime(expression, first, anchor); t <= now && count < MAX_COUNTED_MISSES; t = nextFireTime(expression, t, anchor)) {
    count += 1;
    last = t;
  }
  return { count, last };
}

/**
 * Fires each schedule at its times. `tick()` fires whatever is due at the clock's now (tests drive
 * it with a controlled clock); `start()` also arms a timer for the next fire.
 *
 * With a state store (the host's DATA_DIR), a schedule keeps its phase across restarts: a rate
 * schedule counts its periods from its last run (or from when it was first seen), not from each
 * start, and a run that came due while the host was down fires once at start (not once per missed
 * time), as `missedWhileDown` says. Without one (`--in-memory`), every start is a first start.
 */
export class LocalScheduler {
  private readonly next = new Map<string, number>();
  private readonly anchors = new Map<string, number>();
  private readonly states: Record<string, ScheduleState> = {};
  private readonly missed = new Map<string, MissedRuns>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly schedules: readonly LocalSchedule[],
    private readonly fire: (schedule: LocalSchedule, at: Date) => void,
    private readonly clock: SchedulerClock,
    private readonly options: { state?: ScheduleStateStore; log?: (message: string) => void } = {},
  ) {
    const now = clock.now();
    const saved = options.state?.load() ?? {};
    for (const s of schedules) {
      const prev = saved[s.name];
      const state: ScheduleState = prev ?? { since: new Date(now).toISOString() };
      const anchor = Date.parse(state.lastFireAt ?? state.since);
      const due = nextFireTime(s.schedule, anchor, anchor);
      this.anchors.set(s.name, anchor);
      this.states[s.name] = state;
      this.next.set(s.name, due);
      if (due <= now) {
        const { count, last } = dueBy(s.schedule, due, now, anchor);
        const missed = { count, firstDueAt: new Date(due).toISOString(), lastDueAt: new Date(last).toISOString() };
        this.missed.set(s.name, missed);
        options.log?.(
          `schedule ${s.name} (${s.schedule}): ${count === 1 ? `its run due at ${missed.firstDueAt} came` : `${count}${count === MAX_COUNTED_MISSES ? ' or more' : ''} runs (due ${missed.firstDueAt} to ${missed.lastDueAt}) came`} due while the host was down (last run ${state.lastFireAt ?? 'never'}); firing one now`,
        );
      }
    }
    options.state?.save(this.states);
  }

  /** When each schedule fires next (epoch ms). */
  upcoming(): Record<string, string> {
    return Object.fromEntries([...this.next].map(([name, at]) => [name, new Date(at).toISOString()]));
  }

  /** Each schedule's next and last run, and the runs it missed while the host was down. */
  status(): Record<string, ScheduleStatus> {
    return Object.fromEntries(
      this.schedules.map((s) => {
        const missed = this.missed.get(s.name);
        return [s.name, { nextFireAt: new Date(this.next.get(s.name) as number).toISOString(), lastFireAt: this.states[s.name]?.lastFireAt ?? null, ...(missed && { missedWhileDown: missed }) }];
      }),
    );
  }

  /** Fires every schedule due by now; returns how many fired. */
  tick(): number {
    const now = this.clock.now();
    let fired = 0;
    for (const s of this.schedules) {
      const at = this.next.get(s.name) as number;
      if (at > now) continue;
      this.next.set(s.name, nextFireTime(s.schedule, now, this.anchors.get(s.name) as number));
      // Kept before the run starts: a host that stops right after does not fire it again. One run
      // stands for every time due by now (the last of them is kept: the next start owes none of them).
      (this.states[s.name] as ScheduleState).lastFireAt = new Date(dueBy(s.schedule, at, now, this.anchors.get(s.name) as number).last).toISOString();
      this.options.state?.save(this.states);
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
