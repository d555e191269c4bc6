/**
 * withFastConfig: an SDK client's configuration is in V8's dictionary mode as the SDK leaves it,
 * and has fast properties after withFastConfig, with the same properties and a working client. The
 * V8 check runs in a child process, where `--allow-natives-syntax` gives `%HasFastProperties`.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { withFastConfig } from '../../functions/adapters/sdk/fast-config.js';
import { createLocalDynamoClient } from '../../functions/local/dynalite.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs `body` in a child node with natives syntax, the TypeScript loader and `fast(o)` defined; its stdout. */
function inV8(body: string): string {
  const script = `
    const fast = new Function('o', 'return %HasFastProperties(o)');
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const { withFastConfig } = await import(${JSON.stringify(join(root, 'functions/adapters/sdk/fast-config.ts'))});
    const { traced } = await import(${JSON.stringify(join(root, 'functions/adapters/aws/tracer.ts'))});
    const { createLocalDynamoClient } = await import(${JSON.stringify(join(root, 'functions/local/dynalite.ts'))});
    const make = () => new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    ${body}`;
  return execFileSync(process.execPath, ['--allow-natives-syntax', '--no-warnings', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' }).trim();
}

describe('withFastConfig', () => {
  it("turns the SDK's dictionary-mode configuration into fast properties, for Lambda's clients (traced) and the local host's", () => {
    const out = inV8(`
      const plain = make();
      console.log(JSON.stringify({
        asLeft: fast(plain.config),
        after: fast(withFastConfig(make()).config),
        traced: fast(traced(make()).config),
        local: fast(createLocalDynamoClient({ endpoint: 'http://127.0.0.1:1' }).config),
      }));`);
    // If `asLeft` ever turns true, the SDK stopped putting its configuration in dictionary mode and
    // withFastConfig can go.
    expect(JSON.parse(out)).toEqual({ asLeft: false, after: true, traced: true, local: true });
  });

  it('keeps the same configuration object, its properties and its credentials accessor', async () => {
    const client = new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const config = client.config;
    const before = Object.keys(config);
    const accessor = Object.getOwnPropertyDescriptor(config, 'credentials');
    expect(withFastConfig(client).config).toBe(config);
    expect(Object.keys(config)).toEqual(before);
    const after = Object.getOwnPropertyDescriptor(config, 'credentials');
    expect(after?.get).toBe(accessor?.get);
    expect(after?.set).toBe(accessor?.set);
    await expect(config.credentials()).resolves.toMatchObject({ accessKeyId: 'a', secretAccessKey: 'b' });
    expect(await config.region()).toBe('eu-west-1');
  });

  it('leaves the client working: a call still reaches its endpoint', async () => {
    // Nothing listens on port 1: the call fails at the socket, after serialisation, endpoint
    // resolution, retries and signing have all run over the fast configuration.
    const client = createLocalDynamoClient({ endpoint: 'http://127.0.0.1:1', maxAttempts: 1 });
    await expect(client.send(new GetItemCommand({ TableName: 'ttt', Key: { pk: { S: 'x' } } }))).rejects.toThrow(/ECONNREFUSED|connect/);
    client.destroy();
  });
});
