/**
 * CLI test helpers: run `decision-replay` in-process (its `main` with captured streams, a chosen
 * TTY-ness and environment) or as a real process through its bin, and collect exit code and output.
 */
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../client/src/cli/main.js';
import { withCheckedFetch } from './http.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Environment (default: none, so DECISION_REPLAY_URL of the machine does not leak in). */
  env?: Record<string, string>;
  /** Text on stdin. */
  stdin?: string;
  /** Pretend stdout/stderr are terminals. */
  tty?: boolean;
  cwd?: string;
}

/** The endpoint a CLI run talks to, as the CLI picks it: `--endpoint`, else DECISION_REPLAY_URL. */
function endpointOf(args: readonly string[], env: Record<string, string>): string | undefined {
  const flag = args.indexOf('--endpoint');
  const value = flag >= 0 ? args[flag + 1] : (args.find((a) => a.startsWith('--endpoint='))?.slice('--endpoint='.length) ?? env.DECISION_REPLAY_URL);
  return value !== undefined && /^https?:\/\//.test(value) ? value : undefined;
}

/** Runs the CLI in this process; every answer it gets from the host is checked against the host's OpenAPI document. */
export async function cli(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  const endpoint = endpointOf(args, options.env ?? {});
  return endpoint === undefined ? runCli(args, options) : withCheckedFetch(endpoint, () => runCli(args, options));
}

/**
 * Runs the CLI in this process without checking its answers against the host's OpenAPI document:
 * for endpoints that are not the host (a fake service, a silent server, another service's page).
 */
export async function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const tty = options.tty ?? false;
  const code = await main(args, {
    stdout: { write: (s: string) => (stdout += s), isTTY: tty, columns: 100 },
    stderr: { write: (s: string) => (stderr += s), isTTY: tty, columns: 100 },
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
  });
  return { code, stdout, stderr };
}

/** The bin of the client package, as `npx decision-replay` runs it at the repository root. */
export const CLI_BIN = fileURLToPath(new URL('../../client/bin/decision-replay.js', import.meta.url));

/** Runs the CLI as a process (through its bin), stdout and stderr piped (not a TTY). */
export function cliProcess(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

/** A loopback URL nothing listens on: a port the OS handed out and that was closed again. */
export async function unreachableUrl(): Promise<string> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
