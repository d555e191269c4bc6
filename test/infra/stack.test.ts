import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INDEXES, TABLE_KEYS } from '../../functions/adapters/dynamodb/table-definition.js';
import { DEPLOYED_ROUTES, LAMBDA_NAMES, LAMBDAS, lambdaSpec, type LambdaName } from '../../functions/api/manifest.js';
import { flattenJoin } from '../../lib/cfn-join.js';
import type { DecisionReplayStack } from '../../lib/decision-replay-stack.js';
import { actionsOf, buildStack, logicalId, resourcesOf, statementsOfRole, synthStack, type Statement } from './synth.js';

function fnId(stack: DecisionReplayStack, name: LambdaName): string {
  return logicalId(stack, stack.functions[name]);
}

function roleId(stack: DecisionReplayStack, name: LambdaName): string {
  const role = stack.functions[name].role;
  if (role === undefined) throw new Error(`${name} has no role`);
  return logicalId(stack, role);
}

function statements(template: Template, stack: DecisionReplayStack, name: LambdaName): Statement[] {
  return statementsOfRole(template, roleId(stack, name));
}

function grants(list: Statement[], action: string): Statement[] {
  return list.filter((s) => s.Effect === 'Allow' && actionsOf(s).includes(action));
}

/** Actions a function's role is granted on "*", beyond those that have no resource-level permissions. */
function unexpectedActionsOnStar(template: Template, stack: DecisionReplayStack): Record<string, string[]> {
  const allowedOnStar = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords']);
  const found: Record<string, string[]> = {};
  for (const name of LAMBDA_NAMES) {
    const extra = lambdaSpec(name).grants.includes('snapshotStream') ? ['dynamodb:ListStreams'] : [];
    const onStar = statements(template, stack, name)
      .filter((s) => resourcesOf(s).includes('*'))
      .flatMap(actionsOf)
      .filter((a) => !allowedOnStar.has(a) && !extra.includes(a));
    if (onStar.length > 0) found[name] = onStar;
  }
  return found;
}

/** Environment variables of one function, as in the template. */
type Grant = [action: string, resource: unknown];
const byPair = (a: Grant, b: Grant) => (a[0] + JSON.stringify(a[1])).localeCompare(b[0] + JSON.stringify(b[1]));

/** The s3 actions of statements as (action, resource) pairs, sorted: independent of how CDK merges statements. */
function s3Grants(list: Statement[]): Grant[] {
  return list.flatMap((st) => actionsOf(st).filter((a) => a.startsWith('s3:')).flatMap((a) => resourcesOf(st).map((r): Grant => [a, r]))).sort(byPair);
}

function environmentOf(template: Template, stack: DecisionReplayStack, name: LambdaName): Record<string, unknown> {
  const fn = template.toJSON().Resources[fnId(stack, name)] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
  return fn.Properties.Environment.Variables;
}

/**
 * Turns a resolved `DefinitionString` (a string, or an `Fn::Join` around tokens such as the
 * partition and function ARNs) into the ASL object. Tokens only occur inside JSON string literals,
 * so each is replaced by a plain placeholder.
 */
function parseDefinition(value: unknown): Record<string, unknown> {
  return JSON.parse(flattenJoin(value, { token: () => 'TOKEN' })) as Record<string, unknown>;
}

interface AslState {
  Type: string;
  MaxConcurrencyPath?: string;
  ItemsPath?: string;
  ItemProcessor?: { ProcessorConfig?: { Mode?: string; ExecutionType?: string }; States: Record<string, AslState> };
}

describe('DecisionReplayStack with the default context', () => {
  let stack: DecisionReplayStack;
  let template: Template;

  beforeAll(() => {
    ({ stack, template } = synthStack());
  });

  describe('table', () => {
    it('has string pk/sk keys, on-demand billing and the GSIs of the table definition', () => {
      template.resourceCountIs('AWS::DynamoDB::Table', 1);
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: TABLE_KEYS.partitionKey, AttributeType: 'S' },
          { AttributeName: TABLE_KEYS.sortKey, AttributeType: 'S' },
        ]),
        GlobalSecondaryIndexes: INDEXES.map((ix) => ({
          IndexName: ix.indexName,
          KeySchema: [
            { AttributeName: ix.partitionKey, KeyType: 'HASH' },
            { AttributeName: ix.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: ix.projection },
        })),
      });
      expect(INDEXES.map((ix) => ix.indexName)).toEqual(['GSI1', 'GSI2', 'GSI3', 'GSI1K']);
    });

    it('streams new images, keeps point-in-time recovery and expires items by the TTL attribute', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: TABLE_KEYS.timeToLiveAttribute, Enabled: true },
        SSESpecification: { SSEEnabled: true },
      });
    });

    it('is protected from deletion and retained when the stack goes (audit data)', () => {
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
      });
    });
  });

  describe('functions', () => {
    it('creates one function per manifest entry with the project defaults', () => {
      template.resourcePropertiesCountIs('AWS::Lambda::Function', { Runtime: 'nodejs24.x' }, LAMBDA_NAMES.length);
      for (const name of LAMBDA_NAMES) {
        template.hasResourceProperties('AWS::Lambda::Function', {
          Description: LAMBDAS[name].description,
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          TracingConfig: { Mode: 'Active' },
          LoggingConfig: { LogFormat: 'JSON', LogGroup: Match.anyValue() },
          Environment: {
            Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: `decision-replay-${name}`, LOG_LEVEL: 'INFO' }),
          },
        });
      }
    });

    it('gives each function its own log group with a retention', () => {
      for (const name of LAMBDA_NAMES) {
        const fn = template.toJSON().Resources[fnId(stack, name)] as { Properties: { LoggingConfig: { LogGroup: { Ref: string } } } };
        const group = template.toJSON().Resources[fn.Properties.LoggingConfig.LogGroup.Ref] as { Type: string; Properties: { RetentionInDays?: number } };
        expect(group.Type).toBe('AWS::Logs::LogGroup');
        expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
      }
    });

    it('sizes functions by kind: API functions time out before the HTTP API gives up (30 s)', () => {
      const resources = template.toJSON().Resources as Record<string, { Properties: { Timeout: number; MemorySize: number } }>;
      for (const name of LAMBDA_NAMES) {
        const props = resources[fnId(stack, name)]?.Properties;
        expect(props?.MemorySize).toBeGreaterThanOrEqual(512);
        if (LAMBDAS[name].kind === 'api') expect(props?.Timeout).toBeLessThan(30);
        // Tasks in the Map's Express children end within its 5 minutes; Plan runs in the Standard parent.
        if (LAMBDAS[name].kind === 'task' && name !== 'batch-plan') expect(props?.Timeout, name).toBeLessThan(300);
      }
      // Plan's 1,000,000 ids may be read from GSI1 while GSI1K backfills (~1,110 pages): 10 minutes.
      expect(resources[fnId(stack, 'batch-plan')]?.Properties.Timeout).toBe(600);
      // GET /audit/verify re-hashes up to 100,000 records synchronously: one full vCPU, not the api kind's share.
      expect(resources[fnId(stack, 'audit')]?.Properties.MemorySize).toBe(1769);
      for (const name of LAMBDA_NAMES) if (name !== 'audit') expect(resources[fnId(stack, name)]?.Properties.MemorySize, name).toBeLessThanOrEqual(1024);
    });

    it('sets exactly the environment each manifest entry declares, each from its resource or the context', () => {
      const defaults = ['POWERTOOLS_SERVICE_NAME', 'LOG_LEVEL'];
      const tableId = Object.keys(template.findResources('AWS::DynamoDB::Table'))[0];
      const machineId = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0];
      const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0];
      const bucketId = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => !id.startsWith('Manifests'));
      const manifestBucketId = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => id.startsWith('Manifests'));
      const signingKeyId = Object.keys(template.findResources('AWS::KMS::Key', { Properties: { KeySpec: 'ECC_NIST_P256' } }))[0] as string;
      const secretId = Object.keys(template.findResources('AWS::SecretsManager::Secret'))[0];
      const expectedValue = {
        TABLE_NAME: { Ref: tableId },
        STATE_MACHINE_ARN: { Ref: machineId },
        EVENT_BUS_NAME: { Ref: busId },
        SIMILARITY_PROVIDER: 'lexical',
        EXECUTOR_ALLOW_PRIVATE_NETWORKS: 'false',
        EXECUTOR_SECRET_ARN_PREFIX: stack.resolve(`arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:decision-replay/executors/`),
        CURSOR_SECRET_ARN: { Ref: secretId },
        AUDIT_BUCKET: { Ref: bucketId },
        AUDIT_KEY_ID: { 'Fn::GetAtt': [signingKeyId, 'Arn'] },
        DIGEST_INTERVAL_MINUTES: '60',
        MANIFEST_BUCKET: { Ref: manifestBucketId },
        ID_MANIFEST_BUCKETS: '',
      };
      for (const name of LAMBDA_NAMES) {
        const env = environmentOf(template, stack, name);
        expect(Object.keys(env).sort(), name).toEqual([...defaults, ...lambdaSpec(name).env].sort());
        for (const variable of lambdaSpec(name).env) expect(env[variable], `${name} ${variable}`).toEqual(expectedValue[variable]);
      }
    });

    it('declares the variables that go with each use: the table, similarity, executors, batches, violations', () => {
      for (const name of LAMBDA_NAMES) {
        const spec = lambdaSpec(name);
        const updatesOnly = (spec.tableUpdates?.length ?? 0) > 0 || (spec.tableDeletes?.length ?? 0) > 0;
        expect(spec.env.includes('TABLE_NAME'), name).toBe(spec.table !== 'none' || updatesOnly);
        expect(spec.env.includes('SIMILARITY_PROVIDER'), name).toBe(spec.similarity);
        expect(spec.env.includes('EXECUTOR_ALLOW_PRIVATE_NETWORKS'), name).toBe(spec.executors);
        expect(spec.env.includes('EXECUTOR_SECRET_ARN_PREFIX'), name).toBe(spec.executors);
        // Started batches, or the ends of their executions (execution-end only accepts this machine's).
        expect(spec.env.includes('STATE_MACHINE_ARN'), name).toBe(spec.grants.includes('startBatches') || spec.grants.includes('batchExecutionEnds'));
        expect(spec.env.includes('EVENT_BUS_NAME'), name).toBe(spec.grants.includes('publishViolations'));
        expect(spec.env.includes('MANIFEST_BUCKET'), name).toBe(spec.grants.includes('writeManifests'));
        expect(spec.env.includes('ID_MANIFEST_BUCKETS'), name).toBe(spec.grants.includes('readIdManifests'));
        expect(spec.env.includes('CURSOR_SECRET_ARN'), name).toBe(spec.grants.includes('readCursorSecret'));
      }
    });

    it('creates one generated cursor secret and lets exactly the paging functions read it', () => {
      const secrets = template.findResources('AWS::SecretsManager::Secret');
      expect(Object.keys(secrets)).toHaveLength(1);
      const secretId = Object.keys(secrets)[0] as string;
      expect(secrets[secretId]?.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 64 });
      for (const name of LAMBDA_NAMES) {
        const reads = grants(statements(template, stack, name), 'secretsmanager:GetSecretValue').filter((st) => JSON.stringify(resourcesOf(st)).includes(secretId));
        const pages = ['snapshots', 'validation', 'replay', 'batches'].includes(name);
        expect(reads.length > 0, name).toBe(pages);
        if (pages) expect(environmentOf(template, stack, name).CURSOR_SECRET_ARN).toEqual({ Ref: secretId });
      }
    });
  });

  describe('HTTP API', () => {
    it('has one route per manifest route and a HEAD twin per GET route, each integrated with the Lambda the manifest names', () => {
      const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
      const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
      expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(DEPLOYED_ROUTES.map((r) => r.routeKey).sort());
      expect(routes.map((r) => r.Properties.RouteKey)).toContain('HEAD /snapshots/{id}');
      for (const { routeKey, lambda } of DEPLOYED_ROUTES) {
        const route = routes.find((r) => r.Properties.RouteKey === routeKey);
        const target = route?.Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
        const integration = resources[target['Fn::Join'][1][1].Ref];
        expect(integration?.Type).toBe('AWS::ApiGatewayV2::Integration');
        expect(integration?.Properties.IntegrationType).toBe('AWS_PROXY');
        expect(integration?.Properties.IntegrationUri, routeKey).toEqual({ 'Fn::GetAtt': [fnId(stack, lambda), 'Arn'] });
      }
    });

    it('requires IAM authorization on every route, $default and /openapi.json included', () => {
      template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Route', { AuthorizationType: 'AWS_IAM' }, DEPLOYED_ROUTES.length);
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default', AuthorizationType: 'AWS_IAM' });
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /openapi.json', AuthorizationType: 'AWS_IAM' });
    });

    it('logs every request as one JSON object to a log group and throttles the stage', () => {
      const stages = template.findResources('AWS::ApiGatewayV2::Stage');
      const stage = Object.values(stages)[0] as { Properties: { StageName: string; AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [string, string] }; Format: string }; DefaultRouteSettings: Record<string, number> } };
      expect(Object.keys(stages)).toHaveLength(1);
      expect(stage.Properties.StageName).toBe('$default');
      const format = JSON.parse(stage.Properties.AccessLogSettings.Format) as Record<string, string>;
      expect(format.requestId).toBe('$context.requestId');
      expect(format.status).toBe('$context.status');
      expect(template.toJSON().Resources[stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0]].Type).toBe('AWS::Logs::LogGroup');
      expect(stage.Properties.DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 });
    });
  });

  describe('stream trigger', () => {
    it('feeds only snapshot inserts to on-write, with bounded retries, bisect, max age and partial failures', () => {
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: fnId(stack, LAMBDA_NAMES.filter((n) => lambdaSpec(n).grants.includes('snapshotStream'))[0] ?? 'on-write') },
        EventSourceArn: { 'Fn::GetAtt': [Match.anyValue(), 'StreamArn'] },
        StartingPosition: 'LATEST',
        BatchSize: 100,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 3,
        MaximumRecordAgeInSeconds: 3600,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailureQueue'), 'Arn'] } } },
      });
      const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))[0] as { Properties: { FilterCriteria: { Filters: Array<{ Pattern: string }> } } };
      expect(mapping.Properties.FilterCriteria.Filters.map((f) => JSON.parse(f.Pattern) as unknown)).toEqual([
        { eventName: ['INSERT'], dynamodb: { NewImage: { sk: { S: ['SNAP'] } } } },
      ]);
    });

    it('sends given-up batches to an encrypted queue that refuses plain-text transport', () => {
      template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });
  });

  describe('violation events', () => {
    it('creates the decision-replay bus and lets only the functions granted publishViolations put events on it', () => {
      template.hasResourceProperties('AWS::Events::EventBus', { Name: 'decision-replay' });
      const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0];
      for (const name of LAMBDA_NAMES) {
        const puts = grants(statements(template, stack, name), 'events:PutEvents');
        if (lambdaSpec(name).grants.includes('publishViolations')) expect(puts.flatMap(resourcesOf)).toEqual([{ 'Fn::GetAtt': [busId, 'Arn'] }]);
        else expect(puts, name).toEqual([]);
      }
    });
  });

  describe('batch workflow', () => {
    it('is a Standard state machine with full logging and X-Ray tracing', () => {
      template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
        TracingConfiguration: { Enabled: true },
      });
    });

    it('fans out with a distributed Map whose concurrency comes from the request (MaxConcurrencyPath)', () => {
      const machines = template.findResources('AWS::StepFunctions::StateMachine');
      const machine = Object.values(machines)[0] as { Properties: { DefinitionString: unknown } };
      const asl = parseDefinition(machine.Properties.DefinitionString) as { States: Record<string, AslState> };
      const maps = Object.values(asl.States).filter((s) => s.Type === 'Map');
      expect(maps).toHaveLength(1);
      expect(maps[0]?.MaxConcurrencyPath).toMatch(/^\$\./);
      expect(maps[0]?.ItemProcessor?.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
    });

    it('reads the ids from the manifest Plan wrote (ItemReader, CSV) and cuts them into chunks of Plan\'s size (ItemBatcher)', () => {
      const machines = template.findResources('AWS::StepFunctions::StateMachine');
      const machine = Object.values(machines)[0] as { Properties: { DefinitionString: unknown } };
      const asl = parseDefinition(machine.Properties.DefinitionString) as { States: Record<string, AslState & { ItemReader?: unknown; ItemBatcher?: unknown }> };
      const map = Object.values(asl.States).find((st) => st.Type === 'Map');
      expect(map?.ItemsPath).toBeUndefined();
      expect(map?.ItemReader).toMatchObject({ ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' }, Parameters: { 'Bucket.$': '$.manifest.bucket', 'Key.$': '$.manifest.key' } });
      expect(map?.ItemBatcher).toEqual({ MaxItemsPerBatchPath: '$.itemsPerChunk', BatchInput: { 'batchId.$': '$.batchId' } });
    });
  });

  describe('manifest bucket', () => {
    it('is encrypted, private, TLS-only and expires its objects', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 7, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' })] },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    });

    it('lets batches and batch-plan write manifests under batches/ only; batches also reads uploads/; no other function touches the bucket', () => {
      const bucketId = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => id.startsWith('Manifests')) as string;
      const objects = (prefix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${prefix}*`]] });
      const bucket = { 'Fn::GetAtt': [bucketId, 'Arn'] };
      const onBucket = (list: Statement[]) => s3Grants(list).filter(([, r]) => JSON.stringify(r).includes(bucketId));
      const writes = ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'].map((a): Grant => [a, objects('batches/')]);
      for (const name of LAMBDA_NAMES) {
        const granted = onBucket(statements(template, stack, name));
        if (name === 'batch-plan') expect(granted, name).toEqual(writes);
        else if (name === 'batches') expect(granted, name).toEqual([...writes, ['s3:GetObject', objects('uploads/')] as Grant, ['s3:ListBucket', bucket] as Grant].sort(byPair));
        else expect(granted, name).toEqual([]);
      }
      // The Distributed Map (ItemReader) reads batch manifests only.
      const machineRole = Object.keys(template.findResources('AWS::IAM::Role')).find((id) => id.startsWith('BatchWorkflow')) as string;
      expect(onBucket(statementsOfRole(template, machineRole))).toEqual([['s3:GetObject', objects('batches/')]]);
    });

    it('reads id manifests from the buckets cdk.json idManifestBuckets names, get only, and names them to the function', () => {
      const configured = synthStack({ idManifestBuckets: ['acme-replay-ids', 'acme.exports'] });
      const external = (list: Statement[]) => s3Grants(list).filter(([, r]) => JSON.stringify(r).includes(':s3:::'));
      const objectsOf = (b: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::${b}/*`]] });
      expect(external(statements(configured.template, configured.stack, 'batches'))).toEqual(['acme-replay-ids', 'acme.exports'].map((b): Grant => ['s3:GetObject', objectsOf(b)]).sort(byPair));
      expect(environmentOf(configured.template, configured.stack, 'batches').ID_MANIFEST_BUCKETS).toBe('acme-replay-ids,acme.exports');
      // No other function (nor the state machine) may read them; the default context grants no other bucket.
      for (const name of LAMBDA_NAMES.filter((n) => n !== 'batches')) expect(external(statements(configured.template, configured.stack, name)), name).toEqual([]);
      expect(JSON.stringify(configured.template.findResources('AWS::IAM::Policy')).match(/acme-replay-ids/g)).toHaveLength(1);
      expect(external(statements(template, stack, 'batches'))).toEqual([]);
    });
  });

  describe('schedules', () => {
    it('creates no batch rule and no role when no schedule is configured; the only scheduled rule runs the digester', () => {
      template.resourceCountIs('AWS::Events::Rule', 2);
      const scheduled = Object.values(template.findResources('AWS::Events::Rule')).filter((r) => r.Properties.ScheduleExpression !== undefined);
      expect(scheduled).toHaveLength(1);
      template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)', Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId(stack, 'digester'), 'Arn'] } })] });
    });
  });

  describe('batch execution ends (issue 9)', () => {
    const machineId = () => Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0] as string;
    const endRules = () => Object.entries(template.findResources('AWS::Events::Rule')).filter(([, r]) => r.Properties.EventPattern !== undefined);

    it('has one rule matching only the abnormal ends of this stack\'s batch state machine', () => {
      const rules = endRules();
      expect(rules).toHaveLength(1);
      expect(rules[0]?.[1].Properties.EventPattern).toEqual({
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [{ Ref: machineId() }], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
      });
      expect(rules[0]?.[1].Properties.State).toBe('ENABLED');
      // The default bus: Step Functions puts its status changes there.
      expect(rules[0]?.[1].Properties.EventBusName).toBeUndefined();
    });

    it('targets the execution-end function only, with bounded retries, a maximum age and an encrypted TLS-only dead-letter queue', () => {
      const targets = endRules()[0]?.[1].Properties.Targets as { Arn: unknown; RetryPolicy: unknown; DeadLetterConfig: { Arn: { 'Fn::GetAtt': [string, string] } } }[];
      expect(targets).toHaveLength(1);
      expect(targets[0]?.Arn).toEqual({ 'Fn::GetAtt': [fnId(stack, 'execution-end'), 'Arn'] });
      expect(targets[0]?.RetryPolicy).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 21_600 });
      const dlqId = targets[0]?.DeadLetterConfig.Arn['Fn::GetAtt'][0] as string;
      const dlq = template.toJSON().Resources[dlqId] as { Type: string; Properties: Record<string, unknown> };
      expect(dlq.Type).toBe('AWS::SQS::Queue');
      expect(dlq.Properties.SqsManagedSseEnabled).toBe(true);
      const queuePolicies = JSON.stringify(Object.values(template.findResources('AWS::SQS::QueuePolicy')).filter((p) => JSON.stringify(p).includes(dlqId)));
      expect(queuePolicies).toContain('"aws:SecureTransport":"false"');
      // Only this rule may send to it.
      expect(queuePolicies).toContain('"aws:SourceArn"');
    });

    it('lets only EventBridge, from this rule, invoke the function', () => {
      const ruleId = endRules()[0]?.[0] as string;
      const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).filter((p) => JSON.stringify(p.Properties.FunctionName).includes(fnId(stack, 'execution-end')));
      expect(permissions.map((p) => p.Properties)).toEqual([
        { Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [fnId(stack, 'execution-end'), 'Arn'] }, Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': [ruleId, 'Arn'] } },
      ]);
    });

    it('grants the function one conditional UpdateItem on BATCH# records and nothing else on the table, no Step Functions, no bus', () => {
      const list = statements(template, stack, 'execution-end');
      const tableActions = list.flatMap(actionsOf).filter((a) => a.startsWith('dynamodb:'));
      expect(tableActions).toEqual(['dynamodb:UpdateItem']);
      // Besides: its own log stream (logs:*, scoped by CDK to its log group) and X-Ray.
      expect(list.flatMap(actionsOf).filter((a) => !a.startsWith('dynamodb:') && !a.startsWith('xray:') && !a.startsWith('logs:'))).toEqual([]);
      expect(grants(list, 'dynamodb:UpdateItem').flatMap(resourcesOf)).toEqual([{ 'Fn::GetAtt': [Object.keys(template.findResources('AWS::DynamoDB::Table'))[0], 'Arn'] }]);
      expect(environmentOf(template, stack, 'execution-end').STATE_MACHINE_ARN).toEqual({ Ref: machineId() });
    });
  });

  describe('IAM', () => {
    it('lets exactly the executor users read executor secrets, only GetSecretValue under the configured name prefix, never "*"', () => {
      const prefix = stack.resolve(`arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:decision-replay/executors/*`);
      for (const name of LAMBDA_NAMES) {
        const reads = grants(statements(template, stack, name), 'secretsmanager:GetSecretValue');
        const underPrefix = reads.filter((st) => JSON.stringify(resourcesOf(st)) === JSON.stringify([prefix]));
        expect(underPrefix.length, name).toBe(lambdaSpec(name).executors ? 1 : 0);
        for (const st of underPrefix) expect(actionsOf(st), name).toEqual(['secretsmanager:GetSecretValue']);
        expect(reads.flatMap(resourcesOf), name).not.toContain('*');
      }
    });

    it('lets the functions granted startBatches start, describe and stop executions of the batch state machine; no other function may', () => {
      const machineId = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0];
      for (const name of LAMBDA_NAMES) {
        const list = statements(template, stack, name);
        const starts = grants(list, 'states:StartExecution');
        const describes = grants(list, 'states:DescribeExecution');
        const stops = grants(list, 'states:StopExecution');
        if (lambdaSpec(name).grants.includes('startBatches')) {
          expect(starts.flatMap(resourcesOf)).toEqual([{ Ref: machineId }]);
          expect(JSON.stringify(describes.flatMap(resourcesOf))).toContain(`"${machineId}","Name"`);
          // StopExecution (batch cancel) on this machine's executions only, never on "*".
          expect(stops).toHaveLength(1);
          expect(JSON.stringify(stops.flatMap(resourcesOf))).toContain(`"${machineId}","Name"`);
          expect(stops.flatMap(resourcesOf)).not.toContain('*');
        } else {
          expect(list.filter((s) => actionsOf(s).some((a) => a.startsWith('states:'))), name).toEqual([]);
        }
      }
    });

    it('least privilege on the table: no table-wide write grant, no update or delete of a snapshot partition, bookkeeping updates only on BATCH#', () => {
      const forbidden = ['dynamodb:*', 'dynamodb:BatchWriteItem', 'dynamodb:Scan', 'dynamodb:TransactWriteItems', 'dynamodb:DeleteTable', 'dynamodb:UpdateTable', 'dynamodb:PartiQLUpdate', 'dynamodb:PartiQLDelete'];
      const leadingKeys = (st: Statement) => (st as Statement & { Condition?: { 'ForAllValues:StringLike'?: { 'dynamodb:LeadingKeys'?: string[] } } }).Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
      const seen: Record<string, Record<string, string[]>> = {};
      for (const name of LAMBDA_NAMES) {
        const list = statements(template, stack, name);
        for (const action of forbidden) expect(grants(list, action), `${name} ${action}`).toEqual([]);
        for (const action of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem']) {
          for (const st of grants(list, action)) {
            const prefixes = leadingKeys(st);
            // Only ever with a LeadingKeys condition, alone in its statement, and never on a snapshot's partition.
            expect(prefixes, `${name} ${action} without dynamodb:LeadingKeys`).toBeDefined();
            expect(actionsOf(st), name).toEqual([action]);
            expect(prefixes?.some((p) => p.startsWith('SNAP#') || p === '*'), `${name} ${action} ${String(prefixes)}`).toBe(false);
            (seen[action] ??= {})[name] = prefixes ?? [];
          }
        }
      }
      // batch-replay: a finished chunk adds its counts to the batch's progress. digester: the audit
      // chain head, one item, moved with each sealed window.
      expect(seen['dynamodb:UpdateItem']).toEqual({ batches: ['BATCH#*'], 'batch-plan': ['BATCH#*'], 'batch-replay': ['BATCH#*'], 'batch-stats': ['BATCH#*'], 'execution-end': ['BATCH#*'], digester: ['AUDIT#HEAD*'] });
      expect(seen['dynamodb:DeleteItem']).toEqual({ snapshots: ['IDEMP#*'] });
      // The audit functions put nothing; the audit API only reads the table.
      for (const name of ['audit', 'digester'] as const) expect(grants(statements(template, stack, name), 'dynamodb:PutItem'), name).toEqual([]);
      expect(grants(statements(template, stack, 'audit'), 'dynamodb:UpdateItem')).toEqual([]);
    });

    it('runs one digester at a time (reserved concurrency 1), so overlapping runs cannot mix a window\'s signature and digest', () => {
      const functions = template.findResources('AWS::Lambda::Function');
      const reserved = Object.entries(functions).filter(([, r]) => (r as { Properties?: { ReservedConcurrentExecutions?: number } }).Properties?.ReservedConcurrentExecutions !== undefined);
      expect(reserved.map(([id, r]) => [id, (r as { Properties: { ReservedConcurrentExecutions: number } }).Properties.ReservedConcurrentExecutions])).toEqual([[fnId(stack, 'digester'), 1]]);
    });

    it('lets only the digester sign digests and write to the audit bucket; nobody may delete a digest', () => {
      // (Writes to the manifest bucket are the batch functions', checked with that bucket.)
      const manifestBucketId = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) => id.startsWith('Manifests')) as string;
      const beyondManifests = (st: Statement) => !JSON.stringify(resourcesOf(st)).includes(manifestBucketId);
      for (const name of LAMBDA_NAMES) {
        const list = statements(template, stack, name);
        expect(grants(list, 'kms:Sign').length > 0, name).toBe(name === 'digester');
        expect(grants(list, 's3:PutObject').filter(beyondManifests).length > 0, name).toBe(name === 'digester');
        expect(list.flatMap(actionsOf).filter((a) => a.startsWith('s3:Delete')), name).toEqual([]);
      }
      template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      template.hasResourceProperties('AWS::S3::Bucket', {
        ObjectLockEnabled: true,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 400 } } },
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      });
      const policy = JSON.stringify(template.findResources('AWS::S3::BucketPolicy'));
      expect(policy).toContain('"aws:SecureTransport":"false"');
      expect(policy).toMatch(/"Effect":"Deny"[^}]*"s3:DeleteObjectVersion"|"s3:DeleteObjectVersion"[^}]*"Effect":"Deny"/);
    });

    it('grants each function the table access its manifest entry declares', () => {
      for (const name of LAMBDA_NAMES) {
        const list = statements(template, stack, name);
        const access = lambdaSpec(name).table;
        expect(grants(list, 'dynamodb:GetItem'), name).toHaveLength(access === 'none' ? 0 : 1);
        expect(grants(list, 'dynamodb:PutItem'), name).toHaveLength(access === 'readWrite' ? 1 : 0);
      }
      expect(lambdaSpec('openapi').table).toBe('none');
      expect(lambdaSpec('snapshots').table).toBe('readWrite');
      // The reports only read: BatchGet and Query, never a write.
      expect(lambdaSpec('reports').table).toBe('read');
      expect(grants(statements(template, stack, 'reports'), 'dynamodb:BatchGetItem')).toHaveLength(1);
    });

    it('grants lambda:InvokeFunction and bedrock:InvokeModel to nobody when nothing is configured', () => {
      for (const name of LAMBDA_NAMES) {
        const list = statements(template, stack, name);
        expect(grants(list, 'lambda:InvokeFunction'), name).toEqual([]);
        expect(grants(list, 'bedrock:InvokeModel'), name).toEqual([]);
      }
    });

    it('bundles neither the Lambda nor the Bedrock Runtime client into any function when nothing is configured', () => {
      const off = { 'process.env.DECISION_REPLAY_LAMBDA_EXECUTORS': '"off"', 'process.env.DECISION_REPLAY_BEDROCK_EXECUTORS': '"off"', 'process.env.DECISION_REPLAY_BEDROCK_SIMILARITY': '"off"' };
      for (const name of LAMBDA_NAMES) expect(stack.functions[name].bundleDefines, name).toEqual(off);
    });

    it('ships no source maps and leaves NODE_OPTIONS unset (each cold start would parse the whole map)', () => {
      for (const name of LAMBDA_NAMES) expect(environmentOf(template, stack, name).NODE_OPTIONS, name).toBeUndefined();
      const withMaps = synthStack({ sourceMaps: true });
      for (const name of LAMBDA_NAMES) expect(environmentOf(withMaps.template, withMaps.stack, name).NODE_OPTIONS, name).toBe('--enable-source-maps');
    });

    // cdk-nag cannot tell one "*" resource from another (the finding id is AwsSolutions-IAM5[Resource::*]
    // whatever the action), so the X-Ray acknowledgement on each role would hide a new "*" grant: this
    // test is the guard.
    it('grants "*" resources only for actions that have no resource-level permissions', () => {
      expect(unexpectedActionsOnStar(template, stack)).toEqual({});
    });

    it('would catch a new "*" grant that the X-Ray acknowledgement hides from cdk-nag', () => {
      const built = buildStack();
      built.stack.functions.openapi.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
      expect(unexpectedActionsOnStar(Template.fromStack(built.stack), built.stack)).toEqual({ openapi: ['s3:GetObject'] });
    });
  });

  it('outputs the API URL, table name, state machine ARN, manifest bucket, bus name, failure queue URL, alarm topic and dashboard', () => {
    const outputs = template.toJSON().Outputs as Record<string, unknown>;
    expect(Object.keys(outputs).sort()).toEqual(['AlarmTopicArn', 'ApiUrl', 'AuditBucketName', 'AuditSigningKeyArn', 'DashboardName', 'EventBusName', 'ManifestBucketName', 'StateMachineArn', 'StreamFailureQueueUrl', 'TableName']);
  });
});

describe('DecisionReplayStack with a configured context', () => {
  const schedules = [
    { name: 'nightly-loans', schedule: 'cron(0 3 * * ? *)', selector: { functionName: 'approve_loan', lastHours: 24 }, mode: 'Tolerant', maxConcurrency: 20, policyName: 'loan-regression', tolerance: 0.9 },
    { name: 'hourly-fraud', schedule: 'rate(1 hour)', selector: { functionName: 'flag_fraud', lastHours: 1 } },
  ];
  const executorArn = 'arn:aws:lambda:eu-west-1:123456789012:function:credit-scorer';
  let stack: DecisionReplayStack;
  let template: Template;

  beforeAll(() => {
    ({ stack, template } = synthStack({
      schedules,
      executorFunctionArns: [executorArn],
      bedrockModelIds: ['anthropic.claude-3-haiku-20240307-v1:0'],
      similarityProvider: 'bedrock-titan',
      allowPrivateNetworkExecutors: true,
      throttling: { rateLimit: 7, burstLimit: 9 },
      streamBatchSize: 25,
      eventBusName: 'decision-replay-staging',
    }));
  });

  it('names the violations bus eventBusName, tells on-write that name and outputs it', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'decision-replay-staging' });
    const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0] as string;
    const onWrite = template.toJSON().Resources[logicalId(stack, stack.functions['on-write'])] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
    expect(onWrite.Properties.Environment.Variables.EVENT_BUS_NAME).toEqual({ Ref: busId });
    expect((template.toJSON().Outputs as Record<string, { Value: unknown }>).EventBusName?.Value).toEqual({ Ref: busId });
  });

  it('creates one rule per schedule that starts the state machine with the batch request as input', () => {
    const machineId = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    // The scheduled rules (the execution-end rule matches an event pattern instead).
    const rules = (Object.values(template.findResources('AWS::Events::Rule')) as Array<{ Properties: { ScheduleExpression?: string; Targets: Array<{ Arn: unknown; Input: string; RoleArn: unknown }> } }>).filter((r) => r.Properties.ScheduleExpression !== undefined);
    expect(rules.map((r) => r.Properties.ScheduleExpression).sort()).toEqual(['cron(0 3 * * ? *)', 'rate(1 hour)', 'rate(5 minutes)']);
    const byExpression = new Map(rules.map((r) => [r.Properties.ScheduleExpression, r.Properties.Targets]));
    const nightly = byExpression.get('cron(0 3 * * ? *)');
    expect(nightly).toHaveLength(1);
    expect(nightly?.[0]?.Arn).toEqual({ Ref: machineId });
    expect(JSON.parse(nightly?.[0]?.Input ?? 'null')).toEqual({
      trigger: 'schedule',
      scheduleName: 'nightly-loans',
      request: { selector: { functionName: 'approve_loan', lastHours: 24 }, mode: 'Tolerant', maxConcurrency: 20, policyName: 'loan-regression', tolerance: 0.9 },
    });
    expect(JSON.parse(byExpression.get('rate(1 hour)')?.[0]?.Input ?? 'null')).toEqual({
      trigger: 'schedule',
      scheduleName: 'hourly-fraud',
      request: { selector: { functionName: 'flag_fraud', lastHours: 1 } },
    });
  });

  it('sends firings the state machine did not take to an encrypted, TLS-only dead-letter queue only these rules may send to', () => {
    const rules = (Object.entries(template.findResources('AWS::Events::Rule')) as Array<[string, { Properties: { ScheduleExpression?: string; Targets: Array<{ RetryPolicy: unknown; DeadLetterConfig?: { Arn: { 'Fn::GetAtt': [string, string] } } }> } }]>).filter(([, r]) => r.Properties.ScheduleExpression?.startsWith('cron(0 3') || r.Properties.ScheduleExpression === 'rate(1 hour)');
    expect(rules).toHaveLength(2);
    const dlqIds = new Set(rules.map(([, r]) => r.Properties.Targets[0]?.DeadLetterConfig?.Arn['Fn::GetAtt'][0]));
    // One queue for all schedules.
    expect(dlqIds.size).toBe(1);
    const dlqId = [...dlqIds][0] as string;
    for (const [, r] of rules) expect(r.Properties.Targets[0]?.RetryPolicy).toEqual({ MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 });
    const dlq = template.toJSON().Resources[dlqId] as { Type: string; Properties: Record<string, unknown> };
    expect(dlq.Type).toBe('AWS::SQS::Queue');
    expect(dlq.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy')).filter((p) => JSON.stringify(p).includes(dlqId));
    const text = JSON.stringify(policies);
    expect(text).toContain('"aws:SecureTransport":"false"');
    for (const [ruleId] of rules) expect(text).toContain(ruleId);
  });

  it('gives the schedules a role that may only start this state machine', () => {
    const machineId = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0];
    const rule = Object.values(template.findResources('AWS::Events::Rule'))[0] as { Properties: { Targets: Array<{ RoleArn: { 'Fn::GetAtt': [string, string] } }> } };
    const roleLogicalId = rule.Properties.Targets[0]?.RoleArn['Fn::GetAtt'][0] ?? '';
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'events.amazonaws.com' } })] },
    });
    expect(statementsOfRole(template, roleLogicalId)).toEqual([{ Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: machineId } }]);
  });

  it('bundles the Lambda and Bedrock Runtime clients into exactly the functions that may call them', () => {
    const off = (name: string) => `process.env.DECISION_REPLAY_${name}`;
    for (const name of LAMBDA_NAMES) {
      const defines = stack.functions[name].bundleDefines;
      const spec = lambdaSpec(name);
      expect(defines[off('LAMBDA_EXECUTORS')], name).toBe(spec.executors ? undefined : '"off"');
      expect(defines[off('BEDROCK_EXECUTORS')], name).toBe(spec.executors ? undefined : '"off"');
      expect(defines[off('BEDROCK_SIMILARITY')], name).toBe(spec.similarity ? undefined : '"off"');
    }
    expect(stack.functions.replay.bundleDefines).toEqual({});
  });

  it('grants executor secrets under the configured executorSecretNamePrefix and hands the functions that prefix', () => {
    const custom = synthStack({ executorSecretNamePrefix: 'models/prod/' });
    const arnPrefix = custom.stack.resolve(`arn:${custom.stack.partition}:secretsmanager:${custom.stack.region}:${custom.stack.account}:secret:models/prod/`);
    for (const name of ['replay', 'batch-replay'] as const) {
      const resources = grants(statements(custom.template, custom.stack, name), 'secretsmanager:GetSecretValue').flatMap(resourcesOf);
      expect(JSON.stringify(resources)).toContain('secret:models/prod/*');
      expect(environmentOf(custom.template, custom.stack, name).EXECUTOR_SECRET_ARN_PREFIX).toEqual(arnPrefix);
    }
  });

  it('lets only the executor users (replay, batch-replay) invoke the configured executor Lambdas and Bedrock models', () => {
    expect(LAMBDA_NAMES.filter((n) => lambdaSpec(n).executors)).toEqual(['replay', 'batch-replay']);
    for (const name of LAMBDA_NAMES) {
      const invokes = grants(statements(template, stack, name), 'lambda:InvokeFunction');
      if (lambdaSpec(name).executors) expect(invokes.flatMap(resourcesOf), name).toEqual([executorArn]);
      else expect(invokes, name).toEqual([]);
    }
    const models = JSON.stringify(grants(statements(template, stack, 'replay'), 'bedrock:InvokeModel').flatMap(resourcesOf));
    expect(models).toContain('foundation-model/anthropic.claude-3-haiku-20240307-v1:0');
    expect(JSON.stringify(grants(statements(template, stack, 'batches'), 'bedrock:InvokeModel'))).toBe('[]');
  });

  it('lets the similarity users (and only them) call the Titan embedding model when bedrock-titan is chosen', () => {
    for (const name of LAMBDA_NAMES) {
      const models = JSON.stringify(grants(statements(template, stack, name), 'bedrock:InvokeModel').flatMap(resourcesOf));
      expect(models.includes('foundation-model/amazon.titan-embed-text-v2:0'), name).toBe(lambdaSpec(name).similarity);
      if (!lambdaSpec(name).executors) expect(models.includes('anthropic'), name).toBe(false);
    }
  });

  it('passes the provider, the private-network switch, the stream batch size and the throttling through', () => {
    expect(environmentOf(template, stack, 'on-write').SIMILARITY_PROVIDER).toBe('bedrock-titan');
    expect(environmentOf(template, stack, 'batch-replay').EXECUTOR_ALLOW_PRIVATE_NETWORKS).toBe('true');
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 25 });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 } });
  });
});
