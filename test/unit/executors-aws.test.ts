/**
 * The Lambda and Bedrock executors: the SDK mocked with aws-sdk-client-mock for the answer shapes,
 * and the real SDK clients against a stub endpoint on 127.0.0.1 for the wire format and for the
 * timeout (a mock ignores the abort signal; the real client must honour it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createH2cServer, type Http2Server, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { BedrockRuntimeClient, ConverseCommand, ThrottlingException, type ConverseCommandOutput } from '@aws-sdk/client-bedrock-runtime';
import { InvokeCommand, LambdaClient, ResourceNotFoundException, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UnsupportedModelError, type ExecutionRequest } from '../../functions/core/executor.js';
import { BedrockExecutor, converseInput } from '../../functions/adapters/executors/bedrock-executor.js';
import { createExecutor } from '../../functions/adapters/executors/create-executor.js';
import { LambdaExecutor } from '../../functions/adapters/executors/lambda-executor.js';
import { expectCode, failure } from '../support/executor-assertions.js';

const request: ExecutionRequest = {
  functionName: 'approve_loan',
  inputs: [{ name: 'applicant', value: { income: 52000, age: 41 }, type: 'object' }],
  modelParameters: { modelName: 'anthropic.claude-3-haiku-20240307-v1:0', temperature: 0, maxTokens: 256, topP: 1, seed: 7 },
  context: { tenant: 'acme' },
  expectedOutputs: ['decision', 'score'],
};

const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } as const;

function payload(value: unknown): InvokeCommandOutput['Payload'] {
  return new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value)) as InvokeCommandOutput['Payload'];
}

describe('LambdaExecutor (mocked SDK)', () => {
  const lambdaMock = mockClient(LambdaClient);
  const client = new LambdaClient(LOCAL);
  const executor = new LambdaExecutor({ type: 'lambda', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:score-loan:live' }, { client: () => client });

  beforeEach(() => lambdaMock.reset());
  afterAll(() => lambdaMock.restore());

  it('invokes the function with the http request JSON and returns its outputs', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ outputs: [{ name: 'decision', value: 'approve' }], executionTimeMs: 3 }) });

    const result = await executor.execute(request, { timeoutMs: 5000 });

    expect(result.outputs).toEqual([{ name: 'decision', value: 'approve' }]);
    expect(result.reportedExecutionTimeMs).toBe(3);
    const [call] = lambdaMock.commandCalls(InvokeCommand);
    const input = call?.args[0].input;
    expect(input?.FunctionName).toBe('arn:aws:lambda:us-east-1:123456789012:function:score-loan:live');
    expect(input?.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual({
      functionName: 'approve_loan',
      inputs: request.inputs,
      modelParameters: request.modelParameters,
      context: request.context,
    });
  });

  it('reports a FunctionError as EXECUTOR_FAILED with the function\'s errorMessage', async () => {
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'TypeError', errorMessage: "Cannot read properties of undefined (reading 'income')", trace: [] }),
    });
    const err = await failure(executor.execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_FAILED');
    expect(err.message).toContain("Cannot read properties of undefined (reading 'income')");
    expect(err.message).toContain('TypeError');
  });

  it('reports a payload that is not JSON, or of the wrong shape, as EXECUTOR_MALFORMED_RESPONSE', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload('approve') });
    const notJson = await failure(executor.execute(request, { timeoutMs: 5000 }));
    expectCode(notJson, 'EXECUTOR_MALFORMED_RESPONSE');
    expect(notJson.message).toMatch(/not JSON/);

    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ statusCode: 200, body: '{}' }) });
    const wrongShape = await failure(executor.execute(request, { timeoutMs: 5000 }));
    expectCode(wrongShape, 'EXECUTOR_MALFORMED_RESPONSE');
    expect(wrongShape.message).toMatch(/outputs: /);
  });

  it('refuses a payload over the size limit', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ outputs: [{ name: 'a', value: 'x'.repeat(2000) }] }) });
    const small = new LambdaExecutor({ type: 'lambda', functionArn: 'score-loan' }, { client: () => client, maxResponseBytes: 1000 });
    expectCode(await failure(small.execute(request, { timeoutMs: 5000 })), 'EXECUTOR_RESPONSE_TOO_LARGE');
  });

  it('createExecutor makes the client lazily, once per factory, shared by every executor', async () => {
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ outputs: [{ name: 'decision', value: 'approve' }] }) });
    let made = 0;
    const factory = (): LambdaClient => {
      made += 1;
      return new LambdaClient(LOCAL);
    };
    const first = createExecutor({ type: 'lambda', functionArn: 'score-loan' }, { allowPrivateNetworks: false, lambdaClient: factory });
    const second = createExecutor({ type: 'lambda', functionArn: 'score-loan-v2', timeoutMs: 1000 }, { allowPrivateNetworks: false, lambdaClient: factory });
    expect(made).toBe(0);
    expect(second.timeoutMs).toBe(1000);
    expect(first.timeoutMs).toBe(30_000);
    expect(first.description).toBe('lambda invoke score-loan');

    await first.execute(request, { timeoutMs: 5000 });
    await first.execute(request, { timeoutMs: 5000 });
    await second.execute(request, { timeoutMs: 5000 });

    expect(made).toBe(1);
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(3);
  });

  it('maps a service error to EXECUTOR_HTTP_STATUS with its status', async () => {
    lambdaMock.on(InvokeCommand).rejects(new ResourceNotFoundException({ message: 'Function not found: score-loan', $metadata: { httpStatusCode: 404 } }));
    const err = await failure(executor.execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_HTTP_STATUS');
    expect(err).toHaveProperty('status', 404);
    expect(err.message).toContain('Function not found');
  });
});

describe('BedrockExecutor (mocked SDK)', () => {
  const bedrockMock = mockClient(BedrockRuntimeClient);
  const client = new BedrockRuntimeClient(LOCAL);

  function answer(text: string, extra: Partial<ConverseCommandOutput> = {}): ConverseCommandOutput {
    return {
      output: { message: { role: 'assistant', content: [{ text }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 10, outputTokens: 20, totalTokens: 30 },
      metrics: { latencyMs: 321 },
      $metadata: {},
      ...extra,
    };
  }

  beforeEach(() => bedrockMock.reset());
  afterAll(() => bedrockMock.restore());

  it('sends the recorded model, the JSON instruction, the inputs and the inference settings', async () => {
    bedrockMock.on(ConverseCommand).resolves(answer('{"outputs":[{"name":"decision","value":"approve"},{"name":"score","value":0.81}]}'));
    const executor = new BedrockExecutor({ type: 'bedrock' }, { client: () => client });

    const result = await executor.execute(request, { timeoutMs: 5000 });

    expect(result.outputs).toEqual([{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.81 }]);
    expect(result.reportedExecutionTimeMs).toBe(321);
    const input = bedrockMock.commandCalls(ConverseCommand)[0]?.args[0].input;
    expect(input?.modelId).toBe('anthropic.claude-3-haiku-20240307-v1:0');
    expect(input?.inferenceConfig).toEqual({ temperature: 0, maxTokens: 256, topP: 1 });
    expect(input?.system?.[0]).toMatchObject({ text: expect.stringContaining('"decision", "score"') });
    const userText = input?.messages?.[0]?.content?.[0]?.text ?? '';
    expect(JSON.parse(userText)).toEqual({ applicant: { income: 52000, age: 41 } });
  });

  it('prefers the configured modelId (a candidate model) and the recorded system prompt', () => {
    const input = converseInput({ ...request, context: { systemPrompt: 'You are a careful loan officer.' } }, 'amazon.nova-lite-v1:0');
    expect(input.modelId).toBe('amazon.nova-lite-v1:0');
    expect(input.system).toEqual([{ text: 'You are a careful loan officer.' }]);
  });

  it('reads an answer inside a ```json fence', async () => {
    bedrockMock.on(ConverseCommand).resolves(answer('Sure.\n```json\n{"outputs":[{"name":"decision","value":"review"},{"name":"score","value":0.5}]}\n```'));
    const result = await new BedrockExecutor({ type: 'bedrock', modelId: 'amazon.nova-lite-v1:0' }, { client: () => client }).execute(request, { timeoutMs: 5000 });
    expect(result.outputs).toEqual([{ name: 'decision', value: 'review' }, { name: 'score', value: 0.5 }]);
    expect(bedrockMock.commandCalls(ConverseCommand)[0]?.args[0].input.modelId).toBe('amazon.nova-lite-v1:0');
  });

  it('takes plain text as the one expected output', async () => {
    bedrockMock.on(ConverseCommand).resolves(answer('The applicant earns well above the threshold.'));
    const result = await new BedrockExecutor({ type: 'bedrock' }, { client: () => client }).execute({ ...request, expectedOutputs: ['rationale'] }, { timeoutMs: 5000 });
    expect(result.outputs).toEqual([{ name: 'rationale', value: 'The applicant earns well above the threshold.', type: 'string' }]);
  });

  it('reports an unusable answer as EXECUTOR_MALFORMED_RESPONSE, saying when it was cut off', async () => {
    bedrockMock.on(ConverseCommand).resolves(answer('{"outputs":[{"name":"decision","val', { stopReason: 'max_tokens' }));
    const err = await failure(new BedrockExecutor({ type: 'bedrock' }, { client: () => client }).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_MALFORMED_RESPONSE');
    expect(err.message).toMatch(/cut off at maxTokens/);

    bedrockMock.on(ConverseCommand).resolves(answer(''));
    expectCode(await failure(new BedrockExecutor({ type: 'bedrock' }, { client: () => client }).execute(request, { timeoutMs: 5000 })), 'EXECUTOR_MALFORMED_RESPONSE');
  });

  it('maps throttling to EXECUTOR_HTTP_STATUS 429', async () => {
    bedrockMock.on(ConverseCommand).rejects(new ThrottlingException({ message: 'Too many requests', $metadata: { httpStatusCode: 429 } }));
    const err = await failure(new BedrockExecutor({ type: 'bedrock' }, { client: () => client }).execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_HTTP_STATUS');
    expect(err).toHaveProperty('status', 429);
  });

  it('refuses to run without any model id (422, not an executor error)', async () => {
    await expect(new BedrockExecutor({ type: 'bedrock' }, { client: () => client }).execute({ ...request, modelParameters: undefined }, { timeoutMs: 5000 })).rejects.toBeInstanceOf(UnsupportedModelError);
    expect(bedrockMock.commandCalls(ConverseCommand)).toHaveLength(0);
  });
});

describe('real SDK clients against a stub AWS endpoint', () => {
  let server: Server;
  let endpoint: string;
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const paths: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        paths.push(`${req.method ?? ''} ${req.url ?? ''}`);
        handler(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    paths.length = 0;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('Lambda: reads the X-Amz-Function-Error header as EXECUTOR_FAILED', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
      res.end(JSON.stringify({ errorType: 'Error', errorMessage: 'model file missing' }));
    };
    const executor = createExecutor({ type: 'lambda', functionArn: 'score-loan' }, { allowPrivateNetworks: false, lambdaClient: () => new LambdaClient({ ...LOCAL, endpoint }) });
    const err = await failure(executor.execute(request, { timeoutMs: 5000 }));
    expectCode(err, 'EXECUTOR_FAILED');
    expect(err.message).toContain('model file missing');
    expect(paths).toEqual(['POST /2015-03-31/functions/score-loan/invocations']);
  });

  it('Lambda: the timeout aborts a slow invocation, SDK retries included', async () => {
    handler = (_req, res) => setTimeout(() => res.end('{}'), 3000);
    const executor = createExecutor({ type: 'lambda', functionArn: 'score-loan' }, { allowPrivateNetworks: false, lambdaClient: () => new LambdaClient({ ...LOCAL, endpoint }) });
    const started = Date.now();
    const err = await failure(executor.execute(request, { timeoutMs: 300 }));
    expectCode(err, 'EXECUTOR_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('real Bedrock Runtime client against a stub endpoint (HTTP/2 cleartext, as the client speaks it)', () => {
  let server: Http2Server;
  let endpoint: string;
  let handler: (req: Http2ServerRequest, res: Http2ServerResponse) => void = (_req, res) => res.end();
  const paths: string[] = [];

  beforeAll(async () => {
    server = createH2cServer((req, res) => {
      req.resume();
      req.on('end', () => {
        paths.push(`${req.method} ${req.url}`);
        handler(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('a Converse answer over the wire becomes outputs; a slow one times out', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        output: { message: { role: 'assistant', content: [{ text: '{"decision":"approve","score":0.9}' }] } },
        stopReason: 'end_turn',
        usage: { inputTokens: 5, outputTokens: 9, totalTokens: 14 },
        metrics: { latencyMs: 88 },
      }));
    };
    const client = new BedrockRuntimeClient({ ...LOCAL, endpoint });
    const executor = createExecutor({ type: 'bedrock', modelId: 'amazon.nova-lite-v1:0' }, { allowPrivateNetworks: false, bedrockClient: () => client });
    const result = await executor.execute(request, { timeoutMs: 5000 });
    expect(result.outputs).toEqual([{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.9 }]);
    expect(result.reportedExecutionTimeMs).toBe(88);
    expect(paths).toEqual([`POST /model/${encodeURIComponent('amazon.nova-lite-v1:0')}/converse`]);

    handler = (_req, res) => {
      setTimeout(() => {
        if (!res.stream.destroyed) res.end('{}');
      }, 3000);
    };
    const started = Date.now();
    expectCode(await failure(executor.execute(request, { timeoutMs: 300 })), 'EXECUTOR_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1500);
    client.destroy();
  });
});
