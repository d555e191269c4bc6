/**
 * X-Ray tracing of the SDK clients (functions/adapters/aws/tracer.ts) with the real SDK against
 * dynalite: what a sampled call sends to the daemon, what it puts in `X-Amzn-Trace-Id`, failures,
 * unsampled and untraced invocations, and that every client the Lambda entries create is traced.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { awsTableClients } from '../../functions/adapters/aws/table-clients.js';
import { awsAuditClients } from '../../functions/adapters/aws/audit-clients.js';
import { parseDaemonAddress, parseTraceHeader, traced, udpEmitter, XRAY_MIDDLEWARE_NAME, type AwsSubsegment } from '../../functions/adapters/aws/tracer.js';
import { createSecretsManagerClient } from '../../functions/adapters/sdk/secrets-manager-client.js';
import { createLambdaClient } from '../../functions/adapters/sdk/lambda-client.js';
import { createBedrockRuntimeClient } from '../../functions/adapters/sdk/bedrock-runtime-client.js';
import { LOCAL_AWS } from '../../functions/local/dynalite.js';
import { startTestDynamo, type TestDynamo } from '../support/local-dynamo.js';

const ROOT = '1-67891233-abcdef012345678912345678';
const PARENT = '53995c3f42cd8ad8';

let dynamo: TestDynamo;
const savedTrace = process.env._X_AMZN_TRACE_ID;
const savedDaemon = process.env.AWS_XRAY_DAEMON_ADDRESS;

beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});
afterEach(() => {
  if (savedTrace === undefined) delete process.env._X_AMZN_TRACE_ID;
  else process.env._X_AMZN_TRACE_ID = savedTrace;
  if (savedDaemon === undefined) delete process.env.AWS_XRAY_DAEMON_ADDRESS;
  else process.env.AWS_XRAY_DAEMON_ADDRESS = savedDaemon;
});

/** A traced client on dynalite whose subsegments and outgoing trace headers are kept. */
function tracedClient(): { client: DynamoDBClient; segments: AwsSubsegment[]; headers: (string | undefined)[] } {
  const segments: AwsSubsegment[] = [];
  const headers: (string | undefined)[] = [];
  const client = traced(new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint }), (s) => segments.push(s));
  client.middlewareStack.add(
    (next) => async (args) => {
      headers.push((args.request as { headers: Record<string, string> }).headers['X-Amzn-Trace-Id']);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'captureTraceHeader' },
  );
  return { client, segments, headers };
}

describe('traced SDK clients', () => {
  it('records a sampled call as an aws subsegment below the invocation and names it the parent downstream', async () => {
    process.env._X_AMZN_TRACE_ID = `Root=${ROOT};Parent=${PARENT};Sampled=1;Lineage=a87bd80c:0`;
    const { client, segments, headers } = tracedClient();
    const doc = DynamoDBDocumentClient.from(client);

    const before = Date.now() / 1000;
    await doc.send(new GetCommand({ TableName: dynamo.tableName, Key: { pk: 'SNAP#none', sk: 'SNAP' } }));

    expect(segments).toHaveLength(1);
    const [s] = segments as [AwsSubsegment];
    expect(s).toMatchObject({
      type: 'subsegment',
      namespace: 'aws',
      name: 'DynamoDB',
      trace_id: ROOT,
      parent_id: PARENT,
      aws: { operation: 'GetItem', region: 'us-east-1', retries: 0, resource_names: [dynamo.tableName] },
      http: { response: { status: 200 } },
    });
    expect(s.id).toMatch(/^[0-9a-f]{16}$/);
    expect(s.start_time).toBeGreaterThanOrEqual(before - 0.001);
    expect(s.end_time).toBeGreaterThanOrEqual(s.start_time);
    expect(s.error ?? s.fault ?? s.throttle).toBeUndefined();
    expect(headers).toEqual([`Root=${ROOT};Parent=${s.id};Sampled=1;Lineage=a87bd80c:0`]);
  });

  it('marks a failed call as an error with its cause, and the call still fails as it would untraced', async () => {
    process.env._X_AMZN_TRACE_ID = `Root=${ROOT};Parent=${PARENT};Sampled=1`;
    const { client, segments } = tracedClient();

    await expect(client.send(new GetItemCommand({ TableName: 'no-such-table', Key: { pk: { S: 'x' }, sk: { S: 'y' } } }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });

    expect(segments).toHaveLength(1);
    expect(segments[0]).toMatchObject({ name: 'DynamoDB', error: true, http: { response: { status: 400 } }, aws: { operation: 'GetItem', resource_names: ['no-such-table'] } });
    expect(segments[0]?.fault).toBeUndefined();
    expect(segments[0]?.cause?.exceptions[0]).toMatchObject({ type: 'ResourceNotFoundException', remote: true });
  });

  it('records nothing for an unsampled invocation but passes Sampled=0 on', async () => {
    process.env._X_AMZN_TRACE_ID = `Root=${ROOT};Parent=${PARENT};Sampled=0`;
    const { client, segments, headers } = tracedClient();

    await client.send(new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: 'x' }, sk: { S: 'y' } } }));

    expect(segments).toEqual([]);
    expect(headers).toEqual([`Root=${ROOT};Parent=${PARENT};Sampled=0`]);
  });

  it('leaves calls untouched outside a traced invocation (tests, the local host)', async () => {
    delete process.env._X_AMZN_TRACE_ID;
    const { client, segments, headers } = tracedClient();

    await client.send(new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: 'x' }, sk: { S: 'y' } } }));

    expect(segments).toEqual([]);
    expect(headers).toEqual([undefined]);
  });

  it('sends each subsegment to the daemon address as one UDP datagram in the daemon format', async () => {
    const daemon = createSocket('udp4');
    daemon.bind(0, '127.0.0.1');
    await once(daemon, 'listening');
    try {
      process.env.AWS_XRAY_DAEMON_ADDRESS = `udp:127.0.0.1:${daemon.address().port} tcp:127.0.0.1:2000`;
      process.env._X_AMZN_TRACE_ID = `Root=${ROOT};Parent=${PARENT};Sampled=1`;
      const client = traced(new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint }), udpEmitter);
      const received = once(daemon, 'message');

      await client.send(new GetItemCommand({ TableName: dynamo.tableName, Key: { pk: { S: 'x' }, sk: { S: 'y' } } }));

      const [message] = (await received) as [Buffer];
      const [header, body] = message.toString('utf8').split('\n');
      expect(JSON.parse(header ?? '')).toEqual({ format: 'json', version: 1 });
      expect(JSON.parse(body ?? '')).toMatchObject({ type: 'subsegment', name: 'DynamoDB', trace_id: ROOT, parent_id: PARENT, aws: { operation: 'GetItem' } });
    } finally {
      daemon.close();
    }
  });

  it('is on every client the Lambda entries create', async () => {
    const clients = [awsTableClients().doc.client, createSecretsManagerClient(), createLambdaClient(), createBedrockRuntimeClient()];
    const audit = awsAuditClients();
    // The audit clients live inside their stores; the stores are built on demand.
    const store = audit.auditStore('bucket') as unknown as { s3: { middlewareStack: DynamoDBClient['middlewareStack'] } };
    const signer = audit.digestSigner('key') as unknown as { kms: { middlewareStack: DynamoDBClient['middlewareStack'] } };
    for (const c of [...clients, store.s3, signer.kms]) {
      expect(c.middlewareStack.identify().some((m) => m.startsWith(`${XRAY_MIDDLEWARE_NAME} `))).toBe(true);
    }
  });
});

describe('trace header and daemon address', () => {
  it('parses the Lambda trace header, keeping extra fields and dropping Self', () => {
    expect(parseTraceHeader(`Root=${ROOT};Parent=${PARENT};Sampled=1;Lineage=x:1;Self=1-abc`)).toEqual({ root: ROOT, parent: PARENT, sampled: true, extra: ['Lineage=x:1'] });
    expect(parseTraceHeader(`Root=${ROOT}`)).toBeUndefined();
    expect(parseTraceHeader('')).toBeUndefined();
    expect(parseTraceHeader(undefined)).toBeUndefined();
  });

  it('reads both daemon address formats', () => {
    expect(parseDaemonAddress('169.254.79.129:2000')).toEqual({ host: '169.254.79.129', port: 2000 });
    expect(parseDaemonAddress('tcp:127.0.0.1:2001 udp:127.0.0.2:2002')).toEqual({ host: '127.0.0.2', port: 2002 });
    expect(parseDaemonAddress('nonsense')).toBeUndefined();
    expect(parseDaemonAddress(undefined)).toBeUndefined();
  });
});
