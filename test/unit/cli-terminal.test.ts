/**
 * What the CLI prints is data, never terminal commands: a snapshot's stored values, and whatever
 * the endpoint answers, may hold escape sequences (clear the screen, set the window title, move the
 * cursor over earlier output), C1 controls or bidirectional overrides. Tables and JSON show them
 * escaped; the JSON still reads back as the same values.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressReporter } from '../../client/src/cli/commands/batch.js';
import { runCli } from '../support/cli.js';
import type { Batch } from '../../client/src/schemas.js';

/** Anything a terminal would act on: C0 but the line feed, DEL, C1, separators, bidi controls. */
const RAW_CONTROL = /(?!\n)[\p{Cc}\p{Bidi_Control}\u2028\u2029]/u;

const HOSTILE = 'appr\u001b[2J\u001b]0;owned\u0007ove\r\u009b31m\u202eRTL\u2028\u0000\nnext line';

const snapshot = {
  snapshotId: '01M8VP1EMWG90XEJPS66ZG6ATJ',
  createdAt: '2026-12-02T15:30:15.836Z',
  schemaVersion: 1,
  functionName: 'approve_loan',
  inputs: [{ name: `in\u001b[1A`, value: { [`k\u001b[5m`]: HOSTILE } }],
  outputs: [{ name: 'decision', value: HOSTILE }],
  modelParameters: { modelName: `m\u001b[31m`, modelVersion: 'v\n1' },
  executionTimeMs: 1,
  inputsHash: 'a'.repeat(64),
  contentHash: 'b'.repeat(64),
};

/** A report whose HTML holds a stored value as it was recorded (HTML-escaped, controls and all). */
const REPORT = `<!doctype html>\n<html><body><td>${HOSTILE}</td></body></html>\n`;

describe('CLI output on a terminal', () => {
  let server: Server;
  let endpoint: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/batches/01M8VPDH3YJJJGC7K55MTV4342/report')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(REPORT);
        return;
      }
      if (req.url?.startsWith('/snapshots/01M8VP1EMWG90XEJPS66ZG6ATJ')) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-integrity': 'verified' });
        res.end(JSON.stringify(snapshot));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NOT\u001b[2J', message: `gone ${HOSTILE}`, details: { why: HOSTILE } } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('shows stored escape sequences in a table escaped, one row per value', async () => {
    const r = await runCli(['get', snapshot.snapshotId, '--endpoint', endpoint, '-o', 'table'], { tty: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    expect(r.stdout).toContain('appr\\u001b[2J\\u001b]0;owned\\u0007ove\\r\\u009b31m\\u202eRTL\\u2028\\u0000\\nnext line');
    expect(r.stdout).toMatch(/^model\s+m\\u001b\[31m v\\n1$/m);
    // The value's line feed does not start a line of its own.
    expect(r.stdout).not.toMatch(/^next line/m);
  });

  it('prints JSON with the controls escaped, reading back as the very values served', async () => {
    const r = await runCli(['get', snapshot.snapshotId, '--endpoint', endpoint, '-o', 'json'], { tty: true });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(r.stdout)).toEqual(snapshot);
  });

  it('escapes the service error code, message and details on stderr', async () => {
    const r = await runCli(['get', '01M8VP1EMWG90XEJPS66ZG6ATX', '--endpoint', endpoint], { tty: true });
    expect(r.code).toBe(3);
    expect(r.stderr).not.toMatch(RAW_CONTROL);
    expect(r.stderr).toContain('NOT\\u001b[2J (HTTP 404): gone appr\\u001b[2J');
  });

  it('writes an HTML report to a terminal with its controls escaped, and byte for byte when piped', async () => {
    const onTerminal = await runCli(['report', 'batch', '01M8VPDH3YJJJGC7K55MTV4342', '--endpoint', endpoint], { tty: true });
    const piped = await runCli(['report', 'batch', '01M8VPDH3YJJJGC7K55MTV4342', '--endpoint', endpoint], { tty: false });

    expect(onTerminal.code, onTerminal.stderr).toBe(0);
    expect(onTerminal.stdout).not.toMatch(RAW_CONTROL);
    expect(onTerminal.stdout).toContain('<td>appr\\u001b[2J');
    expect(piped.stdout).toBe(REPORT);
  });

  it('escapes a control character the user typed when echoing it in a usage error', async () => {
    const r = await runCli(['get', snapshot.snapshotId, '--endpoint', endpoint, '-o', 'json\u001b[2J'], { tty: true });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(RAW_CONTROL);
    expect(r.stderr).toContain("got 'json\\u001b[2J'");
  });

  it("draws the batch progress bar with its own sequences only, the service's fields escaped", () => {
    let bar = '';
    let lines = '';
    const batch = { batchId: `01M8VPDH3YJJJGC7K55MTV43\u001b]0;x\u0007`, status: `RUNNING\u001b[2J`, total: 4, completed: 1 } as unknown as Batch;

    new ProgressReporter({ write: (s: string) => (bar += s), isTTY: true }, 0, () => 1000).update(batch);
    new ProgressReporter({ write: (s: string) => (lines += s), isTTY: false }, 0, () => 1000).update(batch, true);

    // The bar: a carriage return first and an erase-line last, nothing else raw.
    expect(bar.startsWith('\r[')).toBe(true);
    expect(bar.endsWith('RUNNING\\u001b[2J\u001b[K')).toBe(true);
    expect(bar.slice(1, -3)).not.toMatch(RAW_CONTROL);
    expect(lines).not.toMatch(RAW_CONTROL);
    expect(lines).toContain('batch 01M8VPDH3YJJJGC7K55MTV43\\u001b]0;x\\u0007 RUNNING\\u001b[2J 1/4');
  });
});
