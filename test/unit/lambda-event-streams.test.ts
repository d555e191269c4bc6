/**
 * Event streams in the Lambda bundles (functions/adapters/aws/lambda-event-streams.ts): the build
 * leaves the SDK's event stream code out because no command the functions send has an
 * event-stream member. That is what this file proves, with the SDK's own test (the one
 * `Command.resolveMiddleware` runs: a streaming structure or union member in the operation's input
 * or output), over every command the functions' code imports; and that the configuration the
 * clients build from the module resolves as the SDK's does, while any use of it fails by name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NormalizedSchema } from '@smithy/core/schema';
import { describe, expect, it } from 'vitest';
import {
  EventStreamSerde,
  eventStreamPayloadHandlerProvider,
  EventStreamsNotBundledError,
  eventStreamSerdeProvider,
  resolveEventStreamSerdeConfig,
} from '../../functions/adapters/aws/lambda-event-streams.js';

type CommandClass = new (input: object) => { schema?: unknown };

/** `[package, command]` for every `…Command` the functions' code imports from an SDK client. */
function commandsTheFunctionsImport(): [string, string][] {
  const files = readdirSync('functions', { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => join(d.parentPath, d.name));
  const found = new Set<string>();
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'(@aws-sdk\/client-[\w-]+)'/g)) {
      for (const item of (m[1] ?? '').split(',')) {
        const name = item.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0] ?? '';
        if (/^\w+Command$/.test(name)) found.add(`${m[2] ?? ''} ${name}`);
      }
    }
  }
  return [...found].sort().map((entry) => entry.split(' ') as [string, string]);
}

/** The SDK's own test (`Command.resolveMiddleware`): does the operation stream events in or out? */
async function hasEventStream(pkg: string, name: string): Promise<boolean> {
  const client = (await import(pkg)) as Record<string, unknown>;
  const Command = client[name] as CommandClass;
  const schema = new Command({}).schema;
  if (!Array.isArray(schema) || schema[0] !== 9) throw new Error(`${pkg} ${name}: no operation schema`);
  const [, , , , input, output] = schema as [number, string, string, unknown, Parameters<typeof NormalizedSchema.of>[0], Parameters<typeof NormalizedSchema.of>[0]];
  return Boolean(NormalizedSchema.of(input).getEventStreamMember() || NormalizedSchema.of(output).getEventStreamMember());
}

describe('event streams in the Lambda bundles', () => {
  it('are used by no command the functions send', async () => {
    const commands = commandsTheFunctionsImport();

    const streaming = [];
    for (const [pkg, name] of commands) if (await hasEventStream(pkg, name)) streaming.push(`${pkg} ${name}`);

    expect(commands.map(([, name]) => name)).toEqual(expect.arrayContaining(['InvokeCommand', 'ConverseCommand', 'InvokeModelCommand', 'GetSecretValueCommand', 'GetObjectCommand', 'StartExecutionCommand', 'PutEventsCommand', 'SignCommand']));
    expect(streaming).toEqual([]);
  });

  it('are used by no DynamoDB operation (the document client sends the DynamoDB client\'s commands)', async () => {
    const dynamodb = (await import('@aws-sdk/client-dynamodb')) as Record<string, unknown>;
    const names = Object.keys(dynamodb).filter((k) => /^\w+Command$/.test(k));

    const streaming = [];
    for (const name of names) if (await hasEventStream('@aws-sdk/client-dynamodb', name)) streaming.push(name);

    expect(names.length).toBeGreaterThan(50);
    expect(streaming).toEqual([]);
  });

  it('are recognised where an operation has them (the test above can fail)', async () => {
    await expect(hasEventStream('@aws-sdk/client-bedrock-runtime', 'ConverseStreamCommand')).resolves.toBe(true);
    await expect(hasEventStream('@aws-sdk/client-lambda', 'InvokeWithResponseStreamCommand')).resolves.toBe(true);
  });

  it('resolve the client configuration as the SDK does, and fail by name if anything encodes or decodes one', () => {
    const config = resolveEventStreamSerdeConfig({ region: 'us-east-1', eventStreamSerdeProvider });
    const marshaller = config.eventStreamMarshaller as { serialize: () => unknown; deserialize: () => unknown };

    expect(config.region).toBe('us-east-1');
    expect(() => marshaller.serialize()).toThrow(EventStreamsNotBundledError);
    expect(() => marshaller.deserialize()).toThrow(EventStreamsNotBundledError);
    expect(() => new EventStreamSerde()).toThrow(EventStreamsNotBundledError);
    expect(() => eventStreamPayloadHandlerProvider({}).handle()).toThrow(/no command the functions send has an event-stream member/);
  });
});
