import { describe, expect, it } from 'vitest';
import { compareJson, compareOutput, compareTextLine, compareTranscript, ELIDED, fences, normalizeTranscriptLine, parseExchanges, parseReadmeJson, parseTour, parseTranscripts, segments, Substitutions, unifyText, type ExpectedBlock } from '../support/readme-tour.js';

const A = '01M8BT663P81BTSCPETA5YKNX3';
const B = '01M8BT6BH0GFNHSV2E3KV9VTVR';
const REAL_A = '01M8SNGGZ4JZ8NA4P87FRZN5YD';
const REAL_B = '01M8SNQ4K9JABDYGPCCE6Q82AC';
const HASH = '22dd44309159a810e4293f98d6015eabe112872e8935a7c991f79925ea355fe7';
const REAL_HASH = '1f8e90e3590e733b2409a286e9ea4e7617cbbc330218e3640fb42bbe269eb8f9';

const fence = '```';
const json = (text: string): ExpectedBlock[] => [{ line: 1, lang: 'json', text }];
const plain = (text: string): ExpectedBlock[] => [{ line: 1, lang: 'text', text }];

describe('parseTour', () => {
  const readme = [
    '# x',
    '## A tour',
    'Save this as `d.json`:',
    `${fence}json`,
    '{"a": 1}',
    fence,
    `${fence}sh`,
    'curl -s http://127.0.0.1:3000/x',
    fence,
    `${fence}`,
    'HTTP/1.1 201 Created',
    fence,
    `${fence}json`,
    '{"b": 2}',
    fence,
    'A snapshot, for illustration:',
    `${fence}json`,
    '{"c": 3}',
    fence,
    '<!-- tour: ignore .outputs[*].value .score: random -->',
    `${fence}sh`,
    'S1=X',
    fence,
    '<!-- tour: skip: another tool -->',
    `${fence}sh`,
    'aws dynamodb update-item',
    fence,
    '## Reports',
    `${fence}sh`,
    'not in the tour',
    fence,
  ].join('\n');

  it('reads commands with the output blocks right after them, files to save, and marks', () => {
    const items = parseTour(readme);

    expect(items).toEqual([
      { kind: 'file', line: 4, name: 'd.json', content: '{"a": 1}\n' },
      {
        kind: 'command',
        line: 7,
        script: 'curl -s http://127.0.0.1:3000/x',
        mark: { kind: 'compare' },
        expected: [
          { line: 10, lang: 'text', text: 'HTTP/1.1 201 Created' },
          { line: 13, lang: 'json', text: '{"b": 2}' },
        ],
      },
      { kind: 'command', line: 21, script: 'S1=X', mark: { kind: 'ignore', paths: ['.outputs[*].value', '.score'], reason: 'random' }, expected: [] },
      { kind: 'command', line: 25, script: 'aws dynamodb update-item', mark: { kind: 'skip', reason: 'another tool' }, expected: [] },
    ]);
  });

  it('reads a section of any level, up to the next heading of its level or above, and not past a # in code', () => {
    const doc = [
      '## Batches',
      `${fence}sh`,
      'not this one',
      fence,
      '### A/B comparisons: better or worse?',
      `${fence}sh`,
      '# a comment, not a heading',
      'echo ab',
      fence,
      '#### A detail, still inside',
      `${fence}sh`,
      'echo detail',
      fence,
      '### Next',
      `${fence}sh`,
      'echo next',
      fence,
    ].join('\n');

    expect(parseTour(doc, '### A/B comparisons: better or worse?').map((i) => (i.kind === 'command' ? i.script : i.kind === 'file' ? i.name : i.line))).toEqual(['# a comment, not a heading\necho ab', 'echo detail']);
    // A `## ` name without its #s still means the `## ` section, which runs up to the next `## `.
    expect(parseTour(doc, 'Batches')).toHaveLength(4);
    expect(() => parseTour(doc, '### Missing')).toThrow("README has no section '### Missing'");
  });

  it('takes a ```console transcript in the tour as its $ commands, in place among the blocks', () => {
    const doc = ['## A tour', `${fence}sh`, 'echo one', fence, `${fence}console`, '$ decision-replay get $S1 -q; echo "exit $?"', '01M8BT663P81BTSCPETA5YKNX3', 'exit 1', fence, 'A console block that is no transcript:', `${fence}console`, 'plain', fence, `${fence}sh`, 'echo two', fence].join('\n');
    const items = parseTour(doc, 'A tour', { transcripts: true });
    expect(items.map((i) => i.kind)).toEqual(['command', 'transcript', 'command']);
    // Without the option a section's transcripts are left to parseTranscripts.
    expect(parseTour(doc).map((i) => i.kind)).toEqual(['command', 'command']);
    expect(items[1]).toEqual({ kind: 'transcript', line: 5, steps: [{ line: 6, command: 'decision-replay get $S1 -q; echo "exit $?"', expected: ['01M8BT663P81BTSCPETA5YKNX3', 'exit 1'] }] });
  });

  it('reads a range mark as paths with their min..max, and refuses an empty range', () => {
    const doc = (mark: string) => ['## A tour', mark, `${fence}sh`, 'x', fence].join('\n');
    expect(parseTour(doc('<!-- tour: range .completed 1..59 .stats[*].n -2.5..3: timing -->'))[0]).toMatchObject({
      mark: { kind: 'range', ranges: [{ path: '.completed', min: 1, max: 59 }, { path: '.stats[*].n', min: -2.5, max: 3 }], reason: 'timing' },
    });
    expect(() => parseTour(doc('<!-- tour: range .completed 9..1: timing -->'))).toThrow(/line 3: the range 9\.\.1 of \.completed is empty/);
    // A word names the number before it in a text line; ±p% is relative to the README's number.
    expect(parseTour(doc('<!-- tour: range bytes ±1.5% .n 0..2: sizes vary -->'))[0]).toMatchObject({
      mark: { kind: 'range', ranges: [{ path: 'bytes', percent: 1.5 }, { path: '.n', min: 0, max: 2 }], reason: 'sizes vary' },
    });
    expect(() => parseTour(doc('<!-- tour: range bytes 1%: no sign -->'))).toThrow(/line 3: the tour mark/);
    expect(() => parseTour(doc('<!-- tour: range .completed: timing -->'))).toThrow(/line 3: the tour mark/);
  });

  it('refuses a tour mark it does not know, or one without a reason', () => {
    expect(() => parseTour(['## A tour', '<!-- tour: shape-only -->', `${fence}sh`, 'x', fence].join('\n'))).toThrow(/line 3: the tour mark/);
    expect(() => parseTour(['## A tour', '<!-- tour: skip -->', `${fence}sh`, 'x', fence].join('\n'))).toThrow(/line 3/);
  });
});

describe('Substitutions and unifyText', () => {
  it('maps a README id to the real one once, then holds it to that', () => {
    const subs = new Substitutions();

    expect(unifyText(`id ${A}`, `id ${REAL_A}`, subs)).toBe(true);
    expect(unifyText(`again ${A}`, `again ${REAL_B}`, subs)).toBe(false);
    // One-to-one: another README id cannot stand for the same real id.
    expect(unifyText(`other ${B}`, `other ${REAL_A}`, subs)).toBe(false);
    expect(subs.apply(`S1=${A}  # the snapshotId you got`)).toBe(`S1=${REAL_A}  # the snapshotId you got`);
    expect(subs.revert(`{"snapshotId":"${REAL_A}"}`)).toBe(`{"snapshotId":"${A}"}`);
  });

  it('learns nothing from a line that does not match', () => {
    const subs = new Substitutions();

    expect(unifyText(`${A} approve`, `${REAL_A} review`, subs)).toBe(false);
    expect(subs.apply(A)).toBe(A);
    // Nor from a line that maps one README id to two real ones.
    expect(unifyText(`${A} ${A}`, `${REAL_A} ${REAL_B}`, subs)).toBe(false);
    expect(subs.apply(A)).toBe(A);
  });

  it('accepts any timestamp or UUID, maps hashes like ids, and compares the rest exactly', () => {
    const subs = new Substitutions();

    expect(unifyText(`${A} 2026-11-26T11:34:59.872Z`, `${REAL_A} 2026-12-01T20:42:32.292Z`, subs)).toBe(true);
    expect(unifyText('generatedAt 2026-11-30T20:30:48.848117Z', 'generatedAt 2026-12-01T09:00:00.000001Z', subs)).toBe(true);
    expect(unifyText('e330a84f-9c48-4a63-b2f3-9d703495e242', 'd5b73de8-590b-49a5-891f-2f3f0b311fe2', subs)).toBe(true);
    expect(unifyText(`${HASH}  -`, `${REAL_HASH}  -`, subs)).toBe(true);
    expect(unifyText(HASH, HASH, subs)).toBe(false);
    expect(unifyText('content-integrity: verified', 'content-integrity: tampered', subs)).toBe(false);
    // A ULID inside a longer word is not an id.
    expect(unifyText(`x${A}`, `x${REAL_B}`, subs)).toBe(false);
  });
});

describe('parseReadmeJson', () => {
  it('reads a `…` line as "the object has more keys" or "the array has more items"', () => {
    const value = parseReadmeJson(['{', '  "a": 1,', '  …  the whole snapshot, as above  …', '  "b": [', '    1,', '    …', '  ]', '}'].join('\n'));

    expect(value).toEqual({ a: 1, [ELIDED]: true, b: [1, ELIDED] });
  });

  it('reads a `…` as the last entry after a value without a comma', () => {
    expect(parseReadmeJson(['{', '  "status": "Failed",', '  "x": {}', '  …', '}'].join('\n'))).toEqual({ status: 'Failed', x: {}, [ELIDED]: true });
  });

  it('reads a `…` in place of an entry, first, between or last, on one line or across lines', () => {
    expect(parseReadmeJson('{…, "context": {"__proto__": {"x": 1}}, …}')).toEqual(JSON.parse(`{"${ELIDED}": true, "context": {"__proto__": {"x": 1}}}`));
    expect(parseReadmeJson('{"a":1,"b":2,…,\n "c":"x",\n "d":"y",…}')).toEqual({ a: 1, b: 2, c: 'x', d: 'y', [ELIDED]: true });
    expect(parseReadmeJson('{ "s": { "n": 12, "m": 0, … }, "t": [1, …] }')).toEqual({ s: { n: 12, m: 0, [ELIDED]: true }, t: [1, ELIDED] });
    // In a string it is text.
    expect(parseReadmeJson('{"…": "…", "a": "x … y"}')).toEqual({ '…': '…', a: 'x … y' });
  });
});

describe('compareJson', () => {
  it('unifies ids, hashes and timestamps, and lets timings and cursors differ', () => {
    const subs = new Substitutions();
    const expected = {
      snapshotId: A,
      createdAt: '2026-11-26T11:34:54.327Z',
      contentHash: HASH,
      executionTimeMs: 0.85,
      stats: { p50ExecutionTimeMs: 22.9 },
      diff: { changes: [{ path: 'executionTimeMs', changeType: 'Modified', oldValue: 0.85, newValue: 41.96 }], executionTimeDeltaMs: 41.11 },
      nextCursor: 'eyJ2IjoxfQ',
    };
    const actual = {
      snapshotId: REAL_A,
      createdAt: '2026-12-01T20:42:32.292Z',
      contentHash: REAL_HASH,
      executionTimeMs: 100.3,
      stats: { p50ExecutionTimeMs: 57.1 },
      diff: { changes: [{ path: 'executionTimeMs', changeType: 'Modified', oldValue: 0.85, newValue: 100.3 }], executionTimeDeltaMs: 99.45 },
      nextCursor: 'eyJ2IjoyfQ',
    };

    expect(compareJson(expected, actual, subs)).toEqual([]);
  });

  it('does not let a number under another key differ, nor a diff change on another path', () => {
    const subs = new Substitutions();

    expect(compareJson({ score: 0.674 }, { score: 0.7 }, subs)).toEqual(['$.score: expected 0.674, got 0.7']);
    expect(compareJson({ path: 'outputs.score', oldValue: 1, newValue: 2 }, { path: 'outputs.score', oldValue: 1, newValue: 3 }, subs)).toEqual(['$.newValue: expected 2, got 3']);
    expect(compareJson({ executionTimeMs: 1 }, { executionTimeMs: '1' }, subs)).toEqual(['$.executionTimeMs: expected 1, got "1"']);
  });

  it('names a key the README lacks, unless the README elided some', () => {
    const subs = new Substitutions();

    expect(compareJson({ a: 1 }, { a: 1, contentHash: REAL_HASH }, subs)).toEqual([`$.contentHash: not in the README, got "${REAL_HASH}"`]);
    expect(compareJson({ a: 1, [ELIDED]: true }, { a: 1, contentHash: REAL_HASH }, subs)).toEqual([]);
    expect(compareJson({ a: 1, b: 2 }, { a: 1 }, subs)).toEqual(['$.b: expected 2, missing']);
  });

  it('compares an elided array by its shown head and tail', () => {
    const subs = new Substitutions();

    expect(compareJson([1, ELIDED], [1, 2, 3], subs)).toEqual([]);
    expect(compareJson([1, ELIDED, 3], [1, 2, 3], subs)).toEqual([]);
    expect(compareJson([1, ELIDED, 4], [1, 2, 3], subs)).toEqual(['$[2]: expected 4, got 3']);
    expect(compareJson([1, 2], [1, 2, 3], subs)).toEqual(['$: expected 2 items, got 3: [1,2,3]']);
  });

  it('compares a number at a ranged path as within its range, and refuses a README value outside it', () => {
    const subs = new Substitutions();
    const options = { ranges: [{ path: '.completed', min: 1, max: 59 }, { path: '.items[*].n', min: 0, max: 2 }] };

    expect(compareJson({ completed: 12, total: 60 }, { completed: 3, total: 60 }, subs, options)).toEqual([]);
    expect(compareJson({ completed: 12, total: 60 }, { completed: 60, total: 60 }, subs, options)).toEqual(['$.completed: expected a number in 1..59 (the README shows 12), got 60']);
    expect(compareJson({ completed: 12, total: 60 }, { completed: 12, total: 61 }, subs, options)).toEqual(['$.total: expected 60, got 61']);
    expect(compareJson({ completed: 0 }, { completed: 3 }, subs, options)).toEqual(["$.completed: the README shows 0, outside its mark's range 1..59"]);
    expect(compareJson({ completed: 12 }, { completed: '12' }, subs, options)).toEqual(['$.completed: expected 12, got "12"']);
    expect(compareJson({ items: [{ n: 1 }, { n: 2 }] }, { items: [{ n: 0 }, { n: 3 }] }, subs, options)).toEqual(['$.items[1].n: expected a number in 0..2 (the README shows 2), got 3']);
  });

  it('compares a number at a ±p% path as within p% of the README\'s', () => {
    const subs = new Substitutions();
    const options = { ranges: [{ path: '.size', percent: 1 }] };

    expect(compareJson({ size: 1000 }, { size: 1010 }, subs, options)).toEqual([]);
    expect(compareJson({ size: 1000 }, { size: 990 }, subs, options)).toEqual([]);
    expect(compareJson({ size: 1000 }, { size: 1011 }, subs, options)).toEqual(["$.size: expected a number within ±1% of the README's 1000 (990..1010), got 1011"]);
  });

  it('skips the values at ignored paths, but not their type', () => {
    const subs = new Substitutions();
    const options = { ignore: ['.outputs[*].value'] };

    expect(compareJson({ outputs: [{ name: 'score', value: 0.7706 }] }, { outputs: [{ name: 'score', value: 0.7712 }] }, subs, options)).toEqual([]);
    expect(compareJson({ outputs: [{ name: 'score', value: 0.7706 }] }, { outputs: [{ name: 'scores', value: 0.7712 }] }, subs, options)).toEqual(['$.outputs[0].name: expected "score", got "scores"']);
    expect(compareJson({ outputs: [{ value: 0.7706 }] }, { outputs: [{ value: 'x' }] }, subs, options)).toEqual(['$.outputs[0].value: expected 0.7706, got "x"']);
  });
});

describe('segments', () => {
  it('splits output into text lines and JSON values that may span lines, without trailing whitespace', () => {
    const text = ['Success recorded', '{"a": 1}', '[', '  {"b": 2}', ']', '{"snapshotId":"x","inputs":[{"name":', 'HTTP/1.1 200 OK\r', ''].join('\n');

    expect(segments(text, (t) => JSON.parse(t))).toEqual([
      { kind: 'text', text: 'Success recorded' },
      { kind: 'json', text: '{"a": 1}' },
      { kind: 'json', text: '[\n  {"b": 2}\n]' },
      { kind: 'text', text: '{"snapshotId":"x","inputs":[{"name":' },
      { kind: 'text', text: 'HTTP/1.1 200 OK' },
    ]);
  });
});

describe('compareOutput', () => {
  it('checks a curl -i status line and the headers shown, then the body', () => {
    const subs = new Substitutions();
    const expected: ExpectedBlock[] = [
      { line: 1, lang: 'text', text: `HTTP/1.1 201 Created\nlocation: /snapshots/${A}` },
      { line: 5, lang: 'json', text: `{\n  "snapshotId": "${A}"\n}` },
    ];
    const actual = `HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nLocation: /snapshots/${REAL_A}\r\ndate: x\r\n\r\n{"snapshotId":"${REAL_A}"}`;

    expect(compareOutput(expected, actual, subs)).toEqual([]);
    expect(compareOutput(expected, actual.replace('201 Created', '200 OK'), new Substitutions())).toEqual(["status line: expected 'HTTP/1.1 201 Created', got 'HTTP/1.1 200 OK'"]);
  });

  it('compares JSON structurally whatever the whitespace, and text line by line', () => {
    const subs = new Substitutions();

    expect(compareOutput(json('{ "a": [ 1, 2 ], "b": "x" }'), '{\n  "b": "x",\n  "a": [\n    1,\n    2\n  ]\n}\n', subs)).toEqual([]);
    expect(compareOutput(plain('201 201\n{"error":{"code":"X"}}\n409'), '201 201 \n{"error": {"code": "X"}}\n409\n', subs)).toEqual([]);
    expect(compareOutput(plain('200'), '200\n201\n', subs)).toEqual(['expected 1 lines/JSON values, got 2']);
    expect(compareOutput(plain('content-integrity: verified'), 'content-integrity: tampered\r\n', subs)).toEqual(['line 1: expected "content-integrity: verified", got "content-integrity: tampered"']);
  });

  it('lets a timing in JSON printed inside a text line differ, and nothing else there', () => {
    const subs = new Substitutions();
    const shown = 'calls: [{"name":"rates","response":{"rate":0.067},"latencyMs":129.929}]';

    expect(compareOutput(plain(shown), 'calls: [{"name":"rates","response":{"rate":0.067},"latencyMs":0.4}]\n', subs)).toEqual([]);
    expect(compareOutput(plain(shown), 'calls: [{"name":"rates","response":{"rate":0.06},"latencyMs":129.929}]\n', subs)).toEqual([
      `line 1: expected ${JSON.stringify(shown)}, got ${JSON.stringify('calls: [{"name":"rates","response":{"rate":0.06},"latencyMs":129.929}]')}`,
    ]);
  });

  it('says when the README shows JSON and the command printed something else', () => {
    expect(compareOutput(json('{"a": 1}'), 'curl: (7) Failed to connect\n', new Substitutions())).toEqual(['line/value 1: expected "{\\"a\\": 1}", got "curl: (7) Failed to connect"']);
  });
});

describe('CLI transcripts', () => {
  const md = [
    '## Use it',
    '```sh',
    'npx decision-replay list --function f',
    '```',
    '```sh',
    '$ decision-replay record d.json -q',
    '01M8Q3YCM0RZBF1SZQK6N0N7RS',
    '$ decision-replay get 01M8Q3YCM0RZBF1SZQK6N0N7RS',
    'snapshotId       01M8Q3YCM0RZBF1SZQK6N0N7RS',
    'executionTimeMs  3.2',
    '$ echo $?',
    '0',
    '```',
    '## Next',
  ].join('\n');

  it('reads each $ command of a ```sh block that starts with a prompt, with its README line and the lines after it', () => {
    expect(parseTranscripts(md, 'Use it')).toEqual([
      [
        { line: 6, command: 'decision-replay record d.json -q', expected: ['01M8Q3YCM0RZBF1SZQK6N0N7RS'] },
        { line: 8, command: 'decision-replay get 01M8Q3YCM0RZBF1SZQK6N0N7RS', expected: ['snapshotId       01M8Q3YCM0RZBF1SZQK6N0N7RS', 'executionTimeMs  3.2'] },
        { line: 11, command: 'echo $?', expected: ['0'] },
      ],
    ]);
  });

  it('reads a command continued with a trailing backslash as one command, and its output after it', () => {
    const doc = ['### Secrets', '```sh', '$ curl -s -X PUT $URL/x \\', "    -d '{}' \\", '    -H a:b', '{"ok":true}', "$ echo 'a\\'", 'a\\', '$ echo b', 'b', '```'].join('\n');

    expect(parseTranscripts(doc, '### Secrets')).toEqual([
      [
        { line: 3, command: "curl -s -X PUT $URL/x \\\n    -d '{}' \\\n    -H a:b", expected: ['{"ok":true}'] },
        // An output line ending in a backslash is output: only a command continues.
        { line: 7, command: "echo 'a\\'", expected: ['a\\'] },
        { line: 9, command: 'echo b', expected: ['b'] },
      ],
    ]);
  });

  it('reads transcripts of other block languages when asked, with their mark, and stops at the exchanges after them', () => {
    const doc = [
      '### Cancel',
      '<!-- tour: range .completed 1..59: timing -->',
      fence,
      '$ decision-replay batch cancel X',
      '{ "completed": 12 }',
      '',
      'POST /batches/X/cancel',
      '409 {"error":{}}',
      fence,
    ].join('\n');

    expect(parseTranscripts(doc, '### Cancel')).toEqual([]);
    expect(parseTranscripts(doc, '### Cancel', [''])).toEqual([
      [{ line: 4, command: 'decision-replay batch cancel X', expected: ['{ "completed": 12 }', ''], mark: { kind: 'range', ranges: [{ path: '.completed', min: 1, max: 59 }], reason: 'timing' } }],
    ]);
  });

  it('reads request/response exchanges of plain blocks, indented ones included, with a body and an answer over lines', () => {
    const doc = [
      '### Limits',
      '- **Keys.**',
      '',
      '  <!-- tour: range .completed 1..9: timing -->',
      `  ${fence}`,
      '  GET /batches/X',
      '  200 {"status":"FAILED",…,',
      '       "completed":3}',
      `  ${fence}`,
      `${fence}`,
      'POST /snapshots  {…, "context": {"__proto__": {"x": 1}}, …}',
      '400 {"error":{"code":"UNSTORABLE_KEY"}}',
      'not an exchange',
      fence,
      `${fence}sh`,
      'GET /x',
      '200 {}',
      fence,
    ].join('\n');

    expect(fences(doc, '### Limits')[0]?.text).toBe(['GET /batches/X', '200 {"status":"FAILED",…,', '     "completed":3}'].join('\n'));
    expect(parseExchanges(doc, '### Limits')).toEqual([
      { line: 6, method: 'GET', path: '/batches/X', status: 200, response: '{"status":"FAILED",…,\n"completed":3}', mark: { kind: 'range', ranges: [{ path: '.completed', min: 1, max: 9 }], reason: 'timing' } },
      { line: 11, method: 'POST', path: '/snapshots', body: '{…, "context": {"__proto__": {"x": 1}}, …}', status: 400, response: '{"error":{"code":"UNSTORABLE_KEY"}}', mark: { kind: 'compare' } },
    ]);
  });

  it('compares JSON a command printed structurally, with the mark\'s ranges, and the lines around it one by one', () => {
    const subs = new Substitutions();
    const expected = ['decision-replay: BATCH_NOT_RUNNING (HTTP 409)', '{', '  "status": "CANCELLED",', '  "completed": 12,', '  …', '}', 'exit 3'];
    const printed = (completed: number, status: string, exit: number) => `decision-replay: BATCH_NOT_RUNNING (HTTP 409)\n${JSON.stringify({ status, completed, total: 60 }, null, 2)}\nexit ${exit}\n`;
    const options = { ranges: [{ path: '.completed', min: 1, max: 59 }] };

    expect(compareTranscript(expected, printed(3, 'CANCELLED', 3), subs, options)).toEqual([]);
    expect(compareTranscript(expected, printed(3, 'CANCELLED', 3), subs)).toEqual(['value 2.completed: expected 12, got 3']);
    expect(compareTranscript(expected, printed(3, 'SUCCEEDED', 3), subs, options)).toEqual(['value 2.status: expected "CANCELLED", got "SUCCEEDED"']);
    expect(compareTranscript(expected, printed(3, 'CANCELLED', 2), subs, options)).toEqual(['line 3: expected "exit 3", got "exit 2"']);
    const missing = compareTranscript(expected, 'decision-replay: BATCH_NOT_RUNNING (HTTP 409)\nexit 3\n', subs, options);
    expect(missing).toHaveLength(2);
    expect(missing[0]).toMatch(/^line 2: expected ".*CANCELLED.*", got "exit 3"$/);
    expect(missing[1]).toBe('line 3: expected "exit 3", not printed');
  });

  it('folds table padding and rules, and makes timings and rates any number, but nothing else', () => {
    expect(normalizeTranscriptLine('outputs.score      ExactMatch  0      false')).toBe('outputs.score ExactMatch 0 false');
    expect(normalizeTranscriptLine('-----------------  ----------  -')).toBe('-- -- -');
    expect(normalizeTranscriptLine('executionTimeMs  103.126')).toBe('executionTimeMs #');
    expect(normalizeTranscriptLine('executionTimeMs        Modified  3.2   0.285')).toBe('executionTimeMs Modified # #');
    expect(normalizeTranscriptLine('p50 / p95 / p99 ms  348.988 / 552.824 / 552.824')).toBe('p# / p# / p# ms # / # / #');
    expect(normalizeTranscriptLine('p95       187.386   262.597    +75.21      [+50.15, +180.43]')).toBe('p# # # # [#, #]');
    expect(normalizeTranscriptLine('latency (ms, bootstrap 95% CI, 1000 resamples, seed 1541784856):')).toBe('latency (ms, bootstrap #% CI, # resamples, seed #):');
    expect(normalizeTranscriptLine('batch X SUCCEEDED 10/10  7.3/s  ETA 0s  match 70.0%')).toBe('batch X SUCCEEDED 10/10 #/s ETA 0s match 70.0%');
    expect(normalizeTranscriptLine('output  score      0.674')).toBe('output score 0.674');
  });

  it('compares the number before a ranged word as within its range, with or without thousands separators, and the rest of the line exactly', () => {
    const subs = new Substitutions();
    const line = `wrote the report of batch ${A} to report.html (230,386 bytes)`;
    const percent = { ranges: [{ path: 'bytes', percent: 1 }] };

    expect(compareTextLine(line, `wrote the report of batch ${REAL_A} to report.html (231,999 bytes)`, subs, percent)).toBeUndefined();
    expect(compareTextLine(line, `wrote the report of batch ${REAL_A} to report.html (232,900 bytes)`, subs, percent)).toBe(
      `the number of bytes: expected a number within ±1% of the README's 230386 (228082..232690), got 232900; expected ${JSON.stringify(line)}, got ${JSON.stringify(`wrote the report of batch ${REAL_A} to report.html (232,900 bytes)`)}`,
    );
    expect(compareTextLine(line, `wrote the report of batch ${REAL_A} to other.html (230,386 bytes)`, subs, percent)).toMatch(/^expected ".*report\.html.*", got ".*other\.html.*"$/);
    expect(compareTextLine(line, `wrote the report of batch ${REAL_A} to report.html (230,386 bytes)`, subs)).toBeUndefined();
    expect(compareTextLine(line, `wrote the report of batch ${REAL_A} to report.html (230,387 bytes)`, subs)).toMatch(/^expected /);
    const absolute = { ranges: [{ path: 'bytes', min: 1000, max: 2000 }] };
    expect(compareTextLine('(1500 bytes)', '(1,999 bytes)', subs, absolute)).toBeUndefined();
    expect(compareTextLine('(1500 bytes)', '(2001 bytes)', subs, absolute)).toMatch(/^the number of bytes: expected a number in 1000\.\.2000 \(the README shows 1500\), got 2001/);
    expect(compareTextLine('(999 bytes)', '(1500 bytes)', subs, absolute)).toMatch(/^the number of bytes: the README shows 999, outside its mark's range 1000\.\.2000/);
    // Through a transcript with its mark: table padding folded first.
    expect(compareTranscript([line], `wrote the report of batch ${REAL_A} to report.html (229,001 bytes)\n`, subs, percent)).toEqual([]);
  });

  it('compares line by line, unifying ids, leaving out progress lines, and names what differs', () => {
    const subs = new Substitutions();
    const id = '01M8Q3ZK6GD0ZBFZGZAB8FEEM2';
    const real = '01KB2C9YQ6T0F8W1Z3RX5V7N9P';
    const expected = [`batch ${id} started: 10 snapshots`, `batch ${id} RUNNING 3/10  2.0/s  ETA 4s  match 100.0%`, `batchId             ${id}`, 'matches             7'];
    expect(compareTranscript(expected, `batch ${real} started: 10 snapshots\nbatchId  ${real}\nmatches  7\n`, subs)).toEqual([]);
    expect(subs.apply(id)).toBe(real);
    expect(compareTranscript(['matches  7'], 'matches  6\n', subs)).toEqual(["line 1: expected \"matches 7\", got \"matches 6\""]);
    expect(compareTranscript(['a', 'b'], 'a\n', subs)).toEqual(['line 2: expected "b", not printed']);
    expect(compareTranscript(['a'], 'a\nb\n', subs)).toEqual(['line 2: not in the README, printed "b"']);
  });
});
