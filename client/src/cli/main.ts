/**
 * `decision-replay`: finds the command in the registry, parses its flags and the global ones,
 * builds the client, runs the command and maps what it throws to the shared exit codes.
 */
import { parseArgs } from 'node:util';
import { DecisionReplayClient, DEFAULT_ENDPOINT } from '../client.js';
import { DecisionReplayError, DecisionReplayValidationError } from '../errors.js';
import { choiceFlag, EXIT, EXIT_CODES_HELP, GLOBAL_OPTIONS, Output, UsageError, type CliIo, type Command, type CommandGroup, type ExitCode, type OptionSpec } from './framework.js';
import { COMMAND_GROUPS } from './registry.js';
import { terminalSafe, terminalSafeJson, terminalSafeLines } from './table.js';

const BIN = 'decision-replay';
const COMMANDS: readonly Command[] = COMMAND_GROUPS.flatMap((g) => g.commands);

/** Runs the CLI on `argv` (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const words = commandWords(argv);
  const command = findCommand(words);
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (!command) {
    const group = COMMAND_GROUPS.find((g) => g.name !== '' && g.name === words[0]);
    if (group) {
      if (wantsHelp) return print(io.stdout, groupHelp(group), EXIT.OK);
      const sub = words[1];
      return usageError(io, sub === undefined ? `'${group.name}' needs a subcommand: ${group.commands.map((c) => c.name.at(-1)).join(', ')}` : `unknown command '${group.name} ${sub}'`, group.name);
    }
    if (words.length === 0) {
      if (wantsHelp) return print(io.stdout, topHelp(), EXIT.OK);
      // Flags and no command: name the flag that is not a global one (`--version`, a command's
      // flag before its command), as every other usage error does, not the whole help.
      let unknown: string | undefined;
      for (let i = 0; i < argv.length && unknown === undefined; i++) {
        const token = argv[i] as string;
        if (token === '--') break;
        const global = globalOptionOf(token);
        if (global === undefined) unknown = token;
        else if (GLOBAL_OPTIONS[global]?.type === 'string' && !token.includes('=')) i++;
      }
      return usageError(io, unknown !== undefined ? `unknown option '${unknown}'` : 'no command given');
    }
    return usageError(io, `unknown command '${words[0] ?? ''}'`);
  }

  const name = command.name.join(' ');
  let positionals: string[];
  let values: Record<string, string | boolean | string[] | undefined>;
  const rest = withoutWords(argv, command.name);
  const options = toParseArgs(optionsOf(command));
  try {
    const equals = shortOptionWithEquals(rest, options);
    if (equals !== undefined) throw new UsageError(equals);
    const parsed = parseArgs({ args: rest, options, strict: true, allowPositionals: true, tokens: true });
    ({ positionals, values } = parsed as { positionals: string[]; values: Record<string, string | boolean | string[] | undefined> });
    // A flag that takes one value, given twice with different values: parseArgs keeps the last,
    // so `--limit 2 --limit 3` or `--function a --function b` would quietly ask for one of them.
    const seen = new Map<string, string>();
    for (const token of parsed.tokens) {
      if (token.kind !== 'option' || token.value === undefined || options[token.name]?.multiple === true) continue;
      const before = seen.get(token.name);
      if (before !== undefined && before !== token.value) throw new UsageError(`--${token.name} is given twice ('${before}' and '${token.value}'); give it once`);
      seen.set(token.name, token.value);
    }
  } catch (err) {
    return usageError(io, err instanceof UsageError ? err.message : parseArgsProblem(err, rest, options), name);
  }
  if (values.help === true) return print(io.stdout, commandHelp(command), EXIT.OK);
  const { min, max } = command.positionals;
  if (positionals.length < min || positionals.length > max) {
    const expected = min === max ? `${min}` : `${min} to ${max}`;
    return usageError(io, `'${name}' takes ${expected} argument${max === 1 ? '' : 's'} (${command.args ?? 'none'}), got ${positionals.length}${positionals.length > max ? `: unexpected '${positionals[max] ?? ''}'` : ''}`, name);
  }

  try {
    const output = choiceFlag('output', values.output as string | undefined, ['json', 'table'] as const) ?? (io.stdout.isTTY === true ? 'table' : 'json');
    const endpoint = (values.endpoint as string | undefined) ?? nonEmpty(io.env.DECISION_REPLAY_URL) ?? DEFAULT_ENDPOINT;
    const region = (values.region as string | undefined) ?? undefined;
    const timeoutMs = attemptTimeoutMs(values.timeout as string | undefined, io.env.DECISION_REPLAY_TIMEOUT);
    const maxResponseBytes = responseLimitBytes(values['max-response-mb'] as string | undefined, io.env.DECISION_REPLAY_MAX_RESPONSE_MB);
    let client: DecisionReplayClient;
    try {
      client = new DecisionReplayClient({ endpoint, ...(region !== undefined && { region }), ...(timeoutMs !== undefined && { timeoutMs }), ...(maxResponseBytes !== undefined && { maxResponseBytes }) });
    } catch (err) {
      // One line naming where the value came from: --help has nothing to add about a bad endpoint.
      const source = values.endpoint !== undefined ? '--endpoint' : nonEmpty(io.env.DECISION_REPLAY_URL) !== undefined ? 'DECISION_REPLAY_URL' : 'endpoint';
      if (err instanceof DecisionReplayValidationError && optionIssue(err) === 'endpoint') return configError(io, `${source}: ${err.message}`);
      throw new UsageError((err as Error).message);
    }
    const globals = { endpoint, region, output, quiet: values.quiet === true };
    const code = await command.run({ client, out: new Output(io, output, globals.quiet), io, globals }, { positionals, values });
    return code ?? EXIT.OK;
  } catch (err) {
    if (err instanceof UsageError) return usageError(io, err.message, name);
    if (err instanceof DecisionReplayValidationError) return usageError(io, err.message, name);
    if (err instanceof DecisionReplayError) {
      const where = err.status === 0 ? '' : ` (HTTP ${err.status})`;
      // The code, message and details are the service's (or whatever answered at the endpoint):
      // shown, with their control characters escaped, never obeyed by the terminal.
      const details = err.details === undefined ? '' : `\n${terminalSafeJson(JSON.stringify(err.details, null, 2))}`;
      io.stderr.write(`${BIN}: ${terminalSafe(err.code)}${where}: ${terminalSafeLines(err.message)}${details}\n`);
      return EXIT.SERVICE;
    }
    io.stderr.write(`${BIN}: ${terminalSafeLines(err instanceof Error ? err.message : String(err))}\n`);
    return EXIT.SERVICE;
  }
}

/** The process entry (bin/decision-replay.js). */
export async function runCli(): Promise<void> {
  // `decision-replay … | head`: once the reader has gone, writes fail with EPIPE, which Node
  // raises as an 'error' event that would crash with a stack trace. Output nobody reads is
  // dropped quietly; the command still finishes and exits with its own code (a gate piped into
  // `head` must not pass because its summary went unread).
  // Any other write failure (a full disk behind a redirect) makes a successful run exit 3.
  let lostOutput = false;
  const onWriteError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') lostOutput = true;
  };
  for (const stream of [process.stdout, process.stderr]) stream.on('error', onWriteError);
  const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() });
  process.exitCode = lostOutput && code === EXIT.OK ? EXIT.SERVICE : code;
}

/** Longest time limit of one attempt: a day (setTimeout's own limit is ~24.8 days). */
const MAX_TIMEOUT_SECONDS = 86_400;

/**
 * `--timeout SECONDS` (else DECISION_REPLAY_TIMEOUT) in ms, undefined for the client's default. A
 * limit that is not a positive number of seconds is a usage error naming where it came from.
 */
function attemptTimeoutMs(flag: string | undefined, env: string | undefined): number | undefined {
  const [source, text] = flag !== undefined ? ['--timeout', flag] : env !== undefined && env !== '' ? ['DECISION_REPLAY_TIMEOUT', env] : [undefined, undefined];
  if (source === undefined) return undefined;
  const seconds = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds > 0 && seconds <= MAX_TIMEOUT_SECONDS)) throw new UsageError(`${source}: '${terminalSafe(text)}' is not a time limit; give seconds, more than 0 and at most ${MAX_TIMEOUT_SECONDS} (for example 5 or 0.5)`);
  return Math.max(1, Math.round(seconds * 1000));
}

/**
 * Largest answer the CLI reads: 512 MiB, about V8's longest string (an answer is decoded into one
 * before it is parsed).
 */
const MAX_RESPONSE_MIB = 512;

/**
 * `--max-response-mb MIB` (else DECISION_REPLAY_MAX_RESPONSE_MB) in bytes, undefined for the
 * client's default (64 MiB). A limit that is not a positive number of MiB is a usage error naming
 * where it came from.
 */
function responseLimitBytes(flag: string | undefined, env: string | undefined): number | undefined {
  const [source, text] = flag !== undefined ? ['--max-response-mb', flag] : env !== undefined && env !== '' ? ['DECISION_REPLAY_MAX_RESPONSE_MB', env] : [undefined, undefined];
  if (source === undefined) return undefined;
  const mib = /^\s*\d+(\.\d+)?\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(mib > 0 && mib <= MAX_RESPONSE_MIB)) throw new UsageError(`${source}: '${terminalSafe(text)}' is not a size; give MiB, more than 0 and at most ${MAX_RESPONSE_MIB} (for example 64 or 0.5)`);
  return Math.max(1, Math.round(mib * 1048576));
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** The leading words of argv that are not flags (skipping the values of the global string flags). */
/** The global option a flag token names (`--endpoint`, `--endpoint=URL`, `-o`), if it is one. */
function globalOptionOf(token: string): string | undefined {
  const long = token.startsWith('--') ? token.slice(2).split('=')[0] : Object.keys(GLOBAL_OPTIONS).find((k) => GLOBAL_OPTIONS[k]?.short === token.slice(1));
  return long !== undefined && GLOBAL_OPTIONS[long] !== undefined ? long : undefined;
}

function commandWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 3; i++) {
    const token = argv[i] as string;
    if (token === '--') break;
    if (token.startsWith('-')) {
      const long = token.startsWith('--') ? token.slice(2) : Object.keys(GLOBAL_OPTIONS).find((k) => GLOBAL_OPTIONS[k]?.short === token.slice(1));
      if (long !== undefined && !long.includes('=') && GLOBAL_OPTIONS[long]?.type === 'string') i++;
      if (GLOBAL_OPTIONS[long ?? ''] === undefined) break; // a command's own flag: the words are over
      continue;
    }
    words.push(token);
  }
  return words;
}

/** The longest command whose words start `words`. */
function findCommand(words: readonly string[]): Command | undefined {
  let best: Command | undefined;
  for (const c of COMMANDS) {
    if (c.name.every((w, i) => words[i] === w) && (!best || c.name.length > best.name.length)) best = c;
  }
  return best;
}

/** argv without the first occurrence of each of the command's words, in order. */
function withoutWords(argv: readonly string[], name: readonly string[]): string[] {
  const rest = [...argv];
  let from = 0;
  for (const word of name) {
    const at = rest.indexOf(word, from);
    rest.splice(at, 1);
    from = at;
  }
  return rest;
}

/**
 * The global flags and the command's own. A command flag that claims a global flag's short letter
 * takes it (`report batch <id> -o report.html`); the global flag keeps its long form.
 */
export function optionsOf(command: Command): Record<string, OptionSpec> {
  const own = command.options ?? {};
  const claimed = new Set(Object.values(own).map((o) => o.short));
  const globals: Record<string, OptionSpec> = {};
  for (const [k, o] of Object.entries(GLOBAL_OPTIONS)) {
    if (o.short !== undefined && claimed.has(o.short) && !(k in own)) {
      const { short: _short, ...rest } = o;
      globals[k] = rest;
    } else globals[k] = o;
  }
  return { ...globals, ...own };
}

function toParseArgs(options: Record<string, OptionSpec>) {
  const out: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [k, o] of Object.entries(options)) out[k] = { type: o.type, ...(o.short !== undefined && { short: o.short }), ...(o.multiple === true && { multiple: true }) };
  return out;
}

function print(stream: CliIo['stdout'], text: string, code: ExitCode): ExitCode {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
  return code;
}

/** The option a constructor's {@link DecisionReplayValidationError} names (its one issue's path). */
function optionIssue(err: DecisionReplayValidationError): string | undefined {
  const issues = (err.details as { issues?: Array<{ path?: unknown }> } | undefined)?.issues;
  return issues?.length === 1 && typeof issues[0]?.path === 'string' ? issues[0].path : undefined;
}

/** A usage error in the CLI's configuration (not the command line's shape): one line, exit 2. */
function configError(io: CliIo, message: string): ExitCode {
  io.stderr.write(`${BIN}: ${terminalSafe(message)}\n`);
  return EXIT.USAGE;
}

/** A usage error: one line naming the problem, and where the help is; exit 2. */
function usageError(io: CliIo, message: string, command?: string): ExitCode {
  io.stderr.write(`${BIN}: ${terminalSafe(message)} (see '${BIN} ${command ? `${command} ` : ''}--help')\n`);
  return EXIT.USAGE;
}

type ParseArgsOptions = ReturnType<typeof toParseArgs>;

/**
 * What is wrong with a `-x=value` argument, if there is one. parseArgs reads `-q=yes` as the
 * cluster of flags -q -= -y -e -s ("unknown option '-='"), and `-f=name` as -f with the value
 * '=name': neither is what was meant, so either is named here, with the forms that work.
 */
function shortOptionWithEquals(args: readonly string[], options: ParseArgsOptions): string | undefined {
  const takesValue = (arg: string | undefined): boolean => {
    const long = arg !== undefined && /^--([^=]+)$/.exec(arg);
    const short = arg !== undefined && /^-([^-])$/.exec(arg);
    const name = long ? long[1] : short ? Object.entries(options).find(([, o]) => o.short === short[1])?.[0] : undefined;
    return name !== undefined && options[name]?.type === 'string';
  };
  for (const [i, arg] of args.entries()) {
    if (arg === '--') return undefined;
    const m = /^-([^-])[^=]*=(.*)$/s.exec(arg);
    // The value of the option before it (parseArgs names that case itself).
    if (m === null || takesValue(args[i - 1])) continue;
    const letter = m[1] as string;
    const name = Object.entries(options).find(([, o]) => o.short === letter)?.[0];
    if (name === undefined) return `unknown option '-${letter}' in '${arg}'`;
    const rest = `a short option takes no '=': `;
    if (options[name]?.type === 'boolean') return `'${arg}': ${rest}-${letter} (--${name}) is a flag and takes no value; write -${letter} alone`;
    return `'${arg}': ${rest}write -${letter} ${m[2] ?? ''} or --${name}=${m[2] ?? ''}`;
  }
  return undefined;
}

/**
 * What is wrong with a command line that node:util's parseArgs refused, in the CLI's words (its
 * own messages run over lines and suggest its syntax): the first option it would have refused,
 * found by reading the same tokens without its checks.
 */
function parseArgsProblem(err: unknown, args: readonly string[], options: ParseArgsOptions): string {
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = options[token.name];
    if (spec === undefined) return `unknown option '${token.rawName}'`;
    if (spec.type === 'boolean' && token.value !== undefined) return `${token.rawName} takes no value, got '${token.value}'`;
    if (spec.type === 'string' && token.value === undefined) return `${token.rawName} needs a value`;
    if (spec.type === 'string' && token.inlineValue !== true && token.value?.startsWith('-') === true) {
      // The long form: `-f=-x` would be read as a cluster of short flags (see shortOptionWithEquals).
      return `${token.rawName} needs a value; '${token.value}' after it is taken for an option (if it is the value, write --${token.name}=${token.value})`;
    }
  }
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

// ------------------------------------------------------------------------------------------------
// Help, generated from the declarations.

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([k, o]) => [`${o.short !== undefined ? `-${o.short}, ` : '    '}--${k}${o.value !== undefined ? ` ${o.value}` : ''}`, o.description] as const);
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, d]) => `  ${l.padEnd(width)}  ${d}`);
}

function usageLine(c: Command): string {
  return `${BIN} ${c.name.join(' ')}${c.args !== undefined ? ` ${c.args}` : ''}${c.options && Object.keys(c.options).length > 0 ? ' [options]' : ''}`;
}

function commandList(commands: readonly Command[]): string[] {
  const rows = commands.map((c) => [`${c.name.join(' ')}${c.args !== undefined ? ` ${c.args}` : ''}`, c.summary] as const);
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, s]) => `  ${l.padEnd(width)}  ${s}`);
}

function topHelp(): string {
  return [
    `Usage: ${BIN} <command> [options]`,
    '',
    'Record decisions, replay them against a new model, diff and validate them, and gate releases on batch replays.',
    '',
    'Commands:',
    ...commandList(COMMANDS),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    EXIT_CODES_HELP,
    '',
    `Run '${BIN} <command> --help' for a command's options.`,
  ].join('\n');
}

function groupHelp(group: CommandGroup): string {
  return [`Usage: ${BIN} ${group.name} <command> [options]`, '', group.summary, '', 'Commands:', ...commandList(group.commands), '', EXIT_CODES_HELP].join('\n');
}

function commandHelp(c: Command): string {
  return [
    `Usage: ${usageLine(c)}`,
    '',
    c.summary,
    ...(c.options && Object.keys(c.options).length > 0 ? ['', 'Options:', ...optionLines(c.options)] : []),
    '',
    'Global options:',
    ...optionLines(Object.fromEntries(Object.keys(GLOBAL_OPTIONS).map((k) => [k, optionsOf(c)[k] ?? (GLOBAL_OPTIONS[k] as OptionSpec)]))),
    ...(c.details !== undefined ? ['', c.details] : []),
    '',
    EXIT_CODES_HELP,
  ].join('\n');
}
