/**
 * The decision-replay stack: the table, one Lambda per manifest entry, the HTTP API, the batch
 * workflow, the stream trigger, the violation bus and the scheduled replays, with each function
 * granted exactly what its handler does.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Duration, Fn, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { DEPLOYED_ROUTES, LAMBDA_NAMES, lambdaSpec, type EnvVarName, type LambdaName } from '../functions/api/manifest.js';
import { BatchWorkflow } from './batch-workflow.js';
import { flattenJoin } from './cfn-join.js';
import { loadConfig, TITAN_EMBEDDING_MODEL_ID, type AppConfig } from './config.js';
import { DecisionFunction, optionalClientDefines, serviceNameOf } from './function-defaults.js';
import { DecisionObservability } from './observability.js';
import { DecisionHttpApi } from './http-api.js';
import { AuditSeal } from './audit-seal.js';
import { ManifestBucket } from './manifest-bucket.js';
import { BATCH_MANIFEST_PREFIX } from '../functions/core/batch.js';
import { UPLOADS_PREFIX } from '../functions/core/id-manifest.js';
import { DecisionTable } from './table.js';
import { CursorSecret } from './hardening.js';
import { ScheduledReplays, SnapshotStreamTrigger, ViolationEventBus } from './triggers.js';
import { BatchExecutionEnds } from './execution-end.js';

/** Where the handler entry files live: `<repo>/functions/handlers/<name>.handler.ts`. */
export const HANDLERS_DIR = fileURLToPath(new URL('../functions/handlers/', import.meta.url));

export interface DecisionReplayStackProps extends StackProps {
  /** Validated configuration; default: read from this stack's context ({@link loadConfig}). */
  readonly config?: AppConfig;
}

/**
 * The id cdk-nag gives a wildcard-resource finding (`AwsSolutions-IAM5[Resource::<flattened>]`):
 * the resource resolved to CloudFormation and flattened the way cdk-nag does (`Fn::GetAtt` →
 * `<Logical.Attr>`, `Ref` → `<Name>`, `Fn::Join` joined). Deriving it from the very ARN that is
 * granted keeps each acknowledgement tied to that one resource, and it follows logical-id changes.
 */
export function iam5ResourceFinding(stack: Stack, resource: string): string {
  const flatten = (node: unknown): string =>
    flattenJoin(node, {
      text: (s) => s.replace(/\$\{/g, '<').replace(/\}/g, '>'),
      token: (token) => {
        if (token === undefined) return '';
        if (typeof token === 'object' && token !== null) {
          const obj = token as Record<string, unknown>;
          if ('Fn::Sub' in obj) return flatten(obj['Fn::Sub']);
          const getAtt = obj['Fn::GetAtt'];
          if (Array.isArray(getAtt)) return `<${flatten(getAtt[0])}.${flatten(getAtt[1])}>`;
          if ('Ref' in obj) return `<${flatten(obj.Ref)}>`;
        }
        return JSON.stringify(token);
      },
    });
  return `AwsSolutions-IAM5[Resource::${flatten(stack.resolve(resource))}]`;
}

/**
 * The wildcards CDK itself puts into the batch state machine's policies, each acknowledged on the
 * policy's own construct, with the finding id derived from the granted resource.
 */
function acknowledgeWorkflowFindings(stack: Stack, workflow: BatchWorkflow, taskFunctions: readonly IFunction[]): void {
  const machine = workflow.stateMachine;
  for (const fn of taskFunctions) {
    Validations.of(machine.role).acknowledge({
      id: iam5ResourceFinding(stack, `${fn.functionArn}:*`),
      reason:
        `The Lambda task grants lambda:InvokeFunction on ${fn.node.id} and on "<its ARN>:*", i.e. its versions ` +
        'and aliases; the wildcard is over qualifiers of this one function.',
    });
  }
  Validations.of(machine.role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'Execution logging (level ALL) and X-Ray tracing: the CloudWatch Logs vended-delivery actions ' +
      '(logs:CreateLogDelivery, logs:PutResourcePolicy, logs:DescribeLogGroups, ...) and the X-Ray actions ' +
      'support no resource-level permissions, so Step Functions documents "*" for them.',
  });
  // The distributed Map runs each iteration as a child execution of this same state machine; their
  // names (and the map runs' `<name>/<mapRunId>`) are generated at run time.
  const distributedMapPolicy = machine.node.tryFindChild('DistributedMapPolicy');
  if (distributedMapPolicy !== undefined) {
    const machineName = Fn.select(6, Fn.split(':', machine.stateMachineArn));
    for (const resourceName of [`${machineName}:*`, `${machineName}/*:*`]) {
      const executions = stack.formatArn({ service: 'states', resource: 'execution', resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
      Validations.of(distributedMapPolicy).acknowledge({
        id: iam5ResourceFinding(stack, executions),
        reason:
          'The distributed Map describes, stops and redrives the child executions (and map runs) it starts; their ' +
          'names are generated at run time, so the grant covers the executions of this one state machine.',
      });
    }
  }
}

function constructId(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _dash: string, c: string) => c.toUpperCase());
}

export class DecisionReplayStack extends Stack {
  /** Every function, by manifest name. */
  public readonly functions: Readonly<Record<LambdaName, DecisionFunction>>;
  public readonly config: AppConfig;

  constructor(scope: Construct, id: string, props: DecisionReplayStackProps = {}) {
    super(scope, id, props);
    const config = props.config ?? loadConfig(this.node);
    this.config = config;

    const table = new DecisionTable(this, 'Decisions').table;
    const violations = new ViolationEventBus(this, 'Violations', { eventBusName: config.eventBusName });

    // One function per manifest entry; what each reads, may touch and may call is its manifest entry.
    const functions = {} as Record<LambdaName, DecisionFunction>;
    for (const name of LAMBDA_NAMES) {
      const spec = lambdaSpec(name);
      functions[name] = new DecisionFunction(this, `${constructId(name)}Function`, {
        entry: join(HANDLERS_DIR, `${name}.handler.ts`),
        name,
        kind: spec.kind,
        description: spec.description,
        // Only the AWS clients this deployment lets the function call are bundled.
        define: optionalClientDefines(spec, config),
        sourceMaps: config.sourceMaps,
        ...(spec.timeoutSeconds !== undefined && { timeout: Duration.seconds(spec.timeoutSeconds) }),
        ...(spec.memorySize !== undefined && { memorySize: spec.memorySize }),
      });
    }
    this.functions = functions;
    const having = (test: (spec: ReturnType<typeof lambdaSpec>) => boolean): LambdaName[] => LAMBDA_NAMES.filter((name) => test(lambdaSpec(name)));

    // Pagination cursors are signed with one generated secret, readable by the functions that page.
    const cursorSecret = new CursorSecret(this, 'Cursors');
    for (const name of having((spec) => spec.grants.includes('readCursorSecret'))) cursorSecret.secret.grantRead(functions[name]);

    // Table grants: exactly the actions the stores use, never table-wide write access. Reads on the
    // table and its GSIs; PutItem for functions that write (conditional puts of new items);
    // UpdateItem and DeleteItem only on the key prefixes the manifest names (dynamodb:LeadingKeys),
    // which never include a snapshot's partition: records are put once, never updated or deleted.
    const indexFinding = iam5ResourceFinding(this, `${table.tableArn}/index/*`);
    const tableResources = [table.tableArn, `${table.tableArn}/index/*`];
    for (const name of LAMBDA_NAMES) {
      const fn = functions[name];
      const spec = lambdaSpec(name);
      if (spec.table !== 'none') {
        const actions = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', ...(spec.table === 'readWrite' ? ['dynamodb:PutItem'] : [])];
        fn.addToRolePolicy(new PolicyStatement({ actions, resources: tableResources }));
        Validations.of(fn.role ?? fn).acknowledge({
          id: indexFinding,
          reason:
            'The grant covers the GSIs of the one table this function uses (<table>/index/*): GSI1 and GSI2 are ' +
            'queried to list snapshots by function and to find the baseline with the same inputs, GSI1K to list their ids, GSI3 to find a ' +
            "window's records; the wildcard is over index names of this table only.",
        });
      }
      // A function with no read access may still update its own bookkeeping records (execution-end).
      const byPrefix = (action: string, prefixes: readonly string[] | undefined) => {
        if (prefixes === undefined || prefixes.length === 0) return;
        fn.addToRolePolicy(
          new PolicyStatement({
            actions: [action],
            resources: [table.tableArn],
            conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((p) => `${p}*`) } },
          }),
        );
      };
      byPrefix('dynamodb:UpdateItem', spec.tableUpdates);
      byPrefix('dynamodb:DeleteItem', spec.tableDeletes);
    }

    // Executors: invoke only the configured Lambdas and Bedrock models.
    const modelArn = (modelId: string): string =>
      modelId.startsWith('arn:')
        ? modelId
        : this.formatArn({ service: 'bedrock', account: '', resource: 'foundation-model', resourceName: modelId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    // Secret headers (`secretHeaders`): executor configurations are runtime data, so the grant cannot
    // list their ARNs; it is every secret under one name prefix, which the API also enforces at
    // registration. Nothing else of the account is readable, so a registered header cannot send,
    // say, the cursor secret to a URL of the caller's choosing.
    const executorSecretArnPrefix = this.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: config.executorSecretNamePrefix, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const executorSecrets = `${executorSecretArnPrefix}*`;
    for (const name of having((spec) => spec.executors)) {
      const fn = functions[name];
      fn.addToRolePolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [executorSecrets] }));
      Validations.of(fn.role ?? fn).acknowledge({
        id: iam5ResourceFinding(this, executorSecrets),
        reason:
          `Executor secret headers name their secrets at run time (PUT /functions/{fn}/executor), so the grant is the name prefix ` +
          `"${config.executorSecretNamePrefix}" (context executorSecretNamePrefix) of this account and region, GetSecretValue only; ` +
          'the API refuses references outside it at registration.',
      });
      if (config.executorFunctionArns.length > 0) {
        fn.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [...config.executorFunctionArns] }));
      }
      if (config.bedrockModelIds.length > 0) {
        fn.addToRolePolicy(new PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: config.bedrockModelIds.map(modelArn) }));
      }
    }
    // The embedding similarity provider calls Titan Text Embeddings V2, and nothing else.
    if (config.similarityProvider === 'bedrock-titan') {
      for (const name of having((spec) => spec.similarity)) {
        functions[name].addToRolePolicy(new PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: [modelArn(TITAN_EMBEDDING_MODEL_ID)] }));
      }
    }

    // Batches. The snapshot ids of a batch travel as a manifest in S3: the API (listed ids and small
    // selections) and Plan (large selections, schedules) write it, the Distributed Map reads it.
    const manifests = new ManifestBucket(this, 'Manifests').bucket;
    for (const name of having((spec) => spec.grants.includes('writeManifests'))) {
      // Put (multipart included), Get/Head to read one back, Abort to clean up a failed upload; only
      // under batches/ (users' uploads/ are read, never written, by the service).
      functions[name].addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'], resources: [manifests.arnForObjects(`${BATCH_MANIFEST_PREFIX}*`)] }));
      Validations.of(functions[name].role ?? functions[name]).acknowledge({
        id: iam5ResourceFinding(this, `${manifests.bucketArn}/${BATCH_MANIFEST_PREFIX}*`),
        reason: `Writes (and reads back) the manifest objects of batches under ${BATCH_MANIFEST_PREFIX} of the one manifest bucket; object keys are batch ids chosen at run time.`,
      });
    }
    // Users' id manifests (`snapshotManifest`): `uploads/` of the manifest bucket, and the objects
    // of the buckets the context names. Listing the own bucket lets S3 answer a missing key with
    // 404 rather than AccessDenied (it names only keys: the batches' manifests and users' uploads).
    for (const name of having((spec) => spec.grants.includes('readIdManifests'))) {
      const fn = functions[name];
      const role = fn.role ?? fn;
      const uploads = manifests.arnForObjects(`${UPLOADS_PREFIX}*`);
      fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [uploads] }));
      fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [manifests.bucketArn] }));
      Validations.of(role).acknowledge({
        id: iam5ResourceFinding(this, `${manifests.bucketArn}/${UPLOADS_PREFIX}*`),
        reason: `POST /batches reads the id manifest a user names (snapshotManifest) under ${UPLOADS_PREFIX} of the one manifest bucket; its key is chosen by the user at run time.`,
      });
      for (const bucket of config.idManifestBuckets) {
        const objects = this.formatArn({ service: 's3', region: '', account: '', resource: bucket, resourceName: '*' });
        fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [objects] }));
        Validations.of(role).acknowledge({
          id: iam5ResourceFinding(this, objects),
          reason: `POST /batches reads id manifests (snapshotManifest) from the bucket ${bucket}, named for that in cdk.json idManifestBuckets; object keys are chosen by the user at run time. Read only, no listing.`,
        });
      }
    }
    const workflow = new BatchWorkflow(this, 'BatchWorkflow', {
      plan: functions['batch-plan'],
      replay: functions['batch-replay'],
      stats: functions['batch-stats'],
    });
    const stateMachine = workflow.stateMachine;
    acknowledgeWorkflowFindings(this, workflow, [functions['batch-plan'], functions['batch-replay'], functions['batch-stats']]);
    // The Distributed Map's ItemReader reads the manifest with the state machine's role.
    stateMachine.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject'], resources: [manifests.arnForObjects(`${BATCH_MANIFEST_PREFIX}*`)] }));
    Validations.of(stateMachine.role).acknowledge({
      id: iam5ResourceFinding(this, `${manifests.bucketArn}/${BATCH_MANIFEST_PREFIX}*`),
      reason: 'The Distributed Map reads each batch manifest (ItemReader) from the one manifest bucket; keys are batch ids chosen at run time.',
    });
    // Progress of one execution: `execution:<state machine name>:<execution name>`.
    const executions = this.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${stateMachine.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    for (const name of having((spec) => spec.grants.includes('startBatches'))) {
      const fn = functions[name];
      stateMachine.grantStartExecution(fn);
      // Describe one batch's execution, and stop it (POST /batches/{id}/cancel).
      fn.addToRolePolicy(new PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [executions] }));
      Validations.of(fn.role ?? fn).acknowledge({
        id: iam5ResourceFinding(this, executions),
        reason:
          'states:DescribeExecution and states:StopExecution on the executions of the batch state machine only; ' +
          'execution names are chosen at start time (the batch id), so they cannot be listed in advance.',
      });
    }

    // Triggers. The stream has one consumer: the function whose manifest entry holds the grant.
    const [streamConsumer, ...extraConsumers] = having((spec) => spec.grants.includes('snapshotStream'));
    if (streamConsumer === undefined || extraConsumers.length > 0) throw new Error('the manifest must name exactly one snapshotStream consumer');
    const stream = new SnapshotStreamTrigger(this, 'OnWrite', {
      table,
      handler: functions[streamConsumer],
      batchSize: config.streamBatchSize,
    });
    Validations.of(functions[streamConsumer].role ?? functions[streamConsumer]).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Two actions that support no resource-level permissions: X-Ray tracing (xray:PutTraceSegments, ' +
        'xray:PutTelemetryRecords) and dynamodb:ListStreams, which the stream event source needs to find ' +
        'the table stream; test/infra asserts that no other action is granted on "*".',
    });
    for (const name of having((spec) => spec.grants.includes('publishViolations'))) violations.grantPublish(functions[name]);
    Validations.of(stream.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter destination of the on-write stream mapping: it only receives ' +
        'descriptions of given-up stream batches, which an operator inspects and re-drives; a further DLQ ' +
        'behind it would have nothing to catch.',
    });
    const schedules = new ScheduledReplays(this, 'Schedules', { schedules: config.schedules, stateMachine });
    if (schedules.deadLetterQueue !== undefined) {
      Validations.of(schedules.deadLetterQueue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself the dead-letter queue of the schedule rules\' targets: it only receives firings ' +
          'EventBridge could not deliver to the state machine, which an operator inspects; a further DLQ behind it would have nothing to catch.',
      });
    }
    // An execution that ends abnormally (outside its Catch) leaves no batch RUNNING: the one function
    // holding the grant marks it FAILED.
    const [executionEndHandler, ...extraEndHandlers] = having((spec) => spec.grants.includes('batchExecutionEnds'));
    if (executionEndHandler === undefined || extraEndHandlers.length > 0) throw new Error('the manifest must name exactly one batchExecutionEnds function');
    const executionEnds = new BatchExecutionEnds(this, 'BatchExecutionEnds', { stateMachine, handler: functions[executionEndHandler] });
    Validations.of(executionEnds.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the execution-end rule target: it only receives events ' +
        'EventBridge could not deliver, which an operator inspects; a further DLQ behind it would have nothing to catch.',
    });

    // The audit seal: digests signed with KMS, kept in a write-once bucket.
    const seal = new AuditSeal(this, 'AuditSeal', { digestIntervalMinutes: config.digestIntervalMinutes, retentionDays: config.auditRetentionDays });
    for (const name of having((spec) => spec.grants.includes('auditRead'))) seal.grantRead(functions[name]);
    for (const name of having((spec) => spec.grants.includes('auditSeal'))) {
      seal.grantSeal(functions[name]);
      seal.schedule(functions[name], config.digestIntervalMinutes);
    }
    Validations.of(seal.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The digest bucket holds write-once, signed objects; every write is by the digester role and every read is ' +
        'verified against the signature. Record S3 data events in CloudTrail for an access trail if required.',
    });
    for (const name of having((spec) => spec.grants.includes('auditRead') || spec.grants.includes('auditSeal'))) {
      Validations.of(functions[name].role ?? functions[name]).acknowledge({
        id: iam5ResourceFinding(this, seal.bucket.arnForObjects('*')),
        reason: 'Digests, signatures and manifests are objects named by their window; the grant covers the objects of the one audit bucket.',
      });
    }

    // Environment: exactly the variables each manifest entry declares, each from one source.
    const values: Record<EnvVarName, string> = {
      TABLE_NAME: table.tableName,
      STATE_MACHINE_ARN: stateMachine.stateMachineArn,
      EVENT_BUS_NAME: violations.bus.eventBusName,
      SIMILARITY_PROVIDER: config.similarityProvider,
      EXECUTOR_ALLOW_PRIVATE_NETWORKS: String(config.allowPrivateNetworkExecutors),
      EXECUTOR_SECRET_ARN_PREFIX: executorSecretArnPrefix,
      CURSOR_SECRET_ARN: cursorSecret.secret.secretArn,
      AUDIT_BUCKET: seal.bucket.bucketName,
      AUDIT_KEY_ID: seal.signingKey.keyArn,
      DIGEST_INTERVAL_MINUTES: String(config.digestIntervalMinutes),
      MANIFEST_BUCKET: manifests.bucketName,
      ID_MANIFEST_BUCKETS: config.idManifestBuckets.join(','),
    };
    for (const name of LAMBDA_NAMES) {
      for (const variable of lambdaSpec(name).env) functions[name].addEnvironment(variable, values[variable]);
    }

    // HTTP API.
    const api = new DecisionHttpApi(this, 'Http', {
      // The manifest's routes and the HEAD twin of each GET route (manifest.ts DEPLOYED_ROUTES).
      routes: DEPLOYED_ROUTES.map((route) => ({ routeKey: route.routeKey, handler: functions[route.lambda] })),
      rateLimit: config.throttling.rateLimit,
      burstLimit: config.throttling.burstLimit,
    });

    new CfnOutput(this, 'ApiUrl', { value: api.url, description: 'HTTP API base URL (IAM/SigV4 auth)' });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: stateMachine.stateMachineArn });
    new CfnOutput(this, 'ManifestBucketName', { value: manifests.bucketName });
    new CfnOutput(this, 'EventBusName', { value: violations.bus.eventBusName });
    new CfnOutput(this, 'StreamFailureQueueUrl', { value: stream.failureQueue.queueUrl });

    // What an operator watches: a dashboard, and alarms on the alarm topic (alarmEmail subscribes).
    const observability = new DecisionObservability(this, 'Observability', {
      functions,
      serviceNameOf,
      streamConsumer,
      stateMachine,
      failureQueue: stream.failureQueue,
      deadLetterQueues: [
        { id: 'BatchExecutionEndsDeadLetter', what: 'a batch execution ended abnormally and its batch could not be marked FAILED', label: 'execution-end DLQ', queue: executionEnds.deadLetterQueue },
        ...(schedules.deadLetterQueue === undefined ? [] : [{ id: 'ScheduledReplaysDeadLetter', what: 'a scheduled replay could not start its batch', label: 'schedules DLQ', queue: schedules.deadLetterQueue }]),
      ],
      alarmEmail: config.alarmEmail,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: observability.topic.topicArn, description: 'SNS topic the alarms notify' });
    new CfnOutput(this, 'DashboardName', { value: observability.dashboard.dashboardName });
    new CfnOutput(this, 'AuditBucketName', { value: seal.bucket.bucketName });
    new CfnOutput(this, 'AuditSigningKeyArn', { value: seal.signingKey.keyArn });
  }
}
