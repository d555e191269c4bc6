import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { ConflictError, NotFoundError, PayloadTooLargeError, ServiceBusyError, UnprocessableError, ValidationError } from '../../functions/core/errors.js';
import { FieldPathError } from '../../functions/core/field-path.js';
import { LAMBDA_RESPONSE_LIMIT_BYTES, makeHttpHandler, MAX_BODY_BYTES, type ErrorLogger, type RouteMap } from '../../functions/http/api.js';
import { functionNameParam, parseFunctionName, parseInstant, parseListParams, parseTimeRange, parseVersionParam, ulidParam } from '../../functions/http/params.js';

/** An API Gateway HTTP API (payload 2.0) event with what the edge reads. */
function event(routeKey: string, over: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 {
  const [method = 'GET', path = '/'] = routeKey.split(' ');
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers: {},
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'test',
      domainPrefix: 'test',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'req-42',
      routeKey,
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    ...over,
  };
}

function parse(result: APIGatewayProxyStructuredResultV2): { status: number | undefined; body: { error?: { code: string; message: string; details?: unknown } } & Record<string, unknown> } {
  return { status: result.statusCode, body: JSON.parse(result.body ?? '') as never };
}

function spyLogger() {
  const logger = { error: vi.fn<ErrorLogger['error']>() };
  return logger satisfies ErrorLogger;
}

const echo: RouteMap = {
  'POST /echo': async (req) => ({ status: 200, body: { got: req.json(), idem: req.headers['idempotency-key'] ?? null } }),
};

describe('makeHttpHandler', () => {
  it('hands the parsed JSON body and lower-cased headers to the route', async () => {
    const handler = makeHttpHandler(echo, spyLogger());
    const res = parse(await handler(event('POST /echo', { body: '{"a":[1,2]}', headers: { 'Idempotency-Key': 'k1' } })));
    expect(res).toEqual({ status: 200, body: { got: { a: [1, 2] }, idem: 'k1' } });
  });

  it('decodes a base64-encoded body', async () => {
    const handler = makeHttpHandler(echo, spyLogger());
    const res = parse(await handler(event('POST /echo', { body: Buffer.from('{"b":"é"}').toString('base64'), isBase64Encoded: true })));
    expect(res.body.got).toEqual({ b: 'é' });
  });

  it('answers 400 MALFORMED_JSON for a base64 body that is not valid UTF-8, instead of reading U+FFFD in its place', async () => {
    const handler = makeHttpHandler(echo, spyLogger());
    const bytes = Buffer.concat([Buffer.from('{"b":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const res = parse(await handler(event('POST /echo', { body: bytes.toString('base64'), isBase64Encoded: true })));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'MALFORMED_JSON', message: expect.stringMatching(/UTF-8/) });
  });

  it('reads a body that starts with a UTF-8 byte-order mark as the JSON after it (RFC 8259 §8.1), as text or base64', async () => {
    // It answered 400 "request body is not valid JSON: Unexpected token '\uFEFF'".
    const handler = makeHttpHandler(echo, spyLogger());
    expect(parse(await handler(event('POST /echo', { body: '\uFEFF{"a":[1,2]}' }))).body.got).toEqual({ a: [1, 2] });
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"b":"é"}')]);
    expect(parse(await handler(event('POST /echo', { body: bytes.toString('base64'), isBase64Encoded: true }))).body.got).toEqual({ b: 'é' });
    // Only one, only first: a mark anywhere else is not JSON, and the body's keys are still checked.
    expect(parse(await handler(event('POST /echo', { body: '\uFEFF\uFEFF{}' }))).body.error?.code).toBe('MALFORMED_JSON');
    expect(parse(await handler(event('POST /echo', { body: '{"a":\uFEFF1}' }))).body.error?.code).toBe('MALFORMED_JSON');
    expect(parse(await handler(event('POST /echo', { body: '\uFEFF{"a":1,"a":2}' }))).body.error).toMatchObject({ code: 'DUPLICATE_KEY', message: expect.stringContaining('"a" twice') });
  });

  it('answers 400 INVALID_UNICODE naming where for a body with a lone surrogate, which no record could hash or store', async () => {
    const handler = makeHttpHandler(echo, spyLogger());
    // A replay's overrides, a policy's rule name: sealing the record failed in JCS with a 500.
    const res = parse(await handler(event('POST /echo', { body: '{"overrides":{"context":{"a":["ok","x\\ud800"]}}}' })));
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({
      code: 'INVALID_UNICODE',
      message: 'request body holds text that is not valid Unicode (a lone UTF-16 surrogate) at overrides.context.a[1]; it has no UTF-8 form, so it can be neither hashed nor stored',
      details: { issues: [{ path: 'overrides.context.a[1]', message: 'text is not valid Unicode (a lone UTF-16 surrogate)' }] },
    });
    // In a key, low or high, escaped in any case, or raw in the event's body string.
    expect(parse(await handler(event('POST /echo', { body: '{"rules":[{"name":"r","k\\uDC00":1}]}' }))).body.error).toMatchObject({ code: 'INVALID_UNICODE', details: { issues: [{ path: 'rules[0].k\udc00' }] } });
    expect(parse(await handler(event('POST /echo', { body: '{"a":"\ud83d"}' }))).body.error?.code).toBe('INVALID_UNICODE');
    // A surrogate pair is one character, escaped or not.
    expect(parse(await handler(event('POST /echo', { body: '{"a":"\\ud83d\\udc4d \u{1F44D}"}' }))).body.got).toEqual({ a: '\u{1F44D} \u{1F44D}' });
  });

  it.each(['gzip', 'br', 'deflate', 'GZIP', 'gzip, identity'])('answers 415 UNSUPPORTED_MEDIA_TYPE naming the coding for a body with Content-Encoding %j', async (coding) => {
    const handler = makeHttpHandler(echo, spyLogger());
    const res = parse(await handler(event('POST /echo', { body: '{"a":1}', headers: { 'Content-Encoding': coding } })));
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining(coding.toLowerCase()) });
  });

  it('reads a body with Content-Encoding identity as any other', async () => {
    const handler = makeHttpHandler(echo, spyLogger());
    const res = parse(await handler(event('POST /echo', { body: '{"a":1}', headers: { 'content-encoding': 'identity' } })));
    expect(res.body.got).toEqual({ a: 1 });
  });

  it('answers 400 MALFORMED_JSON for a body that is not JSON', async () => {
    const handler = makeHttpHandler(echo, spyLogger());
    const res = parse(await handler(event('POST /echo', { body: '{"a":' })));
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('MALFORMED_JSON');
  });

  it('answers 400 MALFORMED_JSON for a missing or blank body', async () => {
    const handler = makeHttpHandler(echo, spyLogger());
    expect(parse(await handler(event('POST /echo'))).body.error?.code).toBe('MALFORMED_JSON');
    expect(parse(await handler(event('POST /echo', { body: '  ' }))).status).toBe(400);
  });

  it('answers 400, not a stack overflow, for JSON nested far deeper than any schema allows', async () => {
    const logger = spyLogger();
    const handler = makeHttpHandler({ 'POST /echo': async (req) => ({ status: 200, body: JSON.stringify(req.json()).length }) }, logger);
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const res = parse(await handler(event('POST /echo', { body: deep })));
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('MALFORMED_JSON');
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('answers 404 ROUTE_NOT_FOUND in the error shape for a route key it does not serve', async () => {
    const handler = makeHttpHandler(echo, spyLogger());
    const res = parse(await handler(event('DELETE /echo')));
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'ROUTE_NOT_FOUND', message: 'no route for DELETE /echo' } });
  });

  it('answers 413 for a body over 1 MiB without calling the route', async () => {
    const route = vi.fn();
    const handler = makeHttpHandler({ 'POST /echo': route }, spyLogger());
    const res = parse(await handler(event('POST /echo', { body: `"${'x'.repeat(MAX_BODY_BYTES)}"` })));
    expect(res.status).toBe(413);
    expect(res.body.error?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(route).not.toHaveBeenCalled();
  });

  it('answers a plain Error with a bare 500 that leaks neither its message nor its stack, and logs it', async () => {
    const logger = spyLogger();
    const secret = new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
    const handler = makeHttpHandler({ 'GET /boom': async () => { throw secret; } }, logger);

    const result = await handler(event('GET /boom'));
    const res = parse(result);

    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL_ERROR', message: 'internal error (request req-42)' } });
    expect(result.body).not.toMatch(/hunter2|ECONNREFUSED|\bat \S+ \(|\.ts:\d+/);
    expect(logger.error).toHaveBeenCalledWith('unhandled error', { requestId: 'req-42', error: secret });
  });

  it('answers a thrown non-Error value with a bare 500 too', async () => {
    const handler = makeHttpHandler({ 'GET /boom': async () => { throw 'a string'; } }, spyLogger());
    expect(parse(await handler(event('GET /boom'))).status).toBe(500);
  });

  it.each([
    [new ValidationError('bad', { details: { issues: [{ path: 'limit', message: 'must be 1..1000' }] } }), 400, 'INVALID_REQUEST'],
    [new FieldPathError('outputs.', 'path ends with a dot'), 400, 'INVALID_FIELD_PATH'],
    [new NotFoundError('snapshot', '01JDQ6Z3M4X5Y6Z7A8B9C0D1E2'), 404, 'SNAPSHOT_NOT_FOUND'],
    [new ConflictError('reused', { code: 'IDEMPOTENCY_KEY_REUSED' }), 409, 'IDEMPOTENCY_KEY_REUSED'],
    [new PayloadTooLargeError('too big', 409_600, 500_000), 413, 'PAYLOAD_TOO_LARGE'],
    [new UnprocessableError('no executor', { code: 'NO_EXECUTOR' }), 422, 'NO_EXECUTOR'],
    [new ServiceBusyError('busy', { code: 'POLICY_BUSY' }), 503, 'POLICY_BUSY'],
  ])('maps %s to its status and code, with its message and details', async (err, status, code) => {
    const logger = spyLogger();
    const handler = makeHttpHandler({ 'GET /x': async () => { throw err; } }, logger);

    const res = parse(await handler(event('GET /x')));

    expect(res.status).toBe(status);
    expect(res.body.error?.code).toBe(code);
    expect(res.body.error?.message).toBe(err.message);
    expect(res.body.error?.details).toEqual(err.details);
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('answers a 503 with Retry-After, the seconds to wait before sending the same request again', async () => {
    const handler = makeHttpHandler({ 'PUT /x': async () => { throw new ServiceBusyError('busy', { code: 'POLICY_BUSY', retryAfterSeconds: 2 }); } }, spyLogger());
    const result = await handler(event('PUT /x'));
    expect(result.statusCode).toBe(503);
    expect(result.headers).toMatchObject({ 'retry-after': '2' });
  });

  it('maps a subclass of a domain error by its base class', async () => {
    class PolicyNotFoundError extends NotFoundError {
      constructor(name: string) {
        super('policy', name);
      }
    }
    const handler = makeHttpHandler({ 'GET /x': async () => { throw new PolicyNotFoundError('p1'); } }, spyLogger());
    const res = parse(await handler(event('GET /x')));
    expect(res).toEqual({ status: 404, body: { error: { code: 'POLICY_NOT_FOUND', message: "policy 'p1' does not exist" } } });
  });

  it('answers a 500 naming the size, not an answer a Lambda cannot return, for a route that makes one over 6 MB once serialised', async () => {
    const logger = spyLogger();
    // 5 MB of JSON: a list of short strings, whose quotes the result envelope escapes (`\"`), past 6 MiB.
    const items = Array.from({ length: 1_000_000 }, () => 'ab');
    const handler = makeHttpHandler({ 'GET /big': async () => ({ status: 200, body: { items } }), 'GET /fits': async () => ({ status: 200, body: { items: items.slice(0, 300_000) } }) }, logger);
    expect(JSON.stringify({ items }).length).toBeLessThan(LAMBDA_RESPONSE_LIMIT_BYTES);

    const result = await handler(event('GET /big'));
    const res = parse(result);
    expect(res.status).toBe(500);
    expect(res.body.error?.code).toBe('RESPONSE_TOO_LARGE');
    expect(res.body.error?.message).toMatch(/^the answer to GET \/big would be \d+ bytes, more than the 6291456 a Lambda may return \(request req-42\)/);
    expect(logger.error).toHaveBeenCalledWith('answer larger than a Lambda may return', expect.objectContaining({ requestId: 'req-42', routeKey: 'GET /big' }));
    // Under the limit once serialised (~2 MB), an answer passes through unchanged.
    const fits = await handler(event('GET /fits'));
    expect(fits.statusCode).toBe(200);
    expect(Buffer.byteLength(JSON.stringify(fits))).toBeLessThanOrEqual(LAMBDA_RESPONSE_LIMIT_BYTES);
  });

  it('sends JSON with the route headers merged over the content type', async () => {
    const handler = makeHttpHandler({ 'GET /x': async () => ({ status: 201, body: { ok: true }, headers: { location: '/x/1' } }) }, spyLogger());
    const result = await handler(event('GET /x'));
    expect(result.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', location: '/x/1' });
  });
});

describe('list and id parameters', () => {
  it('defaults limit to 50 and accepts 1..1000', () => {
    expect(parseListParams({})).toEqual({ limit: 50 });
    expect(parseListParams({ limit: '1000', cursor: 'abc' })).toEqual({ limit: 1000, cursor: 'abc' });
  });

  it.each(['0', '1001', '-1', '2.5', 'ten', ''])('refuses limit=%j naming limit', (limit) => {
    expect(() => parseListParams({ limit })).toThrow(ValidationError);
    try {
      parseListParams({ limit });
    } catch (err) {
      expect((err as ValidationError).details).toEqual({ issues: [{ path: 'limit', message: 'must be 1..1000' }] });
    }
  });

  it('normalises ISO-8601 instants to UTC with milliseconds', () => {
    expect(parseInstant('from', '2026-11-26T11:00:00+01:00')).toBe('2026-11-26T10:00:00.000Z');
    expect(parseInstant('from', '2026-11-26')).toBe('2026-11-26T00:00:00.000Z');
  });

  it.each(['yesterday', '2026-13-01', '1700000000', '2026-11-26 10:00'])('refuses from=%j', (from) => {
    expect(() => parseTimeRange({ from })).toThrow(/from must be an ISO-8601/);
  });

  it.each(['2026-02-30T00:00:00Z', '2026-02-29', '2026-04-31T10:00:00Z', '2026-00-10', '2026-01-00', '2026-01-01T24:00:00Z', '2026-01-01T23:60:00Z', '2026-01-01T23:59:60Z'])(
    'refuses from=%j, a date or time the calendar does not have (Date.parse rolls it over)',
    (from) => {
      expect(() => parseTimeRange({ from })).toThrow(/from must be an ISO-8601/);
    },
  );

  it('accepts the last day of each month, February 29th of a leap year and 23:59:59', () => {
    expect(parseInstant('from', '2028-02-29T23:59:59Z')).toBe('2028-02-29T23:59:59.000Z');
    expect(parseInstant('to', '2026-04-30')).toBe('2026-04-30T00:00:00.000Z');
    expect(parseInstant('to', '2026-12-31T23:59:59.999+00:00')).toBe('2026-12-31T23:59:59.999Z');
  });

  it('reads version as a positive integer, absent as undefined', () => {
    expect(parseVersionParam({})).toBeUndefined();
    expect(parseVersionParam({ version: '1' })).toBe(1);
    expect(parseVersionParam({ version: '12345678901' })).toBe(12345678901);
  });

  it.each(['0', '1.5', '-1', '01', '1e3', 'x', '', ' 1', '99999999999999999999'])('refuses version=%j with a 400 naming version', (version) => {
    expect(() => parseVersionParam({ version })).toThrow(/version must be a positive integer/);
  });

  it('refuses a range whose from is after its to', () => {
    expect(() => parseTimeRange({ from: '2026-11-27', to: '2026-11-26' })).toThrow(ValidationError);
  });

  it('answers 404 for an id that is not a ULID, without a lookup', () => {
    expect(() => ulidParam({ id: 'nope' }, 'id', 'snapshot')).toThrow(NotFoundError);
    expect(ulidParam({ id: '01JDQ6Z3M4X5Y6Z7A8B9C0D1E2' }, 'id', 'snapshot')).toBe('01JDQ6Z3M4X5Y6Z7A8B9C0D1E2');
    expect(() => ulidParam({ id: '01JDQ6Z3M4X5Y6Z7A8B9C0D1EU' }, 'id', 'snapshot')).toThrow(NotFoundError);
  });

  it('reads a ULID in lower or mixed case as the same id, in its stored upper case (Crockford base 32 is case-insensitive)', () => {
    expect(ulidParam({ id: '01jdq6z3m4x5y6z7a8b9c0d1e2' }, 'id', 'snapshot')).toBe('01JDQ6Z3M4X5Y6Z7A8B9C0D1E2');
    expect(ulidParam({ id: '01Jdq6Z3m4X5y6Z7a8B9c0D1e2' }, 'id', 'snapshot')).toBe('01JDQ6Z3M4X5Y6Z7A8B9C0D1E2');
  });

  it('checks a function name from a path or a query the same way: a 400 with the rule and the value', () => {
    expect(parseFunctionName('approve_loan')).toBe('approve_loan');
    expect(functionNameParam({ functionName: 'approve%3Aloan' })).toBe('approve:loan');
    const refused = (f: () => unknown): ValidationError => {
      try {
        f();
      } catch (err) {
        if (err instanceof ValidationError) return err;
        throw err;
      }
      throw new Error('accepted');
    };
    const bad = refused(() => parseFunctionName('-loan'));
    expect(bad.message).toBe("functionName may contain letters, digits, _ . : - and must start with a letter or digit, got '-loan'");
    expect(bad.details).toEqual({ issues: [{ path: 'functionName', message: 'functionName may contain letters, digits, _ . : - and must start with a letter or digit' }] });
    expect(refused(() => functionNameParam({ functionName: 'a%20b' })).message).toMatch(/got 'a b'$/);
    // A value too long to be a name is not echoed back whole.
    expect(refused(() => parseFunctionName('x'.repeat(5000))).message).toBe('functionName must be at most 200 characters, got 5000 characters');
  });
});
