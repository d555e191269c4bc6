/**
 * README.md's "A tour" says every request and response in it was captured from a real run of
 * `npm start -- --in-memory`. This runs the tour's own ```sh blocks, in order, in one bash session
 * against a real `npm start -- --in-memory` on free ports, and compares what each prints with the
 * output the README shows after it (test/support/readme-tour.ts says what may differ). The README is
 * the only copy of the commands: a drift fails here, naming the README line of the block. Then,
 * in the same session, it runs the CLI transcript of "Use it from your code" command by command
 * (test/support/readme-tour.ts, parseTranscripts) and compares each command's output the same way.
 *
 * Needs bash, curl and python3 (the tour's `pp` helper); .ci/run installs curl when it is missing.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { freePort } from '../support/ports.js';
import { compareOutput, compareTranscript, parseTour, parseTranscripts, Substitutions, type TourItem } from '../support/readme-tour.js';

const ROOT = resolve(import.meta.dirname, '../..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const items: TourItem[] = parseTour(README);
/** "Use it from your code" shows the tour's main steps from a terminal, with the CLI, on the tour's host after the tour. */
const CLI_SECTION = 'Use it from your code';
const transcripts = parseTranscripts(README, CLI_SECTION);
/** The policy file the CLI transcript uses, given inline in the README's prose. */
const POLICY_JSON = /`policy\.json` is `([^`]+)`/.exec(README.split(`## ${CLI_SECTION}`)[1] ?? '')?.[1];

interface Host {
  port: number;
  dynamoPort: number;
  stop(): Promise<void>;
}

/**
 * `npm start -- --in-memory`, as the tour says, on free ports; resolves on its ready line. A port
 * another test file took between freePort() and the host's listen ends the host with "port in
 * use": then it starts again on new ports (three tries).
 */
async function startHost(): Promise<Host> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startHostOn(await freePort(), await freePort(), await freePort());
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('port in use')) throw err;
    }
  }
}

async function startHostOn(port: number, dynamoPort: number, s3Port: number): Promise<Host> {
  // Its own process group, so stopping it reaches npm and the node process npm started.
  const child = spawn('npm', ['start', '--', '--in-memory'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), DYNAMODB_PORT: String(dynamoPort), S3_PORT: String(s3Port), TABLE_NAME: '', MANIFEST_BUCKET: '' },
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
class Bash {
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

const indent = (text: string) => text.split('\n').map((l) => `    ${l}`).join('\n');

describe('README "A tour", run against npm start -- --in-memory', () => {
  let host: Host;
  let bash: Bash;
  let dir: string;
  const subs = new Substitutions();
  /** The README's ports → this host's (and /tmp → the session's folder), in commands and in the outputs the README shows. */
  let ports: (text: string) => string = (t) => t;
  let unports: (text: string) => string = (t) => t;

  beforeAll(async () => {
    for (const tool of ['bash', 'curl', 'python3']) {
      if (spawnSync(tool, ['--version']).error) throw new Error(`the README tour needs '${tool}' on PATH (.ci/run installs curl)`);
    }
    dir = mkdtempSync(join(tmpdir(), 'readme-tour-'));
    // The tour's node one-liners and `npx canonicalize` run "from the repository": give the
    // session the repository's packages.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    host = await startHost();
    const { port, dynamoPort } = host;
    // The README's files under /tmp go to this session's folder, so two runs at once do not share them.
    ports = (t) => t.replaceAll('127.0.0.1:3000', `127.0.0.1:${port}`).replaceAll('127.0.0.1:8000', `127.0.0.1:${dynamoPort}`).replaceAll(' /tmp/', ` ${dir}/`);
    unports = (t) => t.replaceAll(`127.0.0.1:${port}`, '127.0.0.1:3000').replaceAll(`127.0.0.1:${dynamoPort}`, '127.0.0.1:8000');
    bash = new Bash(dir);
  }, 120_000);

  afterAll(async () => {
    bash?.close();
    await host?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  for (const item of items) {
    if (item.kind === 'file') {
      it(`README line ${item.line}: save ${item.name}`, () => {
        writeFileSync(join(dir, item.name), item.content);
      });
      continue;
    }
    const title = `README line ${item.line}: ${item.script.split('\n')[0]?.slice(0, 90) ?? ''}`;
    if (item.mark.kind === 'skip') {
      it.skip(`${title} (${item.mark.reason})`, () => {});
      continue;
    }
    const { mark } = item;
    it(title, async () => {
      const script = ports(subs.apply(item.script));
      const run = await bash.run(script);
      const problems: string[] = [];
      if (run.status !== 0) problems.push(`exit status ${run.status}; stderr:\n${indent(run.stderr)}`);
      if (mark.kind !== 'skip-output' && item.expected.length > 0) {
        const expected = item.expected.map((b) => ({ ...b, text: ports(b.text) }));
        problems.push(...compareOutput(expected, run.stdout, subs, mark.kind === 'ignore' ? { ignore: mark.paths } : {}));
      }
      if (problems.length > 0) {
        const shown = item.expected.map((b) => b.text).join('\n');
        throw new Error(
          [
            `The README's tour block at line ${item.line} no longer matches the host (expected output at line ${item.expected[0]?.line ?? '-'}):`,
            ...problems.map((p) => `  - ${p}`),
            '  command (as run):',
            indent(script),
            '  README shows:',
            indent(shown),
            '  the host printed (its ids put back to the README\'s):',
            indent(unports(subs.revert(run.stdout))),
          ].join('\n'),
        );
      }
    }, 120_000);
  }

  // The CLI transcript: each `$ command` in the same session, after the tour, against the same
  // host. The README shows it as a terminal prints it (tables); piped, the CLI prints JSON unless
  // told `-o table`, so the session's `decision-replay` is the CLI with `-o table` first (a later
  // `-o` in the command still wins). stderr goes where stdout goes, as on a terminal. Each command
  // starts with the previous one's exit status in `$?`, so `$ echo $?` prints it.
  let lastStatus = 0;
  it(`README section "${CLI_SECTION}": the CLI on PATH, DECISION_REPLAY_URL set, policy.json saved`, async () => {
    if (transcripts.length === 0) throw new Error(`README section "${CLI_SECTION}" has no $ transcript`);
    if (POLICY_JSON === undefined) throw new Error(`README section "${CLI_SECTION}" no longer says what policy.json is`);
    writeFileSync(join(dir, 'policy.json'), `${JSON.stringify(JSON.parse(POLICY_JSON))}\n`);
    const setup = await bash.run(
      [`export PATH="${join(ROOT, 'node_modules/.bin')}:$PATH"`, `export DECISION_REPLAY_URL=http://127.0.0.1:${host.port}`, 'decision-replay() { command decision-replay -o table "$@"; }'].join('\n'),
    );
    if (setup.status !== 0) throw new Error(`session setup failed: ${setup.stderr}`);
  });
  for (const step of transcripts.flat()) {
    it(`README line ${step.line}: $ ${step.command.slice(0, 90)}`, async () => {
      const command = ports(subs.apply(step.command));
      const run = await bash.run(`(exit ${lastStatus}); { ${command}\n} 2>&1`);
      lastStatus = run.status;
      const problems = compareTranscript(step.expected.map(ports), run.stdout, subs);
      if (problems.length > 0) {
        throw new Error(
          [
            `The README's CLI transcript at line ${step.line} no longer matches (exit status ${run.status}):`,
            ...problems.map((p) => `  - ${p}`),
            '  command (as run):',
            indent(command),
            '  README shows:',
            indent(step.expected.join('\n')),
            "  the CLI printed (its ids put back to the README's):",
            indent(unports(subs.revert(run.stdout))),
          ].join('\n'),
        );
      }
    }, 120_000);
  }
});
