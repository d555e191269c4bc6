/**
 * README.md's "### Limits that keep it responsive" says, under **Special keys**, what happens to a
 * JSON key `__proto__` and to keys such as `constructor`, with a real request and its answer. This
 * sends that request (its `…` filled with an ordinary decision) to a fresh `npm start -- --in-memory`
 * and compares the answer with the README's; then it holds the host to the rest of that item: the
 * keys it names round-trip exactly, a rule named `__proto__` is refused naming `rules[i].name`, and
 * an input or output named `__proto__` is stored and read back.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchangeTests, ReadmeSession, ROOT } from '../support/readme-session.js';
import { parseExchanges } from '../support/readme-tour.js';
import { requestJson } from '../support/http.js';
import { canonicalJson, type JsonValue } from '../../functions/core/json.js';

const SECTION = '### Limits that keep it responsive';
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const exchanges = parseExchanges(README, SECTION);
/** The item itself: from `**Special keys.**` to the next item. */
const item = /\*\*Special keys\.\*\*[^]*?(?=\n- \*\*)/.exec(README.slice(README.indexOf(`\n${SECTION}\n`)))?.[0] ?? '';
/** The keys it says are stored and read back exactly. */
const roundTripKeys = [.../Keys such as ((?:`[^`]+`(?:, | or )?)+) are\s+stored and read back exactly/.exec(item)?.[1]?.matchAll(/`([^`]+)`/g) ?? []].map((m) => m[1] ?? '');

const FN = 'special_keys';
/** What the README's `{…, "context": …, …}` stands for: an ordinary decision. */
const decision = { functionName: FN, inputs: [{ name: 'applicant', value: { income: 52000 } }], outputs: [{ name: 'decision', value: 'approve' }], executionTimeMs: 3 };

describe('README special keys, against npm start -- --in-memory', () => {
  const session = new ReadmeSession();
  const call = <T>(method: string, path: string, body?: unknown) => requestJson<T>(`http://127.0.0.1:${session.host.port}`, method, path, body);

  beforeAll(() => session.start(), 120_000);
  afterAll(() => session.stop(), 30_000);

  it('the item has its example and names the keys that round-trip', () => {
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
