/**
 * Every Lambda entry module (`functions/handlers/<name>.handler.ts`) imported exactly as Lambda
 * would: with the environment the synthesized template gives that function (and nothing more),
 * its AWS clients pointed at dynalite and at a stand-in for Step Functions and EventBridge. Each is
 * invoked on a real-shaped event, in the order a decision goes through the system. A variable the
 * template does not set, a grant-less wiring or a composition that differs from the local host's
 * fails here.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LAMBDA_NAMES, type EnvVarName, type LambdaName } from '../../functions/api/manifest.js';
import { ENV_VARS, lambdaEnv } from '../../functions/config.js';
import { flattenJoin } from '../../lib/cfn-join.js';
import { synthStack } from '../infra/synth.js';
import { startFakeAws, type FakeAws } from '../support/fake-aws.js';
import { apiEvent, streamInsertEvent } from '../support/lambda-events.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';
import { startLocalS3, type LocalS3 } from '../../functions/local/s3.js';
import { DynamoNoiseProfileStore } from '../../functions/adapters/dynamodb/noise-profile-store.js';

type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
type TaskHandler = (payload: unknown) => Promise<Record<string, unknown>>;
type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:BatchWorkflow';
const EVENT_BUS_NAME = 'decision-replay';
const MANIFEST_BUCKET = 'handler-modules-manifests';
const CURSOR_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:CursorsSecret-AbCdEf';

let dynamo: TestDynamo;
let aws: FakeAws;
let s3: LocalS3;
let templateEnv: Record<LambdaName, Record<string, unknown>>;
let refs: Record<string, string>;
const modules = {} as Record<LambdaName, { handler: unknown }>;

/** The pseudo parameters an ARN built with `formatArn` joins, as this test's account has them. */
const PSEUDO: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012' };

/** The template's value of a variable, with the resources it refers to replaced by the local ones. */
function resolve(name: LambdaName, variable: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'Fn::Join' in value) return flattenJoin(value, { token: (token) => resolve(name, variable, token) });
  const pseudo = (value as { Ref?: string }).Ref;
  if (pseudo !== undefined && PSEUDO[pseudo] !== undefined) return PSEUDO[pseudo];
  const ref = (value as { Ref?: string }).Ref ?? (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt']?.[0];
  const local = ref === undefined ? undefined : refs[ref];
  if (local === undefined) throw new Error(`${name}: ${variable} is ${JSON.stringify(value)}, which this test cannot resolve to a local resource`);
  return local;
}

/**
 * Imports the entry module of `name` with exactly its template environment (the other functions'
 * variables removed), as its configuration is read at import. What the Lambda runtime provides to
 * every function (region, credentials) is set for the whole file, see beforeAll.
 */
async function importEntry(name: LambdaName): Promise<{ handler: unknown }> {
  const saved = { ...process.env };
  try {
    for (const variable of Object.keys(ENV_VARS)) delete process.env[variable];
    for (const [variable, value] of Object.entries(templateEnv[name])) process.env[variable] = resolve(name, variable, value);
    return (await import(`../../functions/handlers/${name}.handler.ts`)) as { handler: unknown };
  } finally {
    process.env = saved;
  }
}

const http = (name: LambdaName) => modules[name].handler as HttpHandler;
const task = (name: LambdaName) => modules[name].handler as TaskHandler;
const body = (res: APIGatewayProxyStructuredResultV2) => JSON.parse(res.body ?? 'null') as Record<string, unknown>;

describe('the Lambda entry modules, composed from the synthesized template', () => {
  let snapshotId: string;
  let batchId: string;

  const savedEnv = { ...process.env };
  /** What the functions print: Powertools' JSON log lines and EMF metric lines. */
  const printed: Record<string, unknown>[] = [];
  const linesWhere = (test: (line: Record<string, unknown>) => boolean) => printed.filter(test);

  beforeAll(async () => {
    // Powertools prints INFO and EMF lines to stdout, WARN and ERROR to stderr.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        for (const line of String(chunk).split('\n')) {
          try {
            if (line.startsWith('{')) printed.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // not a JSON line
          }
        }
        return true;
      });
    }
    const { stack, template } = synthStack();
    templateEnv = {} as Record<LambdaName, Record<string, unknown>>;
    const resources = template.toJSON().Resources as Record<string, { Properties: { Environment?: { Variables: Record<string, unknown> } } }>;
    for (const name of LAMBDA_NAMES) templateEnv[name] = resources[stack.getLogicalId(stack.functions[name].node.defaultChild as never)]?.Properties.Environment?.Variables ?? {};
    dynamo = await startTestDynamo();
    aws = await startFakeAws();
    s3 = await startLocalS3({ port: 0, bucket: MANIFEST_BUCKET });
    refs = {
      [Object.keys(template.findResources('AWS::DynamoDB::Table'))[0] ?? '']: dynamo.tableName,
      [Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0] ?? '']: STATE_MACHINE_ARN,
      [Object.keys(template.findResources('AWS::Events::EventBus'))[0] ?? '']: EVENT_BUS_NAME,
      [Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => id.startsWith('Manifests')) ?? '']: MANIFEST_BUCKET,
      [Object.keys(template.findResources('AWS::SecretsManager::Secret'))[0] ?? '']: CURSOR_SECRET_ARN,
      [Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => !id.startsWith('Manifests')) ?? '']: 'decision-replay-audit',
      [Object.keys(template.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'ECC_NIST_P256' } }))[0] ?? '']: 'arn:aws:kms:us-east-1:123456789012:key/audit',
    };
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      // The local S3 (s3rver) knows only its own default key; dynalite and the fake accept any.
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SFN: aws.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: aws.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
    });
    for (const name of LAMBDA_NAMES) modules[name] = await importEntry(name);
  }, 120_000);

  afterAll(async () => {
    vi.restoreAllMocks();
    process.env = savedEnv;
    await aws?.close();
    await s3?.close();
    await dynamo?.close();
  });

  it('imports every entry module and each exports a handler function', () => {
    for (const name of LAMBDA_NAMES) expect(typeof modules[name].handler, name).toBe('function');
  });

  it('fails at init, naming the variable, when the template left out one a function requires', () => {
    for (const name of LAMBDA_NAMES) {
      const env = Object.fromEntries(Object.entries(templateEnv[name]).map(([variable, value]) => [variable, resolve(name, variable, value)]));
      expect(() => lambdaEnv(name, env), name).not.toThrow();
      for (const variable of Object.keys(env)) {
        const schema = (ENV_VARS as Partial<Record<string, (typeof ENV_VARS)[EnvVarName]>>)[variable];
        if (schema === undefined || schema.safeParse(undefined).success) continue; // the defaults of every function, or a variable with a default
        const { [variable]: _left, ...rest } = env;
        expect(() => lambdaEnv(name, rest), `${name} without ${variable}`).toThrow(variable);
      }
    }
  });

  it('snapshots: records a decision (201) and reads it back', async () => {
    const created = await http('snapshots')(
      apiEvent('POST /snapshots', '/snapshots', {
        body: {
          functionName: 'approve_loan',
          inputs: [{ name: 'applicant', value: { income: 52000 } }],
          outputs: [{ name: 'decision', value: 'approve' }, { name: 'score', value: 0.5 }],
          executionTimeMs: 12,
        },
      }),
    );
    expect(created.statusCode, created.body).toBe(201);
    snapshotId = String(body(created).snapshotId);
    const read = await http('snapshots')(apiEvent('GET /snapshots/{id}', `/snapshots/${snapshotId}`, { pathParameters: { id: snapshotId } }));
    expect(read.statusCode).toBe(200);
    expect(body(read).functionName).toBe('approve_loan');
  });

  it('snapshots: pages with a cursor signed by the secret the template names, read from Secrets Manager', async () => {
    const first = await http('snapshots')(apiEvent('GET /snapshots', '/snapshots', { query: { functionName: 'approve_loan', limit: '1' } }));
    expect(first.statusCode, first.body).toBe(200);
    const cursor = String(body(first).nextCursor);
    const next = await http('snapshots')(apiEvent('GET /snapshots', '/snapshots', { query: { functionName: 'approve_loan', limit: '1', cursor } }));
    expect(next.statusCode, next.body).toBe(200);
    expect(aws.calls.filter((c) => c.target === 'secretsmanager.GetSecretValue').map((c) => c.body.SecretId)).toEqual([CURSOR_SECRET_ARN]);
  });

  it('validation: stores a policy attached to the function', async () => {
    const res = await http('validation')(
      apiEvent('PUT /policies/{name}', '/policies/score-floor', {
        pathParameters: { name: 'score-floor' },
        body: { functionNames: ['approve_loan'], rules: [{ field: 'outputs.score', comparator: 'WithinRange', min: 0.9, max: 1 }] },
      }),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(body(res).version).toBe(1);
  });

  it('on-write: validates the stream\'s snapshot insert, stores the report and publishes the violation on the bus', async () => {
    const item = await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: `SNAP#${snapshotId}` }, sk: { S: 'SNAP' } } }));
    expect(item.Item).toBeDefined();
    const out = await (modules['on-write'].handler as StreamHandler)(streamInsertEvent(`arn:aws:dynamodb:us-east-1:123456789012:table/${dynamo.tableName}`, item.Item ?? {}));
    expect(out).toEqual({ batchItemFailures: [] });
    const puts = aws.calls.filter((c) => c.target === 'AWSEvents.PutEvents');
    expect(puts).toHaveLength(1);
    const entry = (puts[0]?.body.Entries as Array<Record<string, string>>)[0];
    expect(entry?.EventBusName).toBe(EVENT_BUS_NAME);
    expect(JSON.parse(entry?.Detail ?? '{}')).toMatchObject({ snapshotId, policy: { name: 'score-floor', version: 1 } });
    const reports = await http('validation')(apiEvent('GET /snapshots/{id}/validations', `/snapshots/${snapshotId}/validations`, { pathParameters: { id: snapshotId } }));
    expect(reports.statusCode).toBe(200);
    expect(body(reports).items).toHaveLength(1);
  });

  it('replay: registers an executor and replays in ValidationOnly mode against the stored snapshot', async () => {
    const put = await http('replay')(
      apiEvent('PUT /functions/{functionName}/executor', '/functions/approve_loan/executor', { pathParameters: { functionName: 'approve_loan' }, body: { type: 'http', url: 'https://models.example.com/approve' } }),
    );
    expect(put.statusCode, put.body).toBe(200);
    const replayed = await http('replay')(apiEvent('POST /snapshots/{id}/replay', `/snapshots/${snapshotId}/replay`, { pathParameters: { id: snapshotId }, body: { mode: 'ValidationOnly', policyName: 'score-floor' } }));
    expect(replayed.statusCode, replayed.body).toBe(200);
    expect(body(replayed)).toMatchObject({ snapshotId, mode: 'ValidationOnly', status: 'Failed', integrity: 'verified' });
  });

  it('logs as the function itself (its POWERTOOLS_SERVICE_NAME), with the decision, and counts it in EMF under one namespace', () => {
    const outcome = linesWhere((l) => l.message === 'replay outcome');
    expect(outcome).toHaveLength(1);
    expect(outcome[0]).toMatchObject({ level: 'INFO', service: 'decision-replay-replay', snapshotId, mode: 'ValidationOnly', status: 'Failed', policyViolations: 1 });
    expect(JSON.stringify(outcome[0])).not.toContain('52000'); // no snapshot payload
    const emf = linesWhere((l) => typeof l._aws === 'object' && 'Replays' in l);
    expect(emf).toHaveLength(1);
    expect(emf[0]).toMatchObject({ service: 'decision-replay-replay', status: 'Failed', mode: 'ValidationOnly', Replays: 1 });
    expect((emf[0]?._aws as { CloudWatchMetrics: Array<{ Namespace: string }> }).CloudWatchMetrics[0]?.Namespace).toBe('DecisionReplay');
    const violation = linesWhere((l) => l.message === 'on-write violation');
    expect(violation[0]).toMatchObject({ service: 'decision-replay-on-write', snapshotId, rules: ['WithinRange(outputs.score)'] });
  });

  it('batches: records a batch and starts its execution on the state machine the template names', async () => {
    const res = await http('batches')(apiEvent('POST /batches', '/batches', { body: { snapshotIds: [snapshotId], mode: 'ValidationOnly' } }));
    expect(res.statusCode, res.body).toBe(202);
    batchId = String(body(res).batchId);
    const starts = aws.calls.filter((c) => c.target === 'AWSStepFunctions.StartExecution');
    expect(starts.map((c) => [c.body.stateMachineArn, c.body.name])).toEqual([[STATE_MACHINE_ARN, batchId]]);
  });

  it('batch-plan, batch-replay, batch-stats: run the batch the way the state machine calls them', async () => {
    const plan = await task('batch-plan')({ input: { batchId }, executionName: batchId, executionStartTime: new Date().toISOString() });
    expect(plan).toEqual({ batchId, manifest: { bucket: MANIFEST_BUCKET, key: `batches/${batchId}/snapshot-ids.csv` }, itemsPerChunk: 1, maxConcurrency: 10 });
    const chunk = await task('batch-replay')({ batchId, items: [{ snapshotId }] });
    expect(chunk).toEqual({ chunkId: snapshotId, count: 1, failed: 0 });
    const stats = await task('batch-stats')({ batchId });
    expect(stats).toMatchObject({ batchId, status: 'SUCCEEDED', totalReplays: 1, matches: 1 });
    const read = await http('batches')(apiEvent('GET /batches/{id}', `/batches/${batchId}`, { pathParameters: { id: batchId } }));
    expect(body(read)).toMatchObject({ batchId, status: 'SUCCEEDED', total: 1 });
  });

  it('batch-plan: pins a scheduled batch\'s noiseProfile "latest" to the version learned by then (its composition reads noise profiles)', async () => {
    // It had no noise-profile store: the pin was skipped, and the items each read the latest.
    const profiles = new DynamoNoiseProfileStore(dynamo.doc, dynamo.tableName);
    const profile = { functionName: 'approve_loan', executor: 'http', modelVersions: [], similarityProvider: 'lexical', sampleSize: 2, pairs: 2, numericSafetyFactor: 3, fields: [], createdAt: new Date().toISOString() };
    await profiles.putNextVersion({ ...profile, batchId: '01JBZ0000000000000000000N1' });
    await profiles.putNextVersion({ ...profile, batchId: '01JBZ0000000000000000000N2' });
    const plan = await task('batch-plan')({ input: { trigger: 'schedule', scheduleName: 'nightly', request: { selector: { functionName: 'approve_loan' }, noiseProfile: 'latest' } }, executionName: 'nightly-noise', executionStartTime: new Date().toISOString() });
    const read = await http('batches')(apiEvent('GET /batches/{id}', `/batches/${String(plan.batchId)}`, { pathParameters: { id: String(plan.batchId) } }));
    expect(read.statusCode, read.body).toBe(200);
    expect(body(read)).toMatchObject({ trigger: 'schedule', scheduleName: 'nightly', request: { selector: { functionName: 'approve_loan' }, noiseProfile: 2 } });
  });

  it('execution-end: the status-change event of a timed-out execution fails its RUNNING batch; a finished batch keeps its status', async () => {
    const started = await http('batches')(apiEvent('POST /batches', '/batches', { body: { snapshotIds: [snapshotId], mode: 'ValidationOnly' } }));
    expect(started.statusCode, started.body).toBe(202);
    const runningId = String(body(started).batchId);
    const executions = STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:');
    const event = (id: string, status: string) => ({
      version: '0',
      id: `event-${id}`,
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      account: '123456789012',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [`${executions}:${id}`],
      detail: { executionArn: `${executions}:${id}`, stateMachineArn: STATE_MACHINE_ARN, name: id, status, startDate: Date.now() - 60_000, stopDate: Date.now(), input: JSON.stringify({ batchId: id }), inputDetails: { included: true }, output: null, outputDetails: null, error: null, cause: null },
    });
    const end = modules['execution-end'].handler as (event: unknown) => Promise<Record<string, unknown>>;

    expect(await end(event(runningId, 'TIMED_OUT'))).toMatchObject({ batchId: runningId, outcome: 'failed' });
    expect(await end(event(batchId, 'ABORTED'))).toMatchObject({ batchId, outcome: 'unchanged' });

    const failed = body(await http('batches')(apiEvent('GET /batches/{id}', `/batches/${runningId}`, { pathParameters: { id: runningId } })));
    expect(failed).toMatchObject({ batchId: runningId, status: 'FAILED', failureReason: `the batch execution ended TIMED_OUT: ${executions}:${runningId}` });
    const kept = body(await http('batches')(apiEvent('GET /batches/{id}', `/batches/${batchId}`, { pathParameters: { id: batchId } })));
    expect(kept).toMatchObject({ batchId, status: 'SUCCEEDED' });
    expect(linesWhere((l) => l.message === 'batch marked FAILED: its execution ended abnormally')[0]).toMatchObject({ level: 'ERROR', service: 'decision-replay-execution-end', batchId: runningId, status: 'TIMED_OUT' });
  });

  it('openapi: serves the document and answers unknown routes with 404 in the error shape', async () => {
    const doc = await http('openapi')(apiEvent('GET /openapi.json', '/openapi.json'));
    expect(doc.statusCode).toBe(200);
    expect(body(doc).openapi).toMatch(/^3\./);
    const missing = await http('openapi')(apiEvent('$default', '/nowhere'));
    expect(missing.statusCode).toBe(404);
    expect(body(missing)).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
  });
});
