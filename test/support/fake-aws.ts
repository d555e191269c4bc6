/**
 * A stand-in for the AWS JSON-protocol services the handlers call besides DynamoDB (Step Functions'
 * StartExecution, EventBridge's PutEvents, Secrets Manager's GetSecretValue): records each call by its `X-Amz-Target` and answers
 * the way the service does. Point the SDK at it with `AWS_ENDPOINT_URL_SFN` /
 * `AWS_ENDPOINT_URL_EVENTBRIDGE` / `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAwsCall {
  target: string;
  body: Record<string, unknown>;
}

export interface FakeAws {
  endpoint: string;
  calls: FakeAwsCall[];
  close(): Promise<void>;
}

const ANSWERS: Record<string, (body: Record<string, unknown>) => unknown> = {
  'AWSStepFunctions.StartExecution': (body) => ({ executionArn: `${String(body.stateMachineArn).replace(':stateMachine:', ':execution:')}:${String(body.name)}`, startDate: Date.now() / 1000 }),
  'AWSEvents.PutEvents': (body) => ({ FailedEntryCount: 0, Entries: (body.Entries as unknown[]).map((_e, i) => ({ EventId: `event-${i}` })) }),
  'secretsmanager.GetSecretValue': (body) => ({ ARN: String(body.SecretId), Name: 'fake', SecretString: `fake-secret-of-${String(body.SecretId)}`, VersionId: 'v1' }),
};

export async function startFakeAws(): Promise<FakeAws> {
  const calls: FakeAwsCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      calls.push({ target, body });
      const answer = ANSWERS[target];
      res.setHeader('content-type', String(req.headers['content-type'] ?? 'application/x-amz-json-1.1'));
      if (!answer) {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'UnknownOperationException', message: `fake AWS does not serve ${target}` }));
        return;
      }
      res.end(JSON.stringify(answer(body)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
