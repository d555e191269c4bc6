/**
 * Careless inputs the CLI must name as usage errors (exit 2) before sending anything, instead of
 * failing as a network error after every retry, or quietly asking for something else.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { DecisionReplayClient, DecisionReplayValidationError } from '../../client/src/index.js';

describe('CLI inputs refused before sending', () => {
  let server: Server;
  let endpoint: string;
  const requests: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"items":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const decision = JSON.stringify({ functionName: 'f', inputs: [{ name: 'a', value: 1 }], outputs: [{ name: 'b', value: 2 }] });

  it('reads a JSON document that starts with a UTF-8 byte-order mark (as the service does), and still names one that is not JSON', async () => {
    // It was exit 2 "'-' … is not valid JSON: Unexpected token '\uFEFF'" before anything was sent.
    requests.length = 0;
    const ok = await runCli(['record', '-', '--endpoint', endpoint], { stdin: `\uFEFF${decision}` });
    expect(ok.stderr).not.toContain('not valid JSON');
    expect(requests).toEqual(['POST /snapshots']);
    const bad = await runCli(['record', '-', '--endpoint', endpoint], { stdin: '\uFEFF{"functionName":' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not valid JSON');
  });

  it('names an --idempotency-key no header can carry (a line break, a space, non-ASCII): exit 2, not NETWORK_ERROR after 4 attempts', async () => {
    for (const key of ['a\nb', 'with space', 'clé', '']) {
      requests.length = 0;
      const r = await runCli(['record', '-', '--idempotency-key', key, '--endpoint', endpoint], { stdin: decision });

      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('invalid Idempotency-Key');
      expect(r.stderr).not.toContain('NETWORK_ERROR');
      expect(requests).toEqual([]);
    }
  });

  it('refuses an endpoint with a query, a fragment or credentials, which every route path would be appended after', async () => {
    for (const bad of [`${endpoint}?stage=prod`, `${endpoint}#x`, `${endpoint}?`, endpoint.replace('http://', 'http://user:pw@')]) {
      requests.length = 0;
      const r = await runCli(['list', '--function', 'f', '--endpoint', bad]);

      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^decision-replay: --endpoint: invalid endpoint ".*": (has a (query|fragment)|holds a user name)/);
      expect(requests).toEqual([]);
    }
    expect(() => new DecisionReplayClient({ endpoint: `${endpoint}?x=1` })).toThrow(DecisionReplayValidationError);
    // A base path (an API Gateway stage) is still fine.
    const fine = await runCli(['list', '--function', 'f', '--endpoint', `${endpoint}/prod`]);
    expect(fine.code, fine.stderr).toBe(0);
    expect(requests.at(-1)).toBe('GET /prod/snapshots?functionName=f');
  });

  it("refuses an endpoint that is no http(s) URL with the client's usage error, naming the option, the value and what it expects", () => {
    for (const [bad, hint] of [
      ['localhost:3000', /; did you mean http:\/\/localhost:3000\?$/],
      ['127.0.0.1:3000', /; did you mean http:\/\/127\.0\.0\.1:3000\?$/],
      ['ftp://x', /: its scheme is ftp:, expected/],
      ['http://', /: expected an http:\/\/ or https:\/\/ URL with a host/],
      ['', /: expected an http:\/\/ or https:\/\/ URL/],
      ['http://host/path?query', /: has a query \(\?\); give the service's base URL/],
    ] as const) {
      let thrown: unknown;
      try {
        new DecisionReplayClient({ endpoint: bad });
      } catch (err) {
        thrown = err;
      }
      expect(thrown, bad).toBeInstanceOf(DecisionReplayValidationError);
      const err = thrown as DecisionReplayValidationError;
      expect(err).toMatchObject({ status: 0, code: 'INVALID_REQUEST', details: { issues: [{ path: 'endpoint' }] } });
      expect(err.message.startsWith(`invalid endpoint ${JSON.stringify(bad)}: `), err.message).toBe(true);
      expect(err.message).toMatch(/http:\/\/ or https:\/\/|base URL/);
      expect(err.message).toMatch(hint);
    }
  });

  it('keeps the path of an endpoint (an API Gateway stage) as the prefix of every route, and drops trailing slashes', async () => {
    const calls: string[] = [];
    const fetch = (url: string | URL | Request) => {
      calls.push(String(url));
      return Promise.resolve(new Response('{"items":[]}', { headers: { 'content-type': 'application/json' } }));
    };
    for (const given of ['http://127.0.0.1:9/prod', 'http://127.0.0.1:9/prod/', 'http://127.0.0.1:9/prod//', 'HTTP://127.0.0.1:9/prod']) {
      const client = new DecisionReplayClient({ endpoint: given, fetch });
      expect(client.endpoint, given).toBe('http://127.0.0.1:9/prod');
      await client.listSnapshots({ functionName: 'f' });
      expect(calls.at(-1), given).toBe('http://127.0.0.1:9/prod/snapshots?functionName=f');
    }
    expect(new DecisionReplayClient({ endpoint: 'http://127.0.0.1:3000/' }).endpoint).toBe('http://127.0.0.1:3000');
  });

  it('names a bad --endpoint or DECISION_REPLAY_URL in one line, exit 2, sending nothing', async () => {
    requests.length = 0;
    const flag = await runCli(['list', '--function', 'f', '--endpoint', 'localhost:3000']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe(`decision-replay: --endpoint: invalid endpoint "localhost:3000": expected an http:// or https:// URL with a host, such as http://127.0.0.1:3000 or https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod; did you mean http://localhost:3000?\n`);
    const env = await runCli(['list', '--function', 'f'], { env: { DECISION_REPLAY_URL: 'ftp://x' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/^decision-replay: DECISION_REPLAY_URL: invalid endpoint "ftp:\/\/x": its scheme is ftp:, expected an http:\/\/ or https:\/\/ URL with a host, [^\n]*\n$/);
    expect(requests).toEqual([]);
  });

  it('refuses a --from or --to the calendar does not have, rather than roll it into the next month', async () => {
    requests.length = 0;
    const r = await runCli(['list', '--function', 'f', '--from', '2026-02-30', '--endpoint', endpoint]);
    const leap = await runCli(['list', '--function', 'f', '--from', '2024-02-29', '--to', '2024-03-01T00:00:00Z', '--endpoint', endpoint]);

    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--from must be an ISO-8601 date or date-time such as 2026-11-26T10:00:00Z, got '2026-02-30'");
    expect(leap.code, leap.stderr).toBe(0);
    expect(requests).toEqual(['GET /snapshots?functionName=f&from=2024-02-29T00%3A00%3A00.000Z&to=2024-03-01T00%3A00%3A00.000Z']);
  });

  it('names a list --from after --to as a usage error before sending; one instant for both ends is a range', async () => {
    requests.length = 0;
    const r = await runCli(['list', '--function', 'f', '--from', '2026-12-02', '--to', '2026-12-01', '--endpoint', endpoint]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('--from (2026-12-02T00:00:00.000Z) must not be after --to (2026-12-01T00:00:00.000Z)');
    expect(requests).toEqual([]);
    const same = await runCli(['list', '--function', 'f', '--from', '2026-12-01', '--to', '2026-12-01T00:00:00Z', '--endpoint', endpoint]);
    expect(same.code, same.stderr).toBe(0);
    expect(requests).toHaveLength(1);
  });
  it('names a flag given without a command (--version, a command flag before its command), not the whole help', async () => {
    requests.length = 0;
    for (const [args, message] of [
      [['--version'], "unknown option '--version'"],
      [['--bogus', 'list', '--function', 'f'], "unknown option '--bogus'"],
      [['--endpoint', endpoint, '--frob'], "unknown option '--frob'"],
      [['--timeout', '5', '-o', 'json'], 'no command given'],
    ] as const) {
      const r = await runCli([...args]);
      expect(r, args.join(' ')).toEqual({ code: 2, stdout: '', stderr: `decision-replay: ${message} (see 'decision-replay --help')\n` });
    }
    expect(requests).toEqual([]);
    // No arguments at all is one line too (exit 2); --help shows the help on stdout, exit 0.
    expect(await runCli([])).toEqual({ code: 2, stdout: '', stderr: "decision-replay: no command given (see 'decision-replay --help')\n" });
    expect(await runCli(['--help'])).toMatchObject({ code: 0, stderr: '', stdout: expect.stringContaining('Usage: decision-replay <command> [options]') as unknown });
  });
  it('says what is wrong with a command line in one line, naming the option, the argument or the value, exit 2', async () => {
    requests.length = 0;
    for (const [args, message] of [
      [['list', '--bogus', '--function', 'f'], "unknown option '--bogus' (see 'decision-replay list --help')"],
      [['list', '-Z', '--function', 'f'], "unknown option '-Z' (see 'decision-replay list --help')"],
      [['list', '--function'], "--function needs a value (see 'decision-replay list --help')"],
      [['list', '--function', 'f', '--quiet=yes'], "--quiet takes no value, got 'yes' (see 'decision-replay list --help')"],
      [['get', '--timeout', '-1', 'x'], "--timeout needs a value; '-1' after it is taken for an option (if it is the value, write --timeout=-1) (see 'decision-replay get --help')"],
      [['list', '--function', '--quiet'], "--function needs a value; '--quiet' after it is taken for an option (if it is the value, write --function=--quiet) (see 'decision-replay list --help')"],
      [['get'], "'get' takes 1 argument (<snapshotId>), got 0 (see 'decision-replay get --help')"],
      [['batch'], "'batch' needs a subcommand: run, get, list, cancel, compare (see 'decision-replay batch --help')"],
      [['batch', 'frob'], "unknown command 'batch frob' (see 'decision-replay batch --help')"],
      [['replay', 'x', '--mode', 'Fuzzy'], "--mode must be one of Strict, Tolerant, ValidationOnly, got 'Fuzzy' (see 'decision-replay replay --help')"],
      [['list', '--function', 'f', '--limit', 'lots'], "--limit must be an integer from 1 to 1000, got 'lots' (see 'decision-replay list --help')"],
    ] as const) {
      const r = await runCli(['--endpoint', endpoint, ...args]);
      expect(r, args.join(' ')).toEqual({ code: 2, stdout: '', stderr: `decision-replay: ${message}\n` });
    }
    expect(requests).toEqual([]);
  });
  it('checks a function name itself (usage error, exit 2, nothing sent) instead of passing on the service\'s 400 as exit 3', async () => {
    requests.length = 0;
    const rule = 'must be a function name (letters, digits, _ . : -, starting with a letter or digit, at most 200 characters)';
    for (const [args, message] of [
      [['list', '--function', 'bad fn!'], `--function ${rule}, got 'bad fn!' (see 'decision-replay list --help')`],
      [['list', '-f', '_leading'], `--function ${rule}, got '_leading' (see 'decision-replay list --help')`],
      [['batch', 'run', '--function', 'a/b'], `--function ${rule}, got 'a/b' (see 'decision-replay batch run --help')`],
      [['batch', 'list', '--function', 'a b'], `--function ${rule}, got 'a b' (see 'decision-replay batch list --help')`],
      [['export', '--function', 'x'.repeat(201), '--from', '2026-12-01', '--to', '2026-12-02', '-o', 'out'], `--function ${rule}, got '${'x'.repeat(201)}' (see 'decision-replay export --help')`],
      [['verify', '--function', 'é', '--from', '2026-12-01', '--to', '2026-12-02'], `--function ${rule}, got 'é' (see 'decision-replay verify --help')`],
      [['executor', 'get', 'bad fn!'], `<functionName> ${rule}, got 'bad fn!' (see 'decision-replay executor get --help')`],
      [['noise', 'show', 'bad fn!'], `<functionName> ${rule}, got 'bad fn!' (see 'decision-replay noise show --help')`],
    ] as const) {
      const r = await runCli(['--endpoint', endpoint, ...args]);
      expect(r, args.join(' ')).toEqual({ code: 2, stdout: '', stderr: `decision-replay: ${message}\n` });
    }
    expect(requests).toEqual([]);
    // Names the service takes pass.
    expect((await runCli(['list', '--function', 'approve_loan.v2:eu-1', '--endpoint', endpoint])).code).toBe(0);
  });
  it('refuses -x=value, which parseArgs reads as a cluster of short flags (or the value "=value"), naming the forms that work', async () => {
    requests.length = 0;
    for (const [args, message] of [
      // It was "unknown option '-='".
      [['list', '-q=yes', '--function', 'f'], "'-q=yes': a short option takes no '=': -q (--quiet) is a flag and takes no value; write -q alone (see 'decision-replay list --help')"],
      // It was sent as the function name '=approve_loan'.
      [['list', '-f=approve_loan'], "'-f=approve_loan': a short option takes no '=': write -f approve_loan or --function=approve_loan (see 'decision-replay list --help')"],
      [['list', '-Z=1', '--function', 'f'], "unknown option '-Z' in '-Z=1' (see 'decision-replay list --help')"],
      // The value of the option before it is left to parseArgs, which names that case.
      [['list', '-f', '-q=1'], "-f needs a value; '-q=1' after it is taken for an option (if it is the value, write --function=-q=1) (see 'decision-replay list --help')"],
    ] as const) {
      const r = await runCli(['--endpoint', endpoint, ...args]);
      expect(r, args.join(' ')).toEqual({ code: 2, stdout: '', stderr: `decision-replay: ${message}\n` });
    }
    expect(requests).toEqual([]);
  });
  it('names an export directory that cannot be created, exit 2, rather than spin without end (the recursive mkdir of Node under /proc)', async () => {
    requests.length = 0;
    const r = await runCli(['export', '--function', 'f', '--from', '2026-12-01', '--to', '2026-12-02', '-o', '/proc/decision-replay-bundle/x', '--endpoint', endpoint]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: expect.stringMatching(/^decision-replay: -o \/proc\/decision-replay-bundle\/x: cannot create the directory: ENOENT[^\n]*\n$/) as unknown });
    expect(requests).toEqual([]);
  }, 10_000);
  it('refuses a one-value flag given twice with different values, rather than quietly use the last', async () => {
    requests.length = 0;
    const limit = await runCli(['list', '--function', 'f', '--limit', '2', '--limit', '3', '--endpoint', endpoint]);
    expect(limit).toEqual({ code: 2, stdout: '', stderr: "decision-replay: --limit is given twice ('2' and '3'); give it once (see 'decision-replay list --help')\n" });
    const fn = await runCli(['list', '-f', 'a', '--function=b', '--endpoint', endpoint]);
    expect(fn.stderr).toContain("--function is given twice ('a' and 'b'); give it once");
    expect(requests).toEqual([]);
    // The same value twice asks for one thing: accepted.
    expect((await runCli(['list', '--function', 'f', '--function', 'f', '--endpoint', endpoint])).code).toBe(0);
  });
  it('refuses a JSON file far larger than any request body, reading no more than its limit (not /dev/zero until memory runs out)', async () => {
    // Before, `record /dev/zero` read ~512 MB (600 MB resident) and then said "Invalid string length".
    requests.length = 0;
    const dir = mkdtempSync(join(tmpdir(), 'cli-big-'));
    try {
      writeFileSync(join(dir, 'big.json'), ' '.repeat(17 * 1024 * 1024));
      const expected = (what: string) => ({ code: 2, stdout: '', stderr: `decision-replay: ${what} is larger than 16 MiB; the service takes request bodies of at most 1 MiB (4 MiB for a batch), so nothing was sent (see 'decision-replay record --help')\n` });
      expect(await runCli(['record', join(dir, 'big.json'), '--endpoint', endpoint])).toEqual(expected(`snapshot file '${join(dir, 'big.json')}'`));
      expect(await runCli(['record', '-', '--endpoint', endpoint], { stdin: ' '.repeat(17 * 1024 * 1024) })).toEqual(expected('snapshot file (stdin)'));
      if (existsSync('/dev/zero')) expect(await runCli(['record', '/dev/zero', '--endpoint', endpoint])).toEqual(expected("snapshot file '/dev/zero'"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(requests).toEqual([]);
  });
});
