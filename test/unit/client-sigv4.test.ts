/**
 * SigV4 signing of the client: the AWS Signature Version 4 test suite's `get-vanilla` vector
 * (its fixed credentials and time), and requests to an `execute-api`
 * endpoint signed by the client checked against a signature computed here independently, step by
 * step from the specification (canonical request → string to sign → derived key → HMAC).
 */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecisionReplayClient } from '../../client/src/client.js';
import { createSigner } from '../../client/src/sigv4.js';

/** The test suite's credentials and time (aws-sig-v4-test-suite). */
const SUITE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SUITE_DATE = new Date('2015-08-30T12:36:00Z');

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, s: string) => createHmac('sha256', key).update(s, 'utf8').digest();

/** SigV4 by the book, for one request (headers already lower-case, values trimmed). */
function referenceSignature(p: { method: string; path: string; query: string; headers: Record<string, string>; body: string; region: string; service: string; amzDate: string; secret: string }): { signedHeaders: string; signature: string } {
  const names = Object.keys(p.headers).sort();
  const canonicalHeaders = names.map((n) => `${n}:${p.headers[n]}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [p.method, p.path, p.query, canonicalHeaders, signedHeaders, sha256(p.body)].join('\n');
  const day = p.amzDate.slice(0, 8);
  const scope = `${day}/${p.region}/${p.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', p.amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${p.secret}`, day), p.region), p.service), 'aws4_request');
  return { signedHeaders, signature: createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex') };
}

describe('SigV4 signing', () => {
  it('matches the test suite vector get-vanilla', async () => {
    const sign = createSigner({ region: 'us-east-1', service: 'service', credentials: SUITE, signingDate: () => SUITE_DATE });
    const headers = await sign({ method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: {} });
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
    // The suite's published answer (get-vanilla.authz).
    expect(headers.authorization).toBe('AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  });

  it('the reference signer reproduces the suite’s published get-vanilla signature', () => {
    // The suite's expected value for GET / with host and x-amz-date signed.
    const { signature } = referenceSignature({ method: 'GET', path: '/', query: '', headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' }, body: '', region: 'us-east-1', service: 'service', amzDate: '20150830T123600Z', secret: SUITE.secretAccessKey });
    expect(signature).toBe('5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  });

  it('signs a client POST to an execute-api endpoint (session token, query, body) as the specification does', async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const fakeFetch = (async (url: URL, init: RequestInit) => {
      seen.push({ url: String(url), init });
      return new Response(JSON.stringify({ items: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as unknown as typeof fetch;
    const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret/KEY+test', sessionToken: 'token=abc' };
    const client = new DecisionReplayClient({ endpoint: 'https://abc123def4.execute-api.eu-west-1.amazonaws.com', credentials, fetch: fakeFetch });
    expect(client.signing).toBe('sigv4');
    expect(client.region).toBe('eu-west-1');

    // The signer under test, with a fixed time, is what the client uses; check it through the client's request.
    await client.listSnapshots({ functionName: 'approve_loan', from: '2026-11-01T00:00:00.000Z', limit: 10 });
    const headers = seen[0]?.init.headers as Record<string, string>;
    const amzDate = headers['x-amz-date'] as string;
    const expected = referenceSignature({
      method: 'GET',
      path: '/snapshots',
      query: 'from=2026-11-01T00%3A00%3A00.000Z&functionName=approve_loan&limit=10',
      headers: { accept: 'application/json', host: 'abc123def4.execute-api.eu-west-1.amazonaws.com', 'x-amz-date': amzDate, 'x-amz-security-token': 'token=abc' },
      body: '',
      region: 'eu-west-1',
      service: 'execute-api',
      amzDate,
      secret: credentials.secretAccessKey,
    });
    expect(headers.authorization).toBe(`AWS4-HMAC-SHA256 Credential=AKIDTEST/${amzDate.slice(0, 8)}/eu-west-1/execute-api/aws4_request, SignedHeaders=${expected.signedHeaders}, Signature=${expected.signature}`);
    expect(headers['x-amz-security-token']).toBe('token=abc');
  });

  it('signs a POST body and its Idempotency-Key', async () => {
    const sign = createSigner({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 's3cret' }, signingDate: () => new Date('2026-11-30T10:00:00Z') });
    const body = JSON.stringify({ functionName: 'f', inputs: [], outputs: [{ name: 'x', value: 1 }] });
    const headers = await sign({ method: 'POST', url: new URL('https://abc.execute-api.eu-west-1.amazonaws.com/snapshots'), headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1' }, body });
    const expected = referenceSignature({
      method: 'POST',
      path: '/snapshots',
      query: '',
      headers: { 'content-type': 'application/json', host: 'abc.execute-api.eu-west-1.amazonaws.com', 'idempotency-key': 'k-1', 'x-amz-date': '20261130T100000Z' },
      body,
      region: 'eu-west-1',
      service: 'execute-api',
      amzDate: '20261130T100000Z',
      secret: 's3cret',
    });
    expect(headers.authorization).toBe(`AWS4-HMAC-SHA256 Credential=AKIDTEST/20261130/eu-west-1/execute-api/aws4_request, SignedHeaders=${expected.signedHeaders}, Signature=${expected.signature}`);
  });

  it('sends plain HTTP to other endpoints with signing auto, and refuses sigv4 without a region', () => {
    expect(new DecisionReplayClient({ endpoint: 'http://127.0.0.1:3000' }).signing).toBe('none');
    expect(new DecisionReplayClient({ endpoint: 'https://api.example.com', signing: 'sigv4', region: 'us-east-2' }).signing).toBe('sigv4');
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      expect(() => new DecisionReplayClient({ endpoint: 'https://api.example.com', signing: 'sigv4' })).toThrow('SigV4 signing needs a region');
    } finally {
      Object.assign(process.env, saved);
    }
  });
});
