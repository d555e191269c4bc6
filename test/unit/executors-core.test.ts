import { describe, expect, it } from 'vitest';
import { UnprocessableError } from '../../functions/core/errors.js';
import {
  DEFAULT_EXECUTOR_TIMEOUT_MS,
  ExecutorConfigSchema,
  ExecutorError,
  ExecutorMalformedResponseError,
  NoExecutorError,
  UnsupportedModelError,
  assertSupportsModel,
  buildModelPrompt,
  executorTimeoutMs,
  modelListAllows,
  parseExecutorAnswer,
  parseJsonAnswer,
  parseModelText,
  redactExecutorConfig,
  MASKED_VALUE,
  credentialQueryParameters,
  isCredentialQueryName,
  registrationIssues,
  urlWithoutQuery,
  type ExecutionRequest,
  type ExecutorConfig,
} from '../../functions/core/executor.js';
import { createExecutor } from '../../functions/adapters/executors/create-executor.js';

function issuesOf(input: unknown): string[] {
  const r = ExecutorConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('ExecutorConfigSchema', () => {
  it('accepts each executor type in its documented shape', () => {
    const configs: unknown[] = [
      { type: 'http', url: 'http://127.0.0.1:3000/demo/credit/v2', timeoutMs: 5000, headers: { 'x-api-key': 'k' }, models: ['credit-llm'] },
      { type: 'lambda', functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:score-loan:live' },
      { type: 'lambda', functionArn: 'score-loan' },
      { type: 'bedrock', modelId: 'anthropic.claude-3-haiku-20240307-v1:0' },
      { type: 'bedrock' },
      { type: 'openai', baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o-mini', headers: { authorization: 'Bearer sk-x' } },
    ];
    for (const c of configs) expect(issuesOf(c)).toEqual([]);
  });

  it('refuses an unknown type, an unknown field and a non-http URL, naming the field', () => {
    expect(issuesOf({ type: 'grpc', url: 'x' })).toEqual(["type: type must be one of 'http', 'lambda', 'bedrock', 'openai'"]);
    expect(issuesOf({ type: 'http', url: 'http://a.example', retries: 3 })).toEqual([': unknown field(s) for a http executor: retries']);
    expect(issuesOf({ type: 'http' })).toEqual(['url: url must be a URL string']);
    expect(issuesOf({ type: 'http', url: 'http://a.example', timeoutMs: 1.5 })).toEqual(['timeoutMs: timeoutMs must be an integer number of milliseconds']);
    expect(issuesOf({ type: 'http', url: 'file:///etc/passwd' }).join()).toMatch(/^url: only http and https/);
    expect(issuesOf({ type: 'http', url: 'not a url' }).join()).toMatch(/^url: .*not an absolute URL/);
    expect(issuesOf({ type: 'openai', baseUrl: 'https://user:pw@api.example/v1' }).join()).toMatch(/credentials in the URL/);
  });

  it('bounds timeoutMs to 1..300000 and defaults it to 30000', () => {
    expect(issuesOf({ type: 'http', url: 'http://a.example', timeoutMs: 300_001 }).join()).toMatch(/timeoutMs/);
    expect(issuesOf({ type: 'http', url: 'http://a.example', timeoutMs: 0 }).join()).toMatch(/timeoutMs/);
    expect(issuesOf({ type: 'http', url: 'http://a.example', timeoutMs: 300_000 })).toEqual([]);
    expect(executorTimeoutMs({ type: 'bedrock' })).toBe(DEFAULT_EXECUTOR_TIMEOUT_MS);
    expect(DEFAULT_EXECUTOR_TIMEOUT_MS).toBe(30_000);
  });

  it('refuses header injection and headers the executor sets itself', () => {
    expect(issuesOf({ type: 'http', url: 'http://a.example', headers: { 'x-a': 'v\r\nHost: evil' } }).join()).toMatch(/CR, LF/);
    expect(issuesOf({ type: 'http', url: 'http://a.example', headers: { 'Content-Type': 'text/plain' } }).join()).toMatch(/set by the executor/);
    expect(issuesOf({ type: 'http', url: 'http://a.example', headers: { 'bad name': 'v' } }).join()).toMatch(/HTTP token/);
  });

  it('names the limit a too long header value, model name or models list exceeds, not "must be a string" / "must be a list"', () => {
    expect(issuesOf({ type: 'http', url: 'http://a.example', headers: { 'x-a': 'v'.repeat(8193) } })).toEqual(['headers.x-a: a header value must be at most 8192 characters']);
    expect(issuesOf({ type: 'http', url: 'http://a.example', models: ['m'.repeat(257)] })).toEqual(['models.0: a model name must be at most 256 characters']);
    expect(issuesOf({ type: 'http', url: 'http://a.example', models: Array.from({ length: 101 }, (_, i) => `m${i}`) })).toEqual(['models: models must list at most 100 model names']);
    expect(issuesOf({ type: 'http', url: 'http://a.example', headers: { 'x-a': 'v'.repeat(8192) }, models: Array.from({ length: 100 }, () => 'm'.repeat(256)) })).toEqual([]);
  });

  it('refuses header values HTTP cannot send (stored, they failed every replay as EXECUTOR_UNREACHABLE ERR_INVALID_CHAR)', () => {
    const control = 'headers.x-a: a header value must not contain control characters other than tab';
    const wide = 'headers.x-a: a header value may hold only characters up to U+00FF (HTTP sends header values as bytes); percent- or base64-encode others';
    for (const [value, issue] of [['v\u0001', control], ['v\u001b[31m', control], ['v\u007f', control], ['v€', wide], ['v😀', wide], ['v\u2028', wide]] as const) {
      expect(issuesOf({ type: 'http', url: 'http://a.example', headers: { 'x-a': value } }), JSON.stringify(value)).toEqual([issue]);
      expect(issuesOf({ type: 'openai', baseUrl: 'http://a.example/v1', headers: { 'x-a': value } }), JSON.stringify(value)).toEqual([issue]);
    }
    // Tab, visible ASCII and Latin-1 (sent as one byte each) are fine.
    expect(issuesOf({ type: 'http', url: 'http://a.example', headers: { 'x-a': 'a\tb ~ ä ÿ' } })).toEqual([]);
  });

  it('refuses a malformed Lambda function name and an empty models list', () => {
    expect(issuesOf({ type: 'lambda', functionArn: 'arn:aws:s3:::bucket' }).join()).toMatch(/functionArn/);
    expect(issuesOf({ type: 'lambda', functionArn: 'fn', models: [] }).join()).toMatch(/models/);
  });

  it.each([
    'arn:aws:lambda:not-a-region:123456789012:function:score',
    'arn:aws:lambda:local:123456789012:function:score',
    'arn:aws:lambda:us-east-1:12345:function:score',
    'arn:aws:lambda:us-east-1:123456789012:layer:score',
    'arn:azure:lambda:us-east-1:123456789012:function:score',
    'not:an:arn',
    'f'.repeat(65),
  ])('refuses functionArn %j: not a function name or ARN Lambda accepts', (functionArn) => {
    expect(issuesOf({ type: 'lambda', functionArn }).join()).toMatch(/functionArn must be a Lambda function name/);
  });

  it.each([
    'arn:aws:lambda:us-east-1:123456789012:function:score',
    'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:score:$LATEST',
    'arn:aws-cn:lambda:cn-north-1:123456789012:function:score:7',
    '123456789012:function:score:live',
    'not-an-arn',
    'f'.repeat(64),
  ])('accepts functionArn %j, a form Invoke takes', (functionArn) => {
    expect(issuesOf({ type: 'lambda', functionArn })).toEqual([]);
  });
});

describe('redactExecutorConfig', () => {
  it('masks every plain header value, whatever its name, and keeps secret header references', () => {
    const config: ExecutorConfig = {
      type: 'openai',
      baseUrl: 'https://x.example/v1',
      headers: { authorization: 'Bearer sk-1', 'X-Auth': 'a', 'X-Api-Auth': 'b', 'Ocp-Apim-Subscription': 'c', 'x-tenant': 'acme' },
      secretHeaders: { 'api-key': 'env:OPENAI_KEY' },
    };
    expect(redactExecutorConfig(config)).toEqual({
      ...config,
      headers: { authorization: '***', 'X-Auth': '***', 'X-Api-Auth': '***', 'Ocp-Apim-Subscription': '***', 'x-tenant': '***' },
    });
    expect(config.headers?.authorization).toBe('Bearer sk-1');
    expect(MASKED_VALUE).toBe('***');
  });

  it('masks the value of a credential-like query parameter in a URL stored before such URLs were refused', () => {
    const stored: ExecutorConfig = { type: 'http', url: 'https://m.example/decide?version=2&token=abc' };
    expect(redactExecutorConfig(stored)).toEqual({ type: 'http', url: 'https://m.example/decide?version=2&token=***' });
    expect(redactExecutorConfig({ type: 'http', url: 'https://m.example/decide?version=2' })).toEqual({ type: 'http', url: 'https://m.example/decide?version=2' });
  });
});

describe('credential-like query parameters', () => {
  it.each(['token', 'access_token', 'id-token', 'api_key', 'apiKey', 'API-KEY', 'key', 'subscription-key', 'sig', 'signature', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token', 'code', 'secret', 'client_secret', 'password', 'pwd', 'auth', 'sas', 'jwt', 'session'])(
    '%s is credential-like',
    (name) => {
      expect(isCredentialQueryName(name)).toBe(true);
    },
  );

  it.each(['version', 'api-version', 'region', 'model', 'format', 'lang', 'author', 'page'])('%s is not', (name) => {
    expect(isCredentialQueryName(name)).toBe(false);
  });

  it('lists them as written, once each', () => {
    expect(credentialQueryParameters('https://m.example/x?Token=a&v=1&token=b&SIG=c')).toEqual(['Token', 'token', 'SIG']);
    expect(credentialQueryParameters('https://m.example/x?v=1')).toEqual([]);
  });

  it('urlWithoutQuery keeps origin and path only', () => {
    expect(urlWithoutQuery('https://m.example:8443/a/b?token=x#frag')).toBe('https://m.example:8443/a/b');
    expect(urlWithoutQuery('http://127.0.0.1:3000/demo/credit/v2')).toBe('http://127.0.0.1:3000/demo/credit/v2');
  });
});

describe('registrationIssues', () => {
  const accept = () => undefined;

  it('refuses a credential query (pointing to secretHeaders), the mask as a value, a header both plain and secret, and a reference the deployment refuses', () => {
    const issues = registrationIssues(
      { type: 'http', url: 'https://m.example/x?api_key=1', headers: { 'X-Auth': '***', 'x-key': 'v' }, secretHeaders: { 'X-Key': 'env:K', 'X-Other': 'env:O' } },
      (ref) => (ref === 'env:O' ? 'not here' : undefined),
    );
    expect(issues.map((i) => i.path)).toEqual(['url', 'headers.X-Auth', 'secretHeaders.X-Key', 'secretHeaders.X-Other']);
    expect(issues[0]?.message).toMatch(/'api_key'.*secretHeaders/);
    expect(issues[3]?.message).toBe('not here');
  });

  it('has nothing to say about a clean configuration', () => {
    expect(registrationIssues({ type: 'http', url: 'https://m.example/x?version=2', headers: { 'X-Tenant': 'acme' }, secretHeaders: { 'X-Key': 'env:K' } }, accept)).toEqual([]);
    expect(registrationIssues({ type: 'lambda', functionArn: 'fn' }, accept)).toEqual([]);
  });
});

describe('secretHeaders in the schema', () => {
  it('accepts a Secrets Manager ARN (with or without suffix, any partition) and env:NAME', () => {
    for (const ref of ['arn:aws:secretsmanager:eu-west-1:123456789012:secret:decision-replay/executors/model-AbCdEf', 'arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x', 'env:MODEL_KEY', 'env:_k1']) {
      expect(issuesOf({ type: 'http', url: 'https://m.example', secretHeaders: { 'X-Key': ref } }), ref).toEqual([]);
    }
  });

  it('refuses anything else, naming the header', () => {
    for (const ref of ['sk-live-123', 'env:', 'env:1A', 'arn:aws:ssm:eu-west-1:123456789012:parameter/x', 'arn:aws:secretsmanager:eu-west-1:12345:secret:x']) {
      expect(issuesOf({ type: 'http', url: 'https://m.example', secretHeaders: { 'X-Key': ref } }), ref).toEqual([
        'secretHeaders.X-Key: must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) or env:NAME',
      ]);
    }
    expect(issuesOf({ type: 'http', url: 'https://m.example', secretHeaders: { Host: 'env:H' } }).join()).toMatch(/set by the executor/);
    expect(issuesOf({ type: 'lambda', functionArn: 'fn', secretHeaders: { 'X-Key': 'env:K' } }).join()).toMatch(/unknown field/);
  });
});

describe('supportsModel', () => {
  const deps = { allowPrivateNetworks: false };

  it('accepts any model, or none, when no models are listed (http, lambda)', () => {
    for (const config of [{ type: 'http', url: 'http://a.example' }, { type: 'lambda', functionArn: 'fn' }] as ExecutorConfig[]) {
      const executor = createExecutor(config, deps);
      expect(executor.supportsModel('credit-llm')).toBe(true);
      expect(executor.supportsModel(undefined)).toBe(true);
    }
  });

  it('accepts only listed models when models are listed, and not a decision without a model', () => {
    const executor = createExecutor({ type: 'http', url: 'http://a.example', models: ['credit-llm', 'credit-llm-2'] }, deps);
    expect(executor.supportsModel('credit-llm-2')).toBe(true);
    expect(executor.supportsModel('other-llm')).toBe(false);
    expect(executor.supportsModel(undefined)).toBe(false);
  });

  it('model executors need a model from the configuration or the decision', () => {
    expect(createExecutor({ type: 'bedrock' }, deps).supportsModel(undefined)).toBe(false);
    expect(createExecutor({ type: 'bedrock' }, deps).supportsModel('amazon.nova-lite-v1:0')).toBe(true);
    expect(createExecutor({ type: 'bedrock', modelId: 'amazon.nova-lite-v1:0' }, deps).supportsModel(undefined)).toBe(true);
    expect(createExecutor({ type: 'openai', baseUrl: 'https://x.example/v1' }, deps).supportsModel(undefined)).toBe(false);
    expect(createExecutor({ type: 'openai', baseUrl: 'https://x.example/v1', model: 'gpt-4o-mini', models: ['credit-llm'] }, deps).supportsModel('other')).toBe(false);
  });

  it('assertSupportsModel throws a 422 UnsupportedModelError naming the model', () => {
    const executor = createExecutor({ type: 'http', url: 'http://a.example', models: ['credit-llm'] }, deps);
    expect(() => assertSupportsModel(executor, 'approve_loan', 'credit-llm')).not.toThrow();
    let caught: unknown;
    try {
      assertSupportsModel(executor, 'approve_loan', 'gpt-x');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnsupportedModelError);
    expect(caught).toBeInstanceOf(UnprocessableError);
    expect((caught as UnsupportedModelError).code).toBe('UNSUPPORTED_MODEL');
    expect((caught as UnsupportedModelError).message).toMatch(/gpt-x/);
  });

  it('modelListAllows treats an absent list as "any"', () => {
    expect(modelListAllows(undefined, undefined)).toBe(true);
    expect(modelListAllows(['a'], 'a')).toBe(true);
    expect(modelListAllows(['a'], 'b')).toBe(false);
  });
});

describe('errors', () => {
  it('executor errors are not domain errors (they become persisted Error results, not 4xx)', () => {
    const err = new ExecutorMalformedResponseError('bad');
    expect(err).toBeInstanceOf(ExecutorError);
    expect(err).not.toBeInstanceOf(UnprocessableError);
    expect(err.toResultError()).toEqual({ code: 'EXECUTOR_MALFORMED_RESPONSE', message: 'bad' });
    expect(err.name).toBe('ExecutorMalformedResponseError');
  });

  it('no executor is a 422 with code NO_EXECUTOR', () => {
    const err = new NoExecutorError('approve_loan');
    expect(err).toBeInstanceOf(UnprocessableError);
    expect(err.code).toBe('NO_EXECUTOR');
    expect(err.message).toMatch(/approve_loan/);
  });
});

describe('parseExecutorAnswer', () => {
  it('keeps outputs and the reported time, dropping unknown top-level fields', () => {
    const answer = parseExecutorAnswer({ outputs: [{ name: 'decision', value: 'approve', type: 'string' }, { name: 'score', value: 0.8 }], executionTimeMs: 12, model: 'x' }, 't');
    expect(answer).toEqual({ outputs: [{ name: 'decision', value: 'approve', type: 'string' }, { name: 'score', value: 0.8 }], executionTimeMs: 12 });
  });

  it('says which field is wrong', () => {
    expect(() => parseExecutorAnswer({ outputs: [{ value: 1 }] }, 'http POST x')).toThrow(/outputs\[0\]\.name/);
    expect(() => parseExecutorAnswer({ result: 'approve' }, 'http POST x')).toThrow(/outputs: /);
    expect(() => parseExecutorAnswer({ outputs: [] }, 'x')).toThrow(/at least one output/);
    expect(() => parseExecutorAnswer({ outputs: [{ name: 'a', value: 1 }, { name: 'a', value: 2 }] }, 'x')).toThrow(/duplicate output name 'a'/);
    expect(() => parseExecutorAnswer({ outputs: [{ name: 'a', value: 1 }], executionTimeMs: -1 }, 'x')).toThrow(/executionTimeMs/);
    expect(() => parseExecutorAnswer([1, 2], 'x')).toThrow(ExecutorMalformedResponseError);
  });

  it('refuses an answer nested deeper than a request body may be (64 levels) as malformed, not a stack overflow', () => {
    const deep = JSON.parse(`{"outputs":[{"name":"decision","value":${'['.repeat(5000)}1${']'.repeat(5000)}}]}`) as unknown;
    expect(() => parseExecutorAnswer(deep, 'http POST x')).toThrow(ExecutorMalformedResponseError);
    expect(() => parseExecutorAnswer(deep, 'http POST x')).toThrow(/nested deeper than 64 levels \(at outputs\[0\]\.value(\[0\])+\)/);
    const atLimit = JSON.parse(`{"outputs":[{"name":"decision","value":${'['.repeat(20)}1${']'.repeat(20)}}]}`) as unknown;
    expect(parseExecutorAnswer(atLimit, 'x').outputs).toHaveLength(1);
  });

  it('refuses an answer holding a __proto__ key, naming where, instead of recording {}', () => {
    const answer = JSON.parse('{"outputs":[{"name":"decision","value":{"__proto__":{"polluted":1}}}]}') as unknown;
    expect(() => parseExecutorAnswer(answer, 'http POST x')).toThrow(ExecutorMalformedResponseError);
    expect(() => parseExecutorAnswer(answer, 'http POST x')).toThrow(/the key "__proto__" at outputs\[0\]\.value\.__proto__/);
  });

  it('refuses an answer text that names a key twice in one object, naming it, instead of recording the last value', () => {
    const text = '{"outputs":[{"name":"decision","value":"deny","value":"approve"}]}';
    expect(() => parseJsonAnswer(text, 'http POST x')).toThrow(ExecutorMalformedResponseError);
    expect(() => parseJsonAnswer(text, 'http POST x')).toThrow('http POST x answered with the key "value" twice in the object at outputs[0]; only the last would be kept');
    expect(() => parseJsonAnswer('{"outputs":[],"outputs":[{"name":"a","value":1}]}', 'x')).toThrow(/the key "outputs" twice in the object at \(root\)/);
    // The same key in different objects, or escaped differently but distinct, is fine.
    expect(parseJsonAnswer('{"outputs":[{"name":"a","value":{"name":"b","value":1}},{"name":"\\u0062","value":2}]}', 'x')).toEqual({ outputs: [{ name: 'a', value: { name: 'b', value: 1 } }, { name: 'b', value: 2 }] });
  });

  it('refuses an answer holding text that is not valid Unicode (a lone surrogate), naming where, instead of failing the replay with a 500', () => {
    // JSON allows "\ud800"; it has no UTF-8 form, so the result could be neither hashed nor stored.
    const answer = JSON.parse('{"outputs":[{"name":"decision","value":{"why":["ok","a\\ud800"]}}]}') as unknown;
    expect(() => parseExecutorAnswer(answer, 'http POST x')).toThrow(ExecutorMalformedResponseError);
    expect(() => parseExecutorAnswer(answer, 'http POST x')).toThrow('http POST x answered with text that is not valid Unicode (a lone UTF-16 surrogate) at outputs[0].value.why[1]');
    const inName = JSON.parse('{"outputs":[{"name":"d\\udc00","value":1}]}') as unknown;
    expect(() => parseExecutorAnswer(inName, 'x')).toThrow(/not valid Unicode .* at outputs\[0\]\.name/);
    const inDependency = JSON.parse('{"outputs":[{"name":"d","value":1}],"dependencies":[{"name":"rates","kind":"http","request":{"q":"\\ud83d"}}]}') as unknown;
    expect(() => parseExecutorAnswer(inDependency, 'x')).toThrow(/not valid Unicode .* at dependencies\[0\]\.request\.q/);
    // A model's prose answer too; a whole emoji (a surrogate pair) is fine.
    expect(() => parseModelText('Approve \ud800', ['rationale'], 'openai m')).toThrow(/not valid Unicode .* at outputs\[0\]\.value/);
    expect(parseModelText('Approve \u{1F44D}', ['rationale'], 'openai m')).toEqual([{ name: 'rationale', value: 'Approve \u{1F44D}', type: 'string' }]);
  });

  it('holds a model text answer to the same limits (bedrock, openai)', () => {
    expect(() => parseModelText('{"decision":{"__proto__":{"polluted":1}}}', ['decision'], 'bedrock m')).toThrow(/"__proto__" at outputs\[0\]\.value\.__proto__/);
    expect(() => parseModelText(`{"outputs":[{"name":"decision","value":${'['.repeat(3000)}${']'.repeat(3000)}}]}`, ['decision'], 'openai m')).toThrow(/nested deeper than 64 levels/);
  });
});

describe('model prompts and answers', () => {
  const req: ExecutionRequest = {
    functionName: 'approve_loan',
    inputs: [{ name: 'applicant', value: { income: 52000, age: 41 } }],
    modelParameters: { modelName: 'credit-llm', temperature: 0 },
    expectedOutputs: ['decision', 'score'],
  };

  it('asks for the expected outputs as JSON when no system prompt was recorded', () => {
    const prompt = buildModelPrompt(req);
    expect(prompt.system).toContain('"decision", "score"');
    expect(prompt.system).toContain('{"outputs":[{"name":"<output name>","value":<any JSON value>}]}');
    expect(JSON.parse(prompt.user)).toEqual({ applicant: { income: 52000, age: 41 } });
  });

  it('uses the recorded context.systemPrompt as the system prompt', () => {
    expect(buildModelPrompt({ ...req, context: { systemPrompt: 'You are a loan officer.' } }).system).toBe('You are a loan officer.');
  });

  it('reads a bare JSON answer, a fenced one, and one keyed by output name', () => {
    const expected = [{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.8 }];
    expect(parseModelText('{"outputs":[{"name":"decision","value":"approve"},{"name":"score","value":0.8}]}', ['decision', 'score'], 't')).toEqual(expected);
    expect(parseModelText('Here you go:\n```json\n{"outputs":[{"name":"decision","value":"approve"},{"name":"score","value":0.8}]}\n```\n', ['decision', 'score'], 't')).toEqual(expected);
    expect(parseModelText('{"decision":"approve","score":0.8}', ['decision', 'score'], 't')).toEqual(expected);
  });

  it('takes plain text as the single expected output', () => {
    expect(parseModelText('  Approve: income is high.  ', ['rationale'], 't')).toEqual([{ name: 'rationale', value: 'Approve: income is high.', type: 'string' }]);
  });

  it('refuses text that holds no outputs when several are expected, quoting the text', () => {
    expect(() => parseModelText('I think approve.', ['decision', 'score'], 'bedrock converse m')).toThrow(/no JSON object of the outputs "decision", "score": "I think approve."/);
    expect(() => parseModelText('{"outputs":[{"value":1}]}', ['decision'], 't')).toThrow(/outputs\[0\]\.name/);
  });

  it('refuses a JSON object without the expected key, or a JSON array, even when one output is expected (not prose)', () => {
    expect(() => parseModelText('{"z":1}', ['y'], 'openai m')).toThrow(ExecutorMalformedResponseError);
    expect(() => parseModelText('{"z":1}', ['y'], 'openai m')).toThrow('openai m answered with JSON that is not {"outputs":[…]} or an object keyed by "y": "{\\"z\\":1}"');
    expect(() => parseModelText('[1,2]', ['y'], 'openai m')).toThrow(/answered with JSON that is not/);
    expect(() => parseModelText('Sure:\n```json\n{"z":1}\n```', ['y'], 'openai m')).toThrow(/answered with JSON that is not/);
    // Prose that merely mentions braces is still prose.
    expect(parseModelText('Approve {score high}', ['y'], 't')).toEqual([{ name: 'y', value: 'Approve {score high}', type: 'string' }]);
  });
});
