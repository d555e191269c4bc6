/**
 * dynalite's parsed expressions are kept and reused (functions/local/dynalite-parsers.mjs). A reuse
 * must answer exactly what a fresh parse answers, mark the same names and values used, and never
 * share an answer between two requests; through dynalite, every request must be accepted or refused
 * as before.
 */
import { createRequire } from 'node:module';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { documentClientOptions } from '../../functions/adapters/dynamodb/client.js';
import { LOCAL_AWS, startLocalDynamo, type LocalDynamo } from '../../functions/local/dynalite.js';
import { copyParsed, memoizedParse } from '../../functions/local/dynalite-parsers.mjs';

const require = createRequire(import.meta.url);
type Parse = ((text: string, options: { context: Record<string, unknown> }) => unknown) & { memoized?: true; original?: Parse };
const parsers = Object.fromEntries(['conditionParser', 'updateParser', 'projectionParser'].map((n) => [n, require(`dynalite/db/${n}.js`) as { parse: Parse }]));
/** The parser's own parse, as dynalite ships it. */
function originalOf(name: string): Parse {
  const original = parsers[name]?.parse.original;
  if (original === undefined) throw new Error(`${name} is not wrapped`);
  return original;
}
// What dynalite's validations put into every context besides the request's names and values.
const { isReserved } = { isReserved: (name: string) => ['status', 'name', 'count'].includes(name.toLowerCase()) };

function context(names?: Record<string, string>, values?: Record<string, unknown>, isKeyCondition = false): Record<string, unknown> {
  return {
    attrNames: names,
    attrVals: values,
    unusedAttrNames: Object.fromEntries(Object.keys(names ?? {}).map((k) => [k, true])),
    unusedAttrVals: Object.fromEntries(Object.keys(values ?? {}).map((k) => [k, true])),
    isReserved,
    compare: () => 0,
    ...(isKeyCondition && { isKeyCondition: true }),
  };
}

/** Same keys, values and prototypes all the way down (toEqual ignores null prototypes). */
function sameShape(a: unknown, b: unknown): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b) || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameShape((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const CASES: Array<[parser: string, text: string, names?: Record<string, string>, values?: Record<string, unknown>, key?: boolean]> = [
  ['conditionParser', 'attribute_not_exists(pk)'],
  ['conditionParser', 'attribute_exists(pk) AND #status <> :cancelled', { '#status': 'status' }, { ':cancelled': { S: 'CANCELLED' } }],
  ['conditionParser', 'pk = :p AND begins_with(sk, :s)', undefined, { ':p': { S: 'BATCH#1' }, ':s': { S: 'RESULT#' } }, true],
  ['conditionParser', 'size(#n) BETWEEN :a AND :b OR contains(tags, :t)', { '#n': 'name' }, { ':a': { N: '1' }, ':b': { N: '9' }, ':t': { S: 'x' } }],
  ['conditionParser', '#missing = :v', { '#other': 'a' }, { ':v': { S: '1' } }],
  ['updateParser', 'ADD completed :n, successful :s, matches :m', undefined, { ':n': { N: '13' }, ':s': { N: '12' }, ':m': { N: '11' } }],
  ['updateParser', 'SET #s = :s, updatedAt = :t REMOVE lease', { '#s': 'status' }, { ':s': { S: 'SUCCEEDED' }, ':t': { S: '2026-12-02T00:00:00Z' } }],
  ['projectionParser', 'pk, sk, #s, nested.list[1]', { '#s': 'status' }],
];

describe('dynalite expression parses, kept', () => {
  it('is installed on the parsers dynalite uses', () => {
    for (const p of Object.values(parsers)) expect(p.parse.memoized).toBe(true);
  });

  for (const [parser, text, names, values, key] of CASES) {
    it(`answers a reused ${parser} parse of ${JSON.stringify(text)} as a fresh one, marking the same names and values`, () => {
      const parse = memoizedParse(originalOf(parser));
      const fresh = context(names, values, key);
      const expected = originalOf(parser)(text, { context: fresh });
      for (let round = 0; round < 3; round++) {
        const ctx = context(names, values, key);
        const answer = parse(text, { context: ctx });
        expect(sameShape(answer, expected)).toBe(true);
        expect(ctx.unusedAttrNames).toEqual(fresh.unusedAttrNames);
        expect(ctx.unusedAttrVals).toEqual(fresh.unusedAttrVals);
      }
    });
  }

  it('gives every request its own copy: changing one answer changes no later one', () => {
    const parse = memoizedParse(originalOf('updateParser'));
    const values = { ':n': { N: '1' } };
    const first = parse('ADD completed :n', { context: context(undefined, values) }) as { sections: unknown[] };
    Object.assign(first.sections[0] as object, { changed: true });
    first.sections.push('junk');
    const second = parse('ADD completed :n', { context: context(undefined, values) }) as { sections: unknown[] };
    expect(second.sections).toHaveLength(1);
    expect(sameShape(second, originalOf('updateParser')('ADD completed :n', { context: context(undefined, values) }))).toBe(true);
  });

  it('keeps apart what differs only in values, names or being a key condition', () => {
    const calls: string[] = [];
    const original = originalOf('conditionParser');
    const parse = memoizedParse((text, options) => {
      calls.push(text);
      return original(text, options);
    });
    const a = parse('pk = :p', { context: context(undefined, { ':p': { S: 'A' } }) });
    const b = parse('pk = :p', { context: context(undefined, { ':p': { S: 'B' } }) });
    const k = parse('pk = :p', { context: context(undefined, { ':p': { S: 'A' } }, true) });
    parse('pk = :p', { context: context(undefined, { ':p': { S: 'A' } }) });
    expect(JSON.stringify(a)).toContain('"A"');
    expect(JSON.stringify(b)).toContain('"B"');
    expect(JSON.stringify(k)).toContain('"A"');
    expect(calls).toHaveLength(3);
  });

  it('does not keep an answer that is not plain data, nor a parse that throws', () => {
    expect(copyParsed({ a: [1, { b: null }] })).toEqual({ value: { a: [1, { b: null }] } });
    expect(copyParsed({ a: new Date(0) })).toBeUndefined();
    expect(copyParsed({ f: () => 1 })).toBeUndefined();
    let n = 0;
    const parse = memoizedParse(() => {
      n += 1;
      return { when: new Date(0) };
    });
    parse('x', { context: context() });
    parse('x', { context: context() });
    expect(n).toBe(2);
    const throwing = memoizedParse(() => {
      n += 1;
      throw new Error('boom');
    });
    expect(() => throwing('y', { context: context() })).toThrow('boom');
    expect(() => throwing('y', { context: context() })).toThrow('boom');
    expect(n).toBe(4);
  });
});

describe('dynalite with kept parses', () => {
  let dynamo: LocalDynamo | undefined;
  let client: DynamoDBClient | undefined;
  afterEach(async () => {
    client?.destroy();
    await dynamo?.close();
    dynamo = undefined;
  });

  for (const worker of [true, false]) {
    it(`accepts and refuses requests as before, whatever was parsed before them (${worker ? 'worker thread' : 'in process'})`, async () => {
      dynamo = await startLocalDynamo({ port: 0, tableName: 'parses', worker });
      client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
      const doc = DynamoDBDocumentClient.from(client, documentClientOptions);
      const T = 'parses';
      // One request whose update and condition both use #a: the condition's parse finds #a already marked.
      await doc.send(new UpdateCommand({ TableName: T, Key: { pk: 'k', sk: 'k' }, UpdateExpression: 'SET #a = :v', ConditionExpression: 'attribute_not_exists(#a)', ExpressionAttributeNames: { '#a': 'a' }, ExpressionAttributeValues: { ':v': 1 } }));
      // The same condition alone must still count #a as used.
      for (let i = 0; i < 3; i++) {
        await doc.send(new PutCommand({ TableName: T, Item: { pk: `p${i}`, sk: 'k' }, ConditionExpression: 'attribute_not_exists(#a)', ExpressionAttributeNames: { '#a': 'a' } }));
      }
      // An unused name, a syntax error and a failed condition are refused each time, with the same message.
      const messages: string[] = [];
      for (let i = 0; i < 2; i++) {
        const attempts: Array<() => Promise<unknown>> = [
          () => doc.send(new PutCommand({ TableName: T, Item: { pk: 'q', sk: 'k' }, ConditionExpression: 'attribute_not_exists(pk)', ExpressionAttributeNames: { '#unused': 'x' } })),
          () => doc.send(new PutCommand({ TableName: T, Item: { pk: 'q', sk: 'k' }, ConditionExpression: 'attribute_not_exists(pk) AND' })),
          () => doc.send(new UpdateCommand({ TableName: T, Key: { pk: 'k', sk: 'k' }, UpdateExpression: 'SET #a = :v', ConditionExpression: 'attribute_not_exists(#a)', ExpressionAttributeNames: { '#a': 'a' }, ExpressionAttributeValues: { ':v': 2 } })),
        ];
        for (const attempt of attempts) messages.push(await attempt().then(() => 'accepted', (err: Error) => `${err.name}: ${err.message}`));
      }
      expect(messages.slice(0, 3)).toEqual(messages.slice(3));
      expect(messages[0]).toMatch(/^ValidationException: Value provided in ExpressionAttributeNames unused in expressions: keys: \{#unused\}/);
      expect(messages[1]).toMatch(/^ValidationException: Invalid ConditionExpression: Syntax error/);
      expect(messages[2]).toMatch(/^ConditionalCheckFailedException/);
      // Updates with new values each time apply those values, and queries still find what they should.
      for (let i = 1; i <= 3; i++) await doc.send(new UpdateCommand({ TableName: T, Key: { pk: 'k', sk: 'k' }, UpdateExpression: 'ADD n :n', ExpressionAttributeValues: { ':n': i } }));
      expect((await doc.send(new GetCommand({ TableName: T, Key: { pk: 'k', sk: 'k' }, ConsistentRead: true }))).Item).toEqual({ pk: 'k', sk: 'k', a: 1, n: 6 });
      for (const pk of ['p0', 'p1', 'k']) {
        const found = await doc.send(new QueryCommand({ TableName: T, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': pk } }));
        expect(found.Items?.map((i) => i.pk)).toEqual([pk]);
      }
    });
  }
});
