/**
 * A README section run as a script against a real `npm start -- --in-memory`: the host on free
 * ports, one bash session as a reader's terminal, and each ```sh block of the section (with the
 * output the README shows after it, test/support/readme-tour.ts) as one test. Used by
 * test/e2e/readme-tour.e2e.test.ts ("A tour" and the CLI transcript) and
 * test/e2e/readme-ab.e2e.test.ts (the A/B comparison example), so both sections are run the one way.
 *
 * Needs bash, curl and python3 (the tour's `pp` helper); .ci/run installs curl when it is missing.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { it } from 'vitest';
import { requestWithHeaders } from './http.js';
import { freePort } from './ports.js';
import { compareJson, compareOutput, compareTranscript, ELIDED, markOptions, parseReadmeJson, Substitutions, type Exchange, type TourItem, type TranscriptStep } from './readme-tour.js';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface Host {
  port: number;
  dynamoPort: number;
  /** The local S3's port (a host of `startHost` only). */
  s3Port?: number;
  /** What `npm start` printed so far, stdout and stderr as they came (a host of `startHost` only). */
  output?: () => string;
  stop(): Promise<void>;
}

/**
 * `npm start -- --in-memory`, as the tour says, on free ports; resolves on its ready line. A port
 * another test file took between freePort() and the host's listen ends the host with "port in
 * use": then it starts again on new ports (three tries). `args` replaces `--in-memory` (`[]` for a
 * host on `DATA_DIR`); a start that fails rejects with everything the host printed.
 */
export async function startHost(env: Record<string, string> = {}, args: readonly string[] = ['--in-memory']): Promise<Host> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startHostOn(await freePort(), await freePort(), await freePort(), env, args);
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('port in use')) throw err;
    }
  }
}

async function startHostOn(port: number, dynamoPort: number, s3Port: number, env: Record<string, string>, args: readonly string[]): Promise<Host> {
  // Its own process group, so stopping it reaches npm and the node process npm started.
  const child = spawn('npm', ['start', ...(args.length > 0 ? ['--', ...args] : [])], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), DYNAMODB_PORT: String(dynamoPort), S3_PORT: String(s3Port), TABLE_NAME: '', MANIFEST_BUCKET: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`npm start printed no ready line within 60 s:\n${output}`)), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
      if (output.includes(`decision-replay listening on http://127.0.0.1:${port}\n`)) {
        clearTimeout(timer);
        ready();
      }
    });
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`npm start exited before it was ready:\n${output}`));
    });
  });
  return {
    port,
    dynamoPort,
    s3Port,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    },
  };
}

/**
 * One bash session, as a reader's terminal: each block is sourced from a file (stdin stays free
 * for the session), so variables and functions (`pp`, `S1=…`) carry over to later blocks.
 */
export class Bash {
  private readonly child: ChildProcessWithoutNullStreams;
  private stdout = '';
  private stderr = '';
  private count = 0;

  constructor(private readonly cwd: string) {
    this.child = spawn('bash', ['--noprofile', '--norc'], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? cwd,
        TMPDIR: cwd,
        LANG: 'C.UTF-8',
        PYTHONIOENCODING: 'utf-8',
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
        NO_COLOR: '1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout.on('data', (c: Buffer) => (this.stdout += c.toString('utf8')));
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString('utf8')));
  }

  /** Runs `script` to its end: what it printed, and the exit status of its last command. */
  async run(script: string): Promise<{ stdout: string; stderr: string; status: number }> {
    const n = ++this.count;
    const file = join(this.cwd, `.tour-block-${n}.sh`);
    writeFileSync(file, `${script}\n`);
    const done = `__tour_block_${n}_done__`;
    this.stdout = '';
    this.stderr = '';
    this.child.stdin.write(`source ${file} </dev/null; printf '\\n${done} %d\\n' $?; printf '\\n${done}\\n' >&2\n`);
    const sentinel = new RegExp(`\\n${done} (\\d+)\\n$`);
    // A hang guard only (a block that never returns), far above any block's real duration.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const m = sentinel.exec(this.stdout);
      if (m && this.stderr.endsWith(`\n${done}\n`)) {
        return { stdout: this.stdout.slice(0, m.index), stderr: this.stderr.slice(0, -`\n${done}\n`.length), status: Number(m[1]) };
      }
      if (this.child.exitCode !== null) throw new Error(`the bash session exited (${this.child.exitCode}); stderr:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`block did not finish within 120 s; printed so far:\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

export const indent = (text: string) => text.split('\n').map((l) => `    ${l}`).join('\n');

/**
 * One README section's session: its host, its bash session in a folder of its own, and the ids
 * learned so far ({@link Substitutions}). `ports` maps the README's ports (and /tmp) to this
 * host's in commands and shown outputs; `unports` maps a real output back for a failure message.
 */
export class ReadmeSession {
  host!: Host;
  bash!: Bash;
  dir!: string;
  readonly subs = new Substitutions();
  ports: (text: string) => string = (t) => t;
  unports: (text: string) => string = (t) => t;

  /**
   * `env`: more of the host's environment, as a README's `NAME=value npm start` gives it.
   * `options.host` starts another host instead of `npm start` (the local host in this process, for
   * an example that needs what only a test can do to it: a clock it sets, an execution stopped
   * from outside the API); `options.readmePort` is the API port the README's example shows (3000).
   */
  async start(env: Record<string, string> = {}, options: { host?: () => Promise<Host>; readmePort?: number } = {}): Promise<void> {
    for (const tool of ['bash', 'curl', 'python3']) {
      if (spawnSync(tool, ['--version']).error) throw new Error(`the README's commands need '${tool}' on PATH (.ci/run installs curl)`);
    }
    this.dir = mkdtempSync(join(tmpdir(), 'readme-tour-'));
    // The README's node one-liners, `npx decision-replay` and `npx canonicalize` run "from the
    // repository": give the session the repository's packages.
    symlinkSync(join(ROOT, 'node_modules'), join(this.dir, 'node_modules'));
    this.host = await (options.host ?? (() => startHost(env)))();
    const { port, dynamoPort } = this.host;
    const dir = this.dir;
    const shown = `127.0.0.1:${options.readmePort ?? 3000}`;
    // The README's files under /tmp go to this session's folder, so two runs at once do not share them.
    this.ports = (t) => t.replaceAll(shown, `127.0.0.1:${port}`).replaceAll('127.0.0.1:8000', `127.0.0.1:${dynamoPort}`).replaceAll(' /tmp/', ` ${dir}/`);
    this.unports = (t) => t.replaceAll(`127.0.0.1:${port}`, shown).replaceAll(`127.0.0.1:${dynamoPort}`, '127.0.0.1:8000');
    this.bash = new Bash(this.dir);
  }

  /**
   * `decision-replay` in the session is this repository's CLI (client/bin), printing as it does
   * when piped, with DECISION_REPLAY_URL set to the host.
   */
  async useCli(): Promise<void> {
    const setup = await this.bash.run(
      [`export DECISION_REPLAY_URL=http://127.0.0.1:${this.host.port}`, `decision-replay() { node '${join(ROOT, 'client/bin/decision-replay.js')}' "$@"; }`].join('\n'),
    );
    if (setup.status !== 0) throw new Error(`session setup failed: ${setup.stderr}`);
  }

  async stop(): Promise<void> {
    this.bash?.close();
    await this.host?.stop();
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One test per item of a README section, in order, in `session`: a file the prose asks to save is
 * saved (the README's host in it mapped to this one, as in a command); a command runs in the
 * session's bash and must exit 0, and what it prints must match the output shown after it (unless
 * its mark says otherwise). A failure names the README line.
 */
export function tourTests(session: ReadmeSession, items: readonly TourItem[], what: string): void {
  for (const item of items) {
    if (item.kind === 'file') {
      it(`README line ${item.line}: save ${item.name}`, () => {
        // A file names the README's host as its commands do (`http://127.0.0.1:3000`): this host.
        writeFileSync(join(session.dir, item.name), session.ports(item.content));
      });
      continue;
    }
    if (item.kind === 'transcript') {
      // A terminal transcript in the tour (```console): its commands in the same session, in order.
      transcriptTests(session, item.steps, `${what} transcript`);
      continue;
    }
    const title = `README line ${item.line}: ${item.script.split('\n')[0]?.slice(0, 90) ?? ''}`;
    if (item.mark.kind === 'skip') {
      it.skip(`${title} (${item.mark.reason})`, () => {});
      continue;
    }
    const { mark } = item;
    it(title, async () => {
      const script = session.ports(session.subs.apply(item.script));
      const run = await session.bash.run(script);
      const problems: string[] = [];
      if (run.status !== 0) problems.push(`exit status ${run.status}; stderr:\n${indent(run.stderr)}`);
      if (mark.kind !== 'skip-output' && item.expected.length > 0) {
        const expected = item.expected.map((b) => ({ ...b, text: session.ports(b.text) }));
        problems.push(...compareOutput(expected, run.stdout, session.subs, markOptions(mark)));
      }
      if (problems.length > 0) {
        const shown = item.expected.map((b) => b.text).join('\n');
        throw new Error(
          [
            `The README's ${what} block at line ${item.line} no longer matches the host (expected output at line ${item.expected[0]?.line ?? '-'}):`,
            ...problems.map((p) => `  - ${p}`),
            '  command (as run):',
            indent(script),
            '  README shows:',
            indent(shown),
            "  the host printed (its ids put back to the README's):",
            indent(session.unports(session.subs.revert(run.stdout))),
          ].join('\n'),
        );
      }
    }, 120_000);
  }
}

/**
 * One test per `$ command` of a README transcript, in order, in `session`: each runs in the
 * session's bash with the previous command's exit status in `$?` (so `$ echo $?` prints it), its
 * stderr where its stdout goes (as a terminal shows both), and what it printed must be the lines
 * the README shows after it ({@link compareTranscript}).
 */
export function transcriptTests(session: ReadmeSession, steps: readonly TranscriptStep[], what: string): void {
  let lastStatus = 0;
  for (const step of steps) {
    it(`README line ${step.line}: $ ${step.command.split('\n')[0]?.slice(0, 90) ?? ''}`, async () => {
      const command = session.ports(session.subs.apply(step.command));
      // A transcript may end a command's output with the line `exit N` without echoing it itself:
      // that line is the command's exit status, so it is printed after the command and compared.
      const showsExit = !step.command.includes('$?') && /^exit \d+$/.test(step.expected.findLast((l) => l.trim() !== '') ?? '');
      const run = await session.bash.run(`(exit ${lastStatus}); { ${command}\n} 2>&1${showsExit ? '; echo "exit $?"' : ''}`);
      lastStatus = run.status;
      const problems = compareTranscript(step.expected.map(session.ports), run.stdout, session.subs, markOptions(step.mark ?? { kind: 'compare' }));
      if (problems.length > 0) {
        throw new Error(
          [
            `The README's ${what} at line ${step.line} no longer matches (exit status ${run.status}):`,
            ...problems.map((p) => `  - ${p}`),
            '  command (as run):',
            indent(command),
            '  README shows:',
            indent(step.expected.join('\n')),
            "  it printed (its ids put back to the README's):",
            indent(session.unports(session.subs.revert(run.stdout))),
          ].join('\n'),
        );
      }
    }, 120_000);
  }
}

/**
 * One test per README exchange (`METHOD /path [body]` and the `STATUS body` it got), in order,
 * against `session`'s host: the request is sent as shown (ids the session learned put in), and the
 * answer's status and body must be the README's (JSON compared as in the tour, with the block
 * mark's options). A request body that elides (`{…, "context": {…}, …}`) is completed by
 * `complete`: the test says what the `…` stood for, the README's keys are sent as shown.
 */
export function exchangeTests(session: ReadmeSession, exchanges: readonly Exchange[], what: string, complete: (exchange: Exchange) => Record<string, unknown> = () => ({})): void {
  for (const ex of exchanges) {
    it(`README line ${ex.line}: ${ex.method} ${ex.path} → ${ex.status}`, async () => {
      const path = session.subs.apply(ex.path);
      let body: string | undefined;
      if (ex.body !== undefined) {
        const shown = parseReadmeJson(session.subs.apply(ex.body)) as Record<string, unknown>;
        const elided = ELIDED in shown;
        // Own keys as shown, `__proto__` included (JSON.parse makes it an own key; so does spread).
        const sent: Record<string, unknown> = elided ? { ...complete(ex), ...shown } : shown;
        delete sent[ELIDED];
        body = JSON.stringify(sent);
      }
      // The answer is checked against the host's OpenAPI document too (test/support/http.ts).
      const res = await requestWithHeaders(`http://127.0.0.1:${session.host.port}`, ex.method, path, body);
      const text = res.text;
      const problems: string[] = [];
      if (res.status !== ex.status) problems.push(`status: expected ${ex.status}, got ${res.status}`);
      let got: unknown;
      try {
        got = JSON.parse(text);
      } catch {
        problems.push(`the answer is not JSON: ${text.slice(0, 200)}`);
      }
      if (got !== undefined) problems.push(...compareJson(parseReadmeJson(ex.response), got, session.subs, markOptions(ex.mark)));
      if (problems.length > 0) {
        throw new Error(
          [
            `The README's ${what} at line ${ex.line} no longer matches the host:`,
            ...problems.map((p) => `  - ${p}`),
            `  request (as sent): ${ex.method} ${path} ${body ?? ''}`,
            '  README shows:',
            indent(`${ex.status} ${ex.response}`),
            "  the host answered (its ids put back to the README's):",
            indent(`${res.status} ${session.subs.revert(text)}`),
          ].join('\n'),
        );
      }
    }, 60_000);
  }
}
