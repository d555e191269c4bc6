/**
 * Bundled by test/infra/function-bundle.test.ts twice, with and without the build's SDK schema
 * transform (lib/function-bundle-build.mjs), and run: it prints what the clients the functions use
 * put on the wire and what they make of canned answers, errors included, through a request handler
 * that answers without a network. Both builds must print the same; errors are printed with their
 * modelled fields, their class (`instanceof` the client's error classes and its service base) and
 * every own property. One client takes its credentials
 * from the environment (the SDK's default chain; in a function's build, the Lambda provider).
 */
import { Readable } from 'node:stream';
import { BedrockRuntimeClient, BedrockRuntimeServiceException, ConverseCommand, InvokeModelCommand, ModelErrorException, ThrottlingException } from '@aws-sdk/client-bedrock-runtime';
import { ConditionalCheckFailedException, DynamoDBClient, DynamoDBServiceException, PutItemCommand, ReplicatedWriteConflictException } from '@aws-sdk/client-dynamodb';
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { InvokeCommand, LambdaClient, LambdaServiceException, ResourceNotFoundException as LambdaResourceNotFound, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, ResourceNotFoundException as SecretNotFound, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { StartExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';

interface Canned {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const seen: unknown[] = [];
let next: Canned = { statusCode: 200, headers: {}, body: '' };

/** Records each request (less what differs from run to run: dates, signatures, ids) and answers `next`. */
const requestHandler = {
  handle: async (request: { method: string; hostname: string; path: string; query?: Record<string, unknown>; headers: Record<string, string>; body?: unknown }) => {
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([k]) => !/^(authorization|x-amz-date|amz-sdk-invocation-id|x-amz-user-agent|user-agent|x-amz-content-sha256)$/i.test(k)).sort());
    const body = typeof request.body === 'string' ? request.body : request.body instanceof Uint8Array ? Buffer.from(request.body).toString('utf8') : request.body === undefined ? '' : '(stream)';
    // Whose keys signed it (the date and signature differ from run to run; the key id does not).
    const signedBy = /Credential=([^/]+)\//.exec(request.headers.authorization ?? '')?.[1];
    seen.push({ method: request.method, hostname: request.hostname, path: request.path, query: request.query, headers, body, signedBy });
    const { statusCode, headers: answerHeaders, body: answer } = next;
    return { response: { statusCode, headers: answerHeaders, body: Readable.from([Buffer.from(answer)]) } };
  },
};

const config = { region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 's' }, requestHandler, maxAttempts: 1 };

async function call(answer: Canned, send: () => Promise<unknown>): Promise<unknown> {
  next = answer;
  try {
    const out = (await send()) as Record<string, unknown>;
    const { $metadata: _m, Body: body, ...rest } = out;
    return { ok: { ...rest, ...(body !== undefined && { Body: await (body as { transformToString(): Promise<string> }).transformToString() }) } };
  } catch (err) {
    const e = err as { name?: string; message?: string; $fault?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
    const own = Object.fromEntries(Object.entries(e).filter(([k]) => !['$metadata', '$response', 'stack'].includes(k)));
    const classes = Object.fromEntries(Object.entries(ERROR_CLASSES).map(([name, cls]) => [name, err instanceof cls]));
    return { error: { name: e.name, message: e.message, fault: e.$fault, status: e.$metadata?.httpStatusCode, retryable: e.$retryable, ownKeys: Object.keys(e), own, classes } };
  }
}

/** Error classes of the clients, by what each error answer below should (and should not) be. */
const ERROR_CLASSES: Record<string, abstract new (...args: never[]) => unknown> = {
  Error,
  DynamoDBServiceException,
  ConditionalCheckFailedException,
  ReplicatedWriteConflictException,
  LambdaServiceException,
  LambdaResourceNotFound,
  TooManyRequestsException,
  BedrockRuntimeServiceException,
  ThrottlingException,
  ModelErrorException,
  SecretNotFound,
};

const json = (body: unknown, statusCode = 200, headers: Record<string, string> = {}): Canned => ({ statusCode, headers: { 'content-type': 'application/x-amz-json-1.1', ...headers }, body: JSON.stringify(body) });
const json10 = (body: unknown, statusCode = 200): Canned => ({ statusCode, headers: { 'content-type': 'application/x-amz-json-1.0' }, body: JSON.stringify(body) });
const restJson = (body: unknown, statusCode: number, errorType: string, headers: Record<string, string> = {}): Canned => ({ statusCode, headers: { 'content-type': 'application/json', 'x-amzn-errortype': errorType, ...headers }, body: JSON.stringify(body) });
const xml = (body: string, statusCode = 200): Canned => ({ statusCode, headers: { 'content-type': 'application/xml' }, body });

const s3 = new S3Client(config);
const lambda = new LambdaClient(config);
const kms = new KMSClient(config);
const bedrock = new BedrockRuntimeClient(config);
const secrets = new SecretsManagerClient(config);
const sfn = new SFNClient(config);
const dynamodb = new DynamoDBClient(config);
// No credentials given: the default provider reads the environment the test sets.
const sfnFromEnv = new SFNClient({ region: 'us-east-1', requestHandler, maxAttempts: 1 });

const results = [
  await call(xml('', 200), () => s3.send(new PutObjectCommand({ Bucket: 'b', Key: 'k/1.json', Body: '{"a":1}', ContentType: 'application/json', Metadata: { sealed: 'yes' }, ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(Date.UTC(2030, 0, 1)) }))),
  await call({ statusCode: 200, headers: { 'content-type': 'text/plain', etag: '"e"', 'x-amz-meta-sealed': 'yes', 'content-length': '5' }, body: 'hello' }, () => s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k/1.json' }))),
  await call(xml('<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>The key does not exist</Message></Error>', 404), () => s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'missing' }))),
  await call(xml('<?xml version="1.0"?><ListBucketResult><Name>b</Name><KeyCount>1</KeyCount><IsTruncated>true</IsTruncated><NextContinuationToken>t2</NextContinuationToken><Contents><Key>k/1.json</Key><Size>7</Size><LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents></ListBucketResult>'), () => s3.send(new ListObjectsV2Command({ Bucket: 'b', Prefix: 'k/', StartAfter: 'k/0', ContinuationToken: 't1', MaxKeys: 10 }))),
  await call({ statusCode: 200, headers: { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '3' }, body: '{"errorMessage":"boom"}' }, () => lambda.send(new InvokeCommand({ FunctionName: 'fn', Qualifier: 'live', Payload: new TextEncoder().encode('{"x":1}') }))),
  await call(json({ Type: 'User', Message: 'Function not found: fn' }, 404, { 'x-amzn-errortype': 'ResourceNotFoundException' }), () => lambda.send(new InvokeCommand({ FunctionName: 'fn' }))),
  await call(json({ KeyId: 'k', Signature: 'c2ln', SigningAlgorithm: 'ECDSA_SHA_256' }), () => kms.send(new SignCommand({ KeyId: 'k', Message: new Uint8Array([1, 2, 3]), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }))),
  await call(json({ __type: 'NotFoundException', message: 'no key' }, 400), () => kms.send(new SignCommand({ KeyId: 'k', Message: new Uint8Array([1]), SigningAlgorithm: 'ECDSA_SHA_256' }))),
  await call({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"embedding":[0.5]}' }, () => bedrock.send(new InvokeModelCommand({ modelId: 'amazon.titan-embed-text-v2:0', contentType: 'application/json', accept: 'application/json', body: new TextEncoder().encode('{"inputText":"x"}') }))),
  await call(json({ ARN: 'arn:s', Name: 'n', SecretString: '{"k":"v"}', VersionId: 'v1' }), () => secrets.send(new GetSecretValueCommand({ SecretId: 'arn:s' }))),
  await call(json({ executionArn: 'arn:e', startDate: 1767225600 }), () => sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn:m', name: 'b1', input: '{}' }))),
  await call(json({ __type: 'ExecutionAlreadyExists', message: 'exists' }, 400), () => sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn:m', name: 'b1', input: '{}' }))),
  await call(json({ executionArn: 'arn:e2', startDate: 1767225600 }), () => sfnFromEnv.send(new StartExecutionCommand({ stateMachineArn: 'arn:m', name: 'b2', input: '{}' }))),
  // Modelled errors: each arrives as its class, with its fields (a header-bound one included).
  await call(restJson({ Type: 'User', message: 'Rate exceeded', Reason: 'ConcurrentInvocationLimitExceeded' }, 429, 'TooManyRequestsException', { 'retry-after': '7' }), () => lambda.send(new InvokeCommand({ FunctionName: 'fn' }))),
  await call(restJson({ message: 'Too many tokens' }, 429, 'ThrottlingException'), () => bedrock.send(new ConverseCommand({ modelId: 'amazon.nova-lite-v1:0', messages: [{ role: 'user', content: [{ text: 'hi' }] }] }))),
  await call(restJson({ message: 'model failed', originalStatusCode: 500, resourceName: 'm' }, 424, 'ModelErrorException'), () => bedrock.send(new InvokeModelCommand({ modelId: 'm', body: new TextEncoder().encode('{}') }))),
  await call(json10({ __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException', message: 'The conditional request failed', Item: { pk: { S: 'SNAP#1' } } }, 400), () => dynamodb.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'SNAP#1' } }, ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }))),
  await call(json10({ __type: 'com.amazonaws.dynamodb.v20120810#ReplicatedWriteConflictException', message: 'conflict' }, 400), () => dynamodb.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'SNAP#2' } } }))),
  await call(json({ __type: 'ResourceNotFoundException', Message: 'no such secret' }, 400), () => secrets.send(new GetSecretValueCommand({ SecretId: 'arn:missing' }))),
  // An error the model does not name: the service's base exception, with the name it was sent.
  await call(restJson({ message: 'new in the API' }, 400, 'SomeFutureException'), () => lambda.send(new InvokeCommand({ FunctionName: 'fn' }))),
];

process.stdout.write(JSON.stringify({ requests: seen, results }, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v), 2));
