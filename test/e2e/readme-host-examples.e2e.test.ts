/**
 * README examples outside the tour that run on `npm start -- --in-memory`, on one fresh host:
 * - "## Observability" shows `GET /_local/metrics` "after recording one decision and replaying it
 *   on the demo model v2". This does exactly that, with the tour's own `decision.json` and `pp`
 *   helper (read from the README), then runs the section's curl block and compares its output with
 *   the README's: the series, their dimensions and counts exactly; the measured latencies and lags
 *   (marked in the README) by type only. It runs first, so the counts are of that alone.
 * - "### Limits that keep it responsive" says, under **Special keys**, what happens to a JSON key
 *   `__proto__` and to keys such as `constructor`, with a real request and its answer. That request
 *   is sent (its `…` filled with an ordinary decision) and its answer compared with the README's;
 *   then the host is held to the rest of that item: the keys it names round-trip exactly, a rule
 *   named `__proto__` is refused naming `rules[i].name`, and an input or output named `__proto__`
 *   is stored and read back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, requestJson } from '../support/http.js';
import { exchangeTests, ReadmeSession, ROOT, tourTests } from '../support/readme-session.js';
import { parseExchanges, parseTour } from '../support/readme-tour.js';
import { canonicalJson, type JsonValue } from '../../functions/core/json.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const items = parseTour(README, 'Observability');
const tour = parseTour(README);
/** The tour's first block defines `pp`; its first saved file is the decision it records. */
const ppBlock = tour.find((i) => i.kind === 'command');
const decisionFile = tour.find((i) => i.kind === 'file' && i.name === 'decision.json');
const LIMITS = '### Limits that keep it responsive';
const exchanges = parseExchanges(README, LIMITS);
/** The item itself: from `**Special keys.**` to the next item. */
const item = /\*\*Special keys\.\*\*[^]*?(?=\n- \*\*)/.exec(README.slice(README.indexOf(`\n${LIMITS}\n`)))?.[0] ?? '';
/** The keys it says are stored and read back exactly. */
const roundTripKeys = [.../Keys such as ((?:`[^`]+`(?:, | or )?)+) are\s+stored and read back exactly/.exec(item)?.[1]?.matchAll(/`([^`]+)`/g) ?? []].map((m) => m[1] ?? '');

const FN = 'special_keys';
/** What the README's `{…, "context": …, …}` stands for: an ordinary decision. */
const decision = { functionName: FN, inputs: [{ name: 'applicant', value: { income: 52000 } }], outputs: [{ name: 'decision', value: 'approve' }], executionTimeMs: 3 };


describe('README examples on npm start -- --in-memory: GET /_local/metrics, special keys', () => {
  const session = new ReadmeSession();
  const call = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`http://127.0.0.1:${session.host.port}`, method, path, body);

  beforeAll(() => session.start(), 120_000);
  afterAll(() => session.stop(), 30_000);

  it('one decision recorded and replayed on the demo model v2, as the section says; pp defined as in the tour', async () => {
    expect(items.filter((i) => i.kind === 'command')).toHaveLength(1);
    expect(ppBlock?.kind === 'command' && ppBlock.script.startsWith('pp()')).toBe(true);
    if (ppBlock?.kind !== 'command' || decisionFile?.kind !== 'file') throw new Error("the tour no longer defines pp first or saves decision.json");
    expect((await session.bash.run(ppBlock.script)).status).toBe(0);
    const recorded = await call<{ snapshotId: string }>('POST', '/snapshots', JSON.parse(decisionFile.content));
    expect(recorded.status).toBe(201);
    expect((await call('PUT', '/functions/approve_loan/executor', { type: 'http', url: `http://127.0.0.1:${session.host.port}/demo/credit/v2` })).status).toBe(200);
    const replayed = await call<{ status: string }>('POST', `/snapshots/${recorded.body.snapshotId}/replay`, {});
    expect(replayed.status).toBe(200);
    // The on-write lag is measured when the stream delivers the write, after its answer: wait for it
    // (reading the metrics only writes out what finished invocations recorded).
    await eventually('the on-write lag of the recorded decision', async () => {
      const metrics = await call<{ items: { name: string }[] }>('GET', '/_local/metrics');
      return metrics.body.items.some((i) => i.name === 'OnWriteLag') ? true : undefined;
    });
  });

  tourTests(session, items, 'observability example');

  it('the special-keys item has its example and names the keys that round-trip', () => {
    expect(exchanges.map((e) => `${e.method} ${e.path} → ${e.status}`)).toEqual(['POST /snapshots → 400']);
    expect(roundTripKeys).toEqual(['constructor', 'toString', 'prototype']);
  });

  exchangeTests(session, exchanges, 'special-keys example', () => decision);

  it('the keys it names are stored and read back exactly, at the top of an object and nested', async () => {
    const context = Object.fromEntries(roundTripKeys.map((k, i) => [k, { [k]: i, list: [{ [k]: `${k}!` }] }]));
    const value = { ...Object.fromEntries(roundTripKeys.map((k) => [k, k])), income: 52000 };
    const body = { ...decision, inputs: [{ name: 'applicant', value }], context };
    const recorded = await call<{ snapshotId: string }>('POST', '/snapshots', body);
    expect(recorded.status, JSON.stringify(recorded.body)).toBe(201);
    const read = await call<{ context: unknown; inputs: { value: unknown }[]; integrity?: string }>('GET', `/snapshots/${recorded.body.snapshotId}`);
    expect(read.status).toBe(200);
    // As canonical JSON: vitest's equality reads an own `constructor` key as the object's type.
    expect(canonicalJson(read.body.context as JsonValue)).toBe(canonicalJson(context));
    expect(canonicalJson(read.body.inputs[0]?.value as JsonValue)).toBe(canonicalJson(value));
    expect(read.body.integrity ?? 'verified').toBe('verified');
  });

  it('a policy rule named __proto__ is refused, naming rules[i].name', async () => {
    expect(item).toContain('A policy rule may not be named `__proto__` either (400 naming `rules[i].name`)');
    const res = await call('PUT', '/policies/special-keys', {
      rules: [
        { name: 'decided', field: 'outputs.decision', comparator: 'ExactMatch' },
        { name: '__proto__', field: 'outputs.decision', comparator: 'ExactMatch' },
      ],
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body), 'the 400 names rules[1].name').toContain('rules[1].name');
  });

  it('an input and an output named __proto__ are stored and read back, the output at the field path outputs.__proto__', async () => {
    expect(item).toContain('An input, output or recorded dependency may be named\n  `__proto__`: its field path is `outputs.__proto__`');
    const body = { ...decision, inputs: [{ name: '__proto__', value: 1 }], outputs: [{ name: '__proto__', value: 'approve' }] };
    const recorded = await call<{ snapshotId: string }>('POST', '/snapshots', body);
    expect(recorded.status, JSON.stringify(recorded.body)).toBe(201);
    const read = await call<{ inputs: unknown; outputs: unknown }>('GET', `/snapshots/${recorded.body.snapshotId}`);
    expect(read.body.inputs).toMatchObject(body.inputs);
    expect(read.body.outputs).toMatchObject(body.outputs);
    const validated = await call<{ status: string; violations: { field: string; actual: string }[] }>('POST', `/snapshots/${recorded.body.snapshotId}/validate`, {
      policy: { rules: [{ name: 'proto-output', field: 'outputs.__proto__', comparator: 'Contains', value: 'deny' }] },
    });
    expect(validated.status, JSON.stringify(validated.body)).toBe(200);
    // Compared like any other field: it holds 'approve', which does not contain 'deny'.
    expect(validated.body.status).toBe('violated');
    expect(validated.body.violations).toMatchObject([{ field: 'outputs.__proto__', actual: '"approve"' }]);
  });
});
