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
