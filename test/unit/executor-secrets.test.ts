/**
 * Secret headers: where their values come from (Secrets Manager through a 60 s cache on AWS, the
 * environment locally), which references a deployment accepts, and how the http executor sends
 * them at call time without ever putting a value into an error.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentHeaders, secretsManagerHeaders } from '../../functions/adapters/executors/secret-headers.js';
import { HttpExecutor } from '../../functions/adapters/executors/http-executor.js';
import { SECRET_CACHE_MS, secretsManagerReader } from '../../functions/adapters/secrets.js';
import { ExecutorError, registrationIssues, type ExecutionRequest, type SecretHeaderSource } from '../../functions/core/executor.js';

const PREFIX = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:decision-replay/executors/';
const MODEL_SECRET = `${PREFIX}model-AbCdEf`;

describe('secretsManagerHeaders', () => {
  const source = secretsManagerHeaders(PREFIX, async () => 'v');

  it('accepts ARNs under the granted prefix only', () => {
    const https = new URL('https://models.example.com/credit');
    expect(source.refuses(MODEL_SECRET, https)).toBeUndefined();
    expect(source.refuses('arn:aws:secretsmanager:eu-west-1:123456789012:secret:CursorsSecret-AbCdEf', https)).toMatch(/only from secrets whose ARN starts with arn:aws:secretsmanager:eu-west-1:123456789012:secret:decision-replay\/executors\//);
    expect(source.refuses('arn:aws:secretsmanager:eu-west-1:999999999999:secret:decision-replay/executors/model', https)).toMatch(/starts with/);
    expect(source.refuses('env:MODEL_KEY', https)).toMatch(/read only by the local host/);
  });

  it('sends a secret only over https: PUT refuses an http URL with a Secrets Manager header, naming the header', () => {
    expect(source.refuses(MODEL_SECRET, new URL('http://models.example.com/credit'))).toMatch(/only over https on AWS; http:\/\/ would send the value in clear text/);
    const issues = registrationIssues({ type: 'http', url: 'http://models.example.com/credit', secretHeaders: { 'X-Api-Key': MODEL_SECRET } }, (ref, target) => source.refuses(ref, target));
    expect(issues.map((i) => i.path)).toEqual(['secretHeaders.X-Api-Key']);
    expect(registrationIssues({ type: 'openai', baseUrl: 'https://llm.example/v1', secretHeaders: { Authorization: MODEL_SECRET } }, (ref, target) => source.refuses(ref, target))).toEqual([]);
  });

  it('reads through Secrets Manager, reusing a value for 60 s and reading it again after', async () => {
    const sm = mockClient(SecretsManagerClient);
    let version = 1;
    sm.on(GetSecretValueCommand).callsFake(() => ({ SecretString: `value-${version++}` }));
    let now = 1_000_000;
    const client = new SecretsManagerClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const read = secretsManagerReader({ get: async (id) => (await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString, clock: { now: () => now } });
    const headers = secretsManagerHeaders(PREFIX, read);
    expect(await headers.read(MODEL_SECRET)).toBe('value-1');
    now += SECRET_CACHE_MS - 1;
    expect(await headers.read(MODEL_SECRET)).toBe('value-1');
    now += 1;
    expect(await headers.read(MODEL_SECRET)).toBe('value-2');
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([MODEL_SECRET, MODEL_SECRET]);
    expect(SECRET_CACHE_MS).toBe(60_000);
    sm.restore();
  });

  it('a missing secret rejects naming the reference and the reason, never a value', async () => {
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
    const client = new SecretsManagerClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const headers = secretsManagerHeaders(PREFIX, secretsManagerReader({ get: async (id) => (await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString }));
    await expect(headers.read(MODEL_SECRET)).rejects.toThrow(`secret ${MODEL_SECRET} could not be read: ResourceNotFoundException`);
    sm.restore();
  });
});

describe('environmentHeaders', () => {
  it('reads env:NAME from the given environment at each call and refuses ARNs', async () => {
    const env: NodeJS.ProcessEnv = { DECISION_REPLAY_SECRET_MODEL_KEY: 'one' };
    const source = environmentHeaders(env);
    const local = new URL('http://127.0.0.1:3000/demo/credit/v2');
    expect(source.refuses('env:DECISION_REPLAY_SECRET_MODEL_KEY', local)).toBeUndefined();
    expect(source.refuses(MODEL_SECRET, local)).toMatch(/local host has no Secrets Manager/);
    expect(await source.read('env:DECISION_REPLAY_SECRET_MODEL_KEY')).toBe('one');
    env.DECISION_REPLAY_SECRET_MODEL_KEY = 'two';
    expect(await source.read('env:DECISION_REPLAY_SECRET_MODEL_KEY')).toBe('two');
    await expect(source.read('env:DECISION_REPLAY_SECRET_NOT_SET')).rejects.toThrow('the environment variable DECISION_REPLAY_SECRET_NOT_SET is not set');
  });

  it('refuses a variable whose name lacks the prefix, so an API caller cannot have HOME or AWS keys sent anywhere', () => {
    const source = environmentHeaders({ HOME: '/root', AWS_SECRET_ACCESS_KEY: 'wJalr', DECISION_REPLAY_SECRET_: 'x' });
    const local = new URL('http://127.0.0.1:3000/demo/credit/v2');
    for (const ref of ['env:HOME', 'env:AWS_SECRET_ACCESS_KEY', 'env:PATH', 'env:DECISION_REPLAY_SECRET_']) {
      expect(source.refuses(ref, local), ref).toMatch(/^the local host sends only environment variables whose name starts with DECISION_REPLAY_SECRET_ \(EXECUTOR_SECRET_ENV_PREFIX\)/);
    }
    expect(source.refuses('env:HOME', local)).toContain('start the host with DECISION_REPLAY_SECRET_HOME=… and name env:DECISION_REPLAY_SECRET_HOME');
    const custom = environmentHeaders({}, 'ACME_MODEL_');
    expect(custom.refuses('env:ACME_MODEL_KEY', local)).toBeUndefined();
    expect(custom.refuses('env:DECISION_REPLAY_SECRET_KEY', local)).toMatch(/starts with ACME_MODEL_/);
  });
});

describe('HttpExecutor with secret headers', () => {
  let server: Server;
  let base: string;
  const received: IncomingHttpHeaders[] = [];
  const request: ExecutionRequest = { functionName: 'f', inputs: [{ name: 'x', value: 1 }] };

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received.push(req.headers);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"outputs":[{"name":"y","value":2}]}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads each secret at call time, so a changed value is sent on the next call', async () => {
    const env: NodeJS.ProcessEnv = { DECISION_REPLAY_SECRET_MODEL_KEY: 'k-1' };
    const executor = new HttpExecutor({ type: 'http', url: `${base}/x`, headers: { 'X-Tenant': 'acme' }, secretHeaders: { 'X-Api-Key': 'env:DECISION_REPLAY_SECRET_MODEL_KEY' } }, { allowPrivateNetworks: true, secrets: environmentHeaders(env) });
    received.length = 0;
    await executor.execute(request, { timeoutMs: 2000 });
    env.DECISION_REPLAY_SECRET_MODEL_KEY = 'k-2';
    await executor.execute(request, { timeoutMs: 2000 });
    expect(received.map((h) => [h['x-api-key'], h['x-tenant']])).toEqual([['k-1', 'acme'], ['k-2', 'acme']]);
  });

  it('an unreadable secret fails the call with EXECUTOR_SECRET_UNAVAILABLE, naming header and reference; nothing is sent', async () => {
    const executor = new HttpExecutor({ type: 'http', url: `${base}/x`, secretHeaders: { 'X-Api-Key': 'env:DECISION_REPLAY_SECRET_GONE' } }, { allowPrivateNetworks: true, secrets: environmentHeaders({}) });
    received.length = 0;
    const err = await executor.execute(request, { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutorError);
    expect((err as ExecutorError).toResultError()).toEqual({
      code: 'EXECUTOR_SECRET_UNAVAILABLE',
      message: "secret header 'X-Api-Key' could not be read from env:DECISION_REPLAY_SECRET_GONE: the environment variable DECISION_REPLAY_SECRET_GONE is not set; nothing was sent",
    });
    expect(received).toHaveLength(0);
  });

  it('a reference the deployment no longer accepts fails the call the same way, without reading it', async () => {
    let reads = 0;
    const source: SecretHeaderSource = { refuses: () => 'outside the granted prefix', read: async () => `value-${++reads}` };
    const executor = new HttpExecutor({ type: 'http', url: `${base}/x`, secretHeaders: { 'X-Api-Key': MODEL_SECRET } }, { allowPrivateNetworks: true, secrets: source });
    await expect(executor.execute(request, { timeoutMs: 2000 })).rejects.toMatchObject({ code: 'EXECUTOR_SECRET_UNAVAILABLE', message: expect.stringContaining('outside the granted prefix') });
    expect(reads).toBe(0);
  });

  it('a secret read that hangs is cut off by the call timeout', async () => {
    const source: SecretHeaderSource = { refuses: () => undefined, read: () => new Promise(() => undefined) };
    const executor = new HttpExecutor({ type: 'http', url: `${base}/x`, secretHeaders: { 'X-Api-Key': MODEL_SECRET } }, { allowPrivateNetworks: true, secrets: source });
    await expect(executor.execute(request, { timeoutMs: 100 })).rejects.toMatchObject({ code: 'EXECUTOR_TIMEOUT' });
  });

  it('an executor that echoes the key in its error body does not get it onto the result', async () => {
    const echo = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(401, { 'content-type': 'text/plain' }).end(`invalid key ${String(req.headers['x-api-key'])} for tenant ${String(req.headers['x-tenant'])}`));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/x`;
      const executor = new HttpExecutor({ type: 'http', url, headers: { 'X-Tenant': 'acme-corp' }, secretHeaders: { 'X-Api-Key': 'env:DECISION_REPLAY_SECRET_K' } }, { allowPrivateNetworks: true, secrets: environmentHeaders({ DECISION_REPLAY_SECRET_K: 'sk-echoed-991' }) });
      const err = await executor.execute(request, { timeoutMs: 2000 }).catch((e: unknown) => e);
      expect((err as ExecutorError).toResultError()).toEqual({ code: 'EXECUTOR_HTTP_STATUS', message: `http POST ${url} answered HTTP 401: "invalid key *** for tenant ***"` });
    } finally {
      echo.closeAllConnections();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });

  it('a redirect is reported without the query of its location', async () => {
    const redirect = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(302, { location: 'https://login.example/callback?code=abc&state=1' }).end());
    });
    await new Promise<void>((resolve) => redirect.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(redirect.address() as AddressInfo).port}/x`;
      const executor = new HttpExecutor({ type: 'http', url }, { allowPrivateNetworks: true });
      const err = await executor.execute(request, { timeoutMs: 2000 }).catch((e: unknown) => e);
      expect((err as ExecutorError).message).toBe(`http POST ${url} answered 302 (a redirect to https://login.example/callback); executors do not follow redirects`);
    } finally {
      redirect.closeAllConnections();
      await new Promise<void>((resolve) => redirect.close(() => resolve()));
    }
  });

  it('the description, recorded on results and logs, has no query', () => {
    const executor = new HttpExecutor({ type: 'http', url: `${base}/x?variant=b&region=eu` }, { allowPrivateNetworks: true });
    expect(executor.description).toBe(`http POST ${base}/x`);
  });
});
