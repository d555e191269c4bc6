/**
 * The credentials of the functions' SDK clients in their Lambda bundles
 * (functions/adapters/aws/lambda-credential-provider.ts): the environment Lambda sets, else a
 * container credentials endpoint the environment names, else a clear error.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultProvider, LambdaCredentialsError } from '../../functions/adapters/aws/lambda-credential-provider.js';

const VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN'] as const;
const saved = Object.fromEntries(VARS.map((name) => [name, process.env[name]]));
let server: Server | undefined;

function setEnv(values: Partial<Record<(typeof VARS)[number], string>>): void {
  for (const name of VARS) delete process.env[name];
  Object.assign(process.env, values);
}

afterEach(async () => {
  for (const name of VARS) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe('the Lambda credential provider', () => {
  it('answers the credentials Lambda puts in the environment', async () => {
    setEnv({ AWS_ACCESS_KEY_ID: 'AKIDLAMBDA', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'session' });

    const credentials = await defaultProvider()();

    expect(credentials).toMatchObject({ accessKeyId: 'AKIDLAMBDA', secretAccessKey: 'secret', sessionToken: 'session' });
  });

  it('takes them from the container endpoint the environment names when it holds no keys', async () => {
    const asked: (string | undefined)[] = [];
    server = createServer((req, res) => {
      asked.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ AccessKeyId: 'AKIDCONTAINER', SecretAccessKey: 'container-secret', Token: 'container-token', Expiration: new Date(Date.now() + 3_600_000).toISOString() }));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    setEnv({ AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://127.0.0.1:${(server.address() as AddressInfo).port}/creds`, AWS_CONTAINER_AUTHORIZATION_TOKEN: 'token-1' });

    const credentials = await defaultProvider()();

    expect(credentials).toMatchObject({ accessKeyId: 'AKIDCONTAINER', secretAccessKey: 'container-secret', sessionToken: 'container-token' });
    expect(asked).toEqual(['token-1']);
  });

  it('fails with an error naming what Lambda should have set when there are none', async () => {
    setEnv({});

    const failure = defaultProvider()();

    await expect(failure).rejects.toBeInstanceOf(LambdaCredentialsError);
    await expect(failure).rejects.toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });
});
