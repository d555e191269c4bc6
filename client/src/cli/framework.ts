/**
 * The CLI's small framework: commands declared as data, parsed with node:util `parseArgs`, one
 * output path (JSON or a table), and the exit codes every command shares.
 *
 * A command group is one module in `commands/` exporting a {@link CommandGroup}; the registry
 * (`registry.ts`) lists the groups. See registry.ts for how to add one.
 */
import type { DecisionReplayClient } from '../client.js';
import { DecisionReplayValidationError } from '../errors.js';
import { FUNCTION_NAME_RULE, FunctionNameSchema } from '../../../functions/core/snapshot.js';
import { SCHEDULE_NAME, SCHEDULE_NAME_RULE } from '../../../functions/core/schedule-name.js';
import { withoutByteOrderMark } from '../../../functions/core/byte-order-mark.js';
import { terminalSafe, terminalSafeJson, terminalSafeLines } from './table.js';

/** Exit codes, the same for every command (shown in `--help` and the README). */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** A result the user asked to gate on failed (replay not Success, validation violated, batch gates, batch FAILED, audit findings, a tampered snapshot read). */
  GATED: 1,
  /** Usage error: a bad flag or value, named in the message. */
  USAGE: 2,
  /** The service answered an error, or could not be reached. */
  SERVICE: 3,
  /** Nothing was checked: `verify` over a range where no digest window is sealed. Not a pass (0), not a finding (1). */
  UNVERIFIED: 4,
  /** Only part was checked: `verify` found nothing in the sealed part of a range whose end is not sealed yet. Not a pass, not a finding. */
  PARTIAL: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  a gated failure: a replay that is not Success, a violated validation, a batch below
     --min-match-rate or above --max-error-rate, a batch that ended FAILED or CANCELLED,
     a comparison whose verdict is worse under --fail-if-worse,
     a verify with any finding, a snapshot read (get) or diff that is TAMPERED
  2  usage error (the message names the bad flag or value)
  3  service or network error
  4  verify checked nothing: no digest window in the range is sealed
  5  verify found nothing in the sealed part, but the end of the range is not sealed yet`;

/** A usage error: exit 2 with a message naming the flag or value. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** Placeholder for the value in help (`--limit N`). */
  value?: string;
  description: string;
  multiple?: boolean;
}

/** Values of parsed options, by long name. */
export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandInput {
  positionals: string[];
  values: OptionValues;
}

/** What a command runs with. */
export interface CommandContext {
  /** The client for the endpoint, region and signing chosen by the global flags. */
  client: DecisionReplayClient;
  out: Output;
  io: CliIo;
  globals: GlobalOptions;
}

export interface Command {
  /** The words that invoke it: `['record']`, `['batch', 'run']`. */
  name: readonly string[];
  summary: string;
  /** The positional part of the usage line, e.g. `<snapshotId>`. */
  args?: string;
  /** How many positionals it takes. */
  positionals: { min: number; max: number };
  options?: Readonly<Record<string, OptionSpec>>;
  /** More help text, after the options. */
  details?: string;
  /** Runs the command; returns its exit code (0 when nothing is returned). */
  run(ctx: CommandContext, input: CommandInput): Promise<ExitCode | void>;
}

export interface CommandGroup {
  /** For `decision-replay <group> --help`; empty for top-level commands. */
  name: string;
  summary: string;
  commands: readonly Command[];
}

/** The process around the CLI, injectable for tests. */
export interface CliIo {
  stdout: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  stdin: NodeJS.ReadableStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export interface GlobalOptions {
  endpoint: string;
  region: string | undefined;
  output: 'json' | 'table';
  quiet: boolean;
}

/** Flags every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  endpoint: { type: 'string', value: 'URL', description: 'API base URL (else env DECISION_REPLAY_URL, else http://127.0.0.1:3000); execute-api URLs are signed with SigV4' },
  region: { type: 'string', value: 'REGION', description: 'AWS region for SigV4 (default: from the execute-api URL, else AWS_REGION)' },
  timeout: { type: 'string', value: 'SECONDS', description: 'time limit of each attempt of a request (else env DECISION_REPLAY_TIMEOUT, else 30); each retry gets the same limit' },
  'max-response-mb': { type: 'string', value: 'MIB', description: 'largest answer body to read, in MiB (else env DECISION_REPLAY_MAX_RESPONSE_MB, else 64); a larger one fails with RESPONSE_TOO_LARGE' },
  output: { type: 'string', short: 'o', value: 'json|table', description: 'output format (default: table on a terminal, json otherwise)' },
  quiet: { type: 'boolean', short: 'q', description: 'print only the essential result (an id) and no progress' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
};

/** Renders results as JSON or as a table, honouring --quiet. */
export class Output {
  constructor(
    private readonly io: CliIo,
    readonly format: 'json' | 'table',
    readonly quiet: boolean,
  ) {}

  /**
   * Prints a command's result: JSON, or `table(value)` when the format is table. With --quiet only
   * `essential` (e.g. the new id, or a page's ids, one per line) is printed, or nothing. Whatever
   * came from the service is shown, never obeyed: control characters in it (escape sequences stored
   * in a snapshot's values) are printed escaped, in every format ({@link terminalSafe}).
   */
  result<T>(value: T, table: (value: T) => string, essential?: string | readonly string[]): void {
    if (this.quiet) {
      // A list's essentials (a page's ids) one per line, each escaped on its own: escaping them
      // joined would print their line breaks as a literal \n.
      if (typeof essential === 'string') this.io.stdout.write(`${terminalSafe(essential)}\n`);
      else if (essential !== undefined) for (const line of essential) this.io.stdout.write(`${terminalSafe(line)}\n`);
      return;
    }
    this.io.stdout.write(this.format === 'json' ? `${terminalSafeJson(JSON.stringify(value, null, 2))}\n` : ensureNewline(terminalSafeLines(table(value))));
  }

  /**
   * Prints every item of a list followed page after page (`--all`) as the pages arrive, so neither
   * the items nor the text of a long list are held at once: JSON item by item, in the very text
   * `result({items})` prints; --quiet one `essential` per line. A table needs every row for its
   * column widths, so it is printed at the end. An error part way leaves what was printed (the
   * exit code says it failed).
   */
  async list<T>(items: AsyncIterable<T>, table: (items: T[]) => string, essential: (item: T) => string): Promise<void> {
    if (this.quiet) {
      for await (const item of items) this.io.stdout.write(`${terminalSafe(essential(item))}\n`);
      return;
    }
    if (this.format === 'table') {
      const all: T[] = [];
      for await (const item of items) all.push(item);
      this.io.stdout.write(ensureNewline(terminalSafeLines(table(all))));
      return;
    }
    let first = true;
    this.io.stdout.write('{\n  "items": [');
    for await (const item of items) {
      this.io.stdout.write(`${first ? '' : ','}\n    ${terminalSafeJson(JSON.stringify(item, null, 2)).replace(/\n/g, '\n    ')}`);
      first = false;
    }
    this.io.stdout.write(first ? ']\n}\n' : '\n  ]\n}\n');
  }

  /** An informational line on stderr (never with --quiet). */
  info(line: string): void {
    if (!this.quiet) this.io.stderr.write(`${terminalSafeLines(line)}\n`);
  }

  /** A warning on stderr that goes with a non-zero exit: printed whatever the format, even with --quiet. */
  warn(line: string): void {
    this.io.stderr.write(`decision-replay: ${terminalSafeLines(line)}\n`);
  }
}

function ensureNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`;
}

// ------------------------------------------------------------------------------------------------
// Value parsers: each throws a UsageError naming the flag.

/** An integer flag within [min, max]. */
export function intFlag(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got '${value}'`);
  return Number(value);
}

/**
 * A function name, checked as the service checks it (FunctionNameSchema), so a typo is a usage
 * error before anything is sent rather than the service's 400 (exit 3). `what`: the flag
 * (`--function`) or the argument (`<functionName>`) it came in.
 */
export function functionNameValue(what: string, value: string): string {
  if (!FunctionNameSchema.safeParse(value).success) throw new UsageError(`${what} must be a function name (${FUNCTION_NAME_RULE}), got '${value}'`);
  return value;
}

/** A function name flag (see {@link functionNameValue}); undefined when absent. */
export function functionFlag(flag: string, value: string | undefined): string | undefined {
  return value === undefined ? undefined : functionNameValue(`--${flag}`, value);
}

/** A schedule name flag, checked as the service checks `scheduleName`; undefined when absent. */
export function scheduleFlag(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && !SCHEDULE_NAME.test(value)) throw new UsageError(`--${flag} must be a schedule's name (${SCHEDULE_NAME_RULE}), got '${value}'`);
  return value;
}

/** A rate flag: a fraction 0..1 (`0.95`) or a percentage (`95%`). */
export function rateFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const percent = value.endsWith('%');
  const n = Number(percent ? value.slice(0, -1) : value);
  const rate = percent ? n / 100 : n;
  if (value.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1) throw new UsageError(`--${flag} must be a fraction from 0 to 1 (or a percentage such as 95%), got '${value}'`);
  return rate;
}

/** A number flag within [min, max]. */
export function numberFlag(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${flag} must be a number from ${min} to ${max}, got '${value}'`);
  return n;
}

/** One of a fixed set of values. */
export function choiceFlag<T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

/** An ISO-8601 date or date-time, normalised to UTC. */
export function instantFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const day = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  // Date.parse rolls a day the calendar does not have over into the next month (2026-02-30 is
  // 2026-03-02): such a date is refused, as the service refuses it, not silently moved.
  const real = day !== null && new Date(new Date(0).setUTCFullYear(Number(day[1]), Number(day[2]) - 1, Number(day[3]))).toISOString().startsWith(`${day[1]}-${day[2]}-${day[3]}`);
  const ms = real ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new UsageError(`--${flag} must be an ISO-8601 date or date-time such as 2026-11-26T10:00:00Z, got '${value}'`);
  return new Date(ms).toISOString();
}

/** A duration such as `90m`, `24h`, `7d`, `2w`, in hours. */
export function durationHoursFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)([mhdw])$/.exec(value);
  const hours = m ? Number(m[1]) * { m: 1 / 60, h: 1, d: 24, w: 168 }[m[2] as 'm' | 'h' | 'd' | 'w'] : NaN;
  if (!(hours > 0)) throw new UsageError(`--${flag} must be a duration such as 90m, 24h, 7d or 2w, got '${value}'`);
  return hours;
}

/** Requires a string option. */
export function requiredFlag(flag: string, value: string | boolean | string[] | undefined): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${flag} is required`);
  return value;
}

/** A string option's value (undefined when absent). */
export function str(values: OptionValues, flag: string): string | undefined {
  const v = values[flag];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Reads a JSON document from a file, or stdin for `-`. A missing file or malformed JSON is a usage
 * error naming the argument.
 */
export async function readJsonArg(io: CliIo, what: string, file: string): Promise<unknown> {
  const read = await readTextArg(io, what, file, JSON_ARG_MAX_BYTES);
  // A UTF-8 byte-order mark (Notepad, PowerShell's UTF-8 files) is ignored, as the service ignores it (RFC 8259 §8.1).
  const text = withoutByteOrderMark(read);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${what} ${file === '-' ? '(stdin)' : `'${file}'`} is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The most a JSON document given as a file (a snapshot, a policy, an executor) is read: far more
 * than any request body the service takes (1 MiB; 4 MiB for a batch), so that `record /dev/zero`
 * or a mistaken multi-gigabyte file is refused after 16 MiB, not read until memory runs out.
 */
export const JSON_ARG_MAX_BYTES = 16 * 1024 * 1024;

/** Reads a text file, or stdin for `-`; beyond `maxBytes` it stops reading and says so. */
export async function readTextArg(io: CliIo, what: string, file: string, maxBytes = Number.POSITIVE_INFINITY): Promise<string> {
  const named = file === '-' ? `${what} (stdin)` : `${what} '${file}'`;
  const chunks: Buffer[] = [];
  let size = 0;
  const readAll = async (source: AsyncIterable<unknown>) => {
    for await (const chunk of source) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += bytes.length;
      if (size > maxBytes) {
        throw new UsageError(`${named} is larger than ${maxBytes / (1024 * 1024)} MiB; the service takes request bodies of at most 1 MiB (4 MiB for a batch), so nothing was sent`);
      }
      chunks.push(bytes);
    }
  };
  if (file === '-') {
    await readAll(io.stdin);
    return Buffer.concat(chunks).toString('utf8');
  }
  const { createReadStream } = await import('node:fs');
  const { resolve } = await import('node:path');
  try {
    await readAll(createReadStream(resolve(io.cwd, file)));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${what} '${file}': ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Rethrows a client-side request validation as a usage error (the input the user gave is wrong). */
export function asUsage<T>(fn: () => Promise<T>): Promise<T> {
  return fn().catch((err: unknown) => {
    if (err instanceof DecisionReplayValidationError) throw new UsageError(err.message);
    throw err;
  });
}
