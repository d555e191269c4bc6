/**
 * The batch-replay state machine definition (DESIGN §6), built once with CDK and used twice: the
 * {@link BatchWorkflow} construct deploys it, and {@link renderBatchAsl} renders the very same ASL
 * for the one-machine host, whose interpreter (aws-local-stepfunctions) runs it with one documented
 * pre-step: that interpreter ignores ItemReader and ItemBatcher, so functions/local/step-functions.ts
 * reads the manifest and cuts it into chunks in a Task it inserts before the Map (tested to be the
 * only difference).
 *
 * Only JSONPath features that interpreter runs (DESIGN §9): InputPath/Parameters/ResultSelector/
 * ResultPath/OutputPath, ItemsPath, ItemSelector, MaxConcurrencyPath, Retry/Catch, Fail CausePath,
 * plus ItemReader (S3 CSV) and ItemBatcher as above. No JSONata, no `Assign`, no ResultWriter.
 *
 * Data flow (every Lambda is called through `arn:aws:states:::lambda:invoke`, so each receives
 * exactly the `Payload` below and its return value is the invoke result's `Payload`):
 *
 * | state | function | receives | must return |
 * |---|---|---|---|
 * | {@link PLAN_STATE} | plan | `{input: <execution input>, executionName, executionStartTime}`; the input is `{batchId}` (API) or `{trigger: "schedule", scheduleName, request}` | `{batchId, manifest: {bucket, key}, itemsPerChunk, maxConcurrency: 1..1000}` (other fields are dropped) |
 * | {@link REPLAY_STATE} (per chunk) | replay | `{batchId, items: [{snapshotId}, …]}` | anything small (ignored); throw named errors |
 * | {@link RECORD_ERROR_STATE} (per chunk, after a caught error) | replay | `{recordError: true, batchId, items, error: {Error, Cause}}` | anything small (ignored) |
 * | {@link STATS_STATE} | stats | `{batchId}` | the execution's output (keep it under 256 KiB) |
 * | {@link MARK_FAILED_STATE} | stats | `{failed: true, input: <state, with batchId once planned>, executionName, executionStartTime, error: {Error, Cause}}` | ignored |
 *
 * `error.Cause` is a string: for an error thrown by a function, Lambda's JSON
 * `{"errorType","errorMessage","trace"?}`; for a Step Functions error (e.g. `States.Timeout`) plain text.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { flattenJoin } from './cfn-join.js';

/** Resolves the selection to snapshot ids. */
export const PLAN_STATE = 'PlanBatch';
/** The (distributed) Map over the snapshot ids. */
export const REPLAY_MAP_STATE = 'ReplayEachChunk';
/** Inside the Map: replay one chunk of snapshots and store their result items and the chunk's stats. */
export const REPLAY_STATE = 'ReplayChunk';
/** Inside the Map, after a caught error: store an `Error` result for each snapshot of the chunk without one. */
export const RECORD_ERROR_STATE = 'RecordChunkError';
/** Computes the stats from the stored result items and marks the batch SUCCEEDED. */
export const STATS_STATE = 'ComputeStats';
/** After a caught error in plan, map or stats: marks the batch FAILED with the reason. */
export const MARK_FAILED_STATE = 'MarkBatchFailed';
/** Terminal success. */
export const SUCCEEDED_STATE = 'BatchSucceeded';
/** Terminal failure (after {@link MARK_FAILED_STATE}). */
export const FAILED_STATE = 'BatchFailed';

/**
 * The `Error` of a failed execution; its `Cause` is the caught error's cause. SCREAMING_CASE like
 * every code the service gives: the execution-end function keeps such a name as the code it
 * quotes in a batch's `failureReason` (functions/api/batch-tasks.ts, `workflowErrorCode`).
 */
export const BATCH_FAILED_ERROR = 'BATCH_REPLAY_FAILED';

/** The errors each Lambda task retries: Lambda service faults and throttling (DESIGN §6). */
export const RETRYABLE_LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/**
 * Retry policy for those errors: 1 s, 2 s, 4 s, … capped at 20 s, full jitter, 6 retries (≈ 1 min in
 * the worst case), so a throttled burst spreads out instead of failing the item.
 */
export const LAMBDA_RETRY: Readonly<sfn.RetryProps> = {
  errors: [...RETRYABLE_LAMBDA_ERRORS],
  interval: Duration.seconds(1),
  backoffRate: 2,
  maxAttempts: 6,
  maxDelay: Duration.seconds(20),
  jitterStrategy: sfn.JitterType.FULL,
};

/** Text of the ASL's top-level `Comment`. */
export const BATCH_COMMENT = 'decision-replay batch: plan → replay each snapshot (Map) → stats';

/** The three Lambda functions the workflow invokes. */
export interface BatchFunctions {
  plan: lambda.IFunction;
  replay: lambda.IFunction;
  stats: lambda.IFunction;
}

/** A `lambda:invoke` task with our Retry (CDK's own default retry is replaced, not added to). */
function invoke(scope: Construct, stateName: string, fn: lambda.IFunction, props: Omit<tasks.LambdaInvokeProps, 'lambdaFunction'>): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, stateName, {
    stateName,
    lambdaFunction: fn,
    // The default (not payloadResponseOnly) form hands the local interpreter `{FunctionName, Payload}`,
    // so the local host can map the function by ARN exactly as AWS does (DESIGN §9).
    payloadResponseOnly: false,
    retryOnServiceExceptions: false,
    ...props,
  });
  task.addRetry(LAMBDA_RETRY);
  return task;
}

/**
 * Builds the batch chain: Plan → Map(Replay, Catch → RecordError) → Stats → Succeed, with a Catch on
 * Plan, Map and Stats to MarkFailed → Fail. Construct ids equal the exported state names, so call it
 * once per scope.
 */
export function buildBatchChain(scope: Construct, fns: BatchFunctions): sfn.IChainable {
  const markFailed = invoke(scope, MARK_FAILED_STATE, fns.stats, {
    // The whole state, not `$.batchId`: a scheduled execution that failed in Plan has no batchId
    // yet, and a missing path would fail this state too. The handler derives the id as Plan does.
    payload: sfn.TaskInput.fromObject({
      failed: true,
      input: sfn.JsonPath.objectAt('$'),
      executionName: sfn.JsonPath.stringAt('$$.Execution.Name'),
      executionStartTime: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
      error: sfn.JsonPath.objectAt('$.error'),
    }),
    resultPath: sfn.JsonPath.DISCARD,
  }).next(
    new sfn.Fail(scope, FAILED_STATE, { stateName: FAILED_STATE, error: BATCH_FAILED_ERROR, causePath: '$.error.Cause' }),
  );

  const plan = invoke(scope, PLAN_STATE, fns.plan, {
    // The execution's name and start time let Plan give a scheduled execution (whose input has no
    // batchId) a batch id that is the same on every retry, and resolve its relative time window
    // at fire time.
    payload: sfn.TaskInput.fromObject({
      input: sfn.JsonPath.objectAt('$'),
      executionName: sfn.JsonPath.stringAt('$$.Execution.Name'),
      executionStartTime: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
    }),
    // Keep only what the Map needs: where the ids are, how to cut them, how many chunks at once.
    resultSelector: {
      batchId: sfn.JsonPath.stringAt('$.Payload.batchId'),
      manifest: { bucket: sfn.JsonPath.stringAt('$.Payload.manifest.bucket'), key: sfn.JsonPath.stringAt('$.Payload.manifest.key') },
      itemsPerChunk: sfn.JsonPath.numberAt('$.Payload.itemsPerChunk'),
      maxConcurrency: sfn.JsonPath.numberAt('$.Payload.maxConcurrency'),
    },
  });
  plan.addCatch(markFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  // Each child's output is `{StatusCode}` whatever the function returns: the Map discards it, but a
  // Distributed Map still gathers its children's outputs, so they must stay tiny.
  const iterationOutput = { StatusCode: sfn.JsonPath.numberAt('$.StatusCode') };
  // A child execution receives ItemBatcher's `{BatchInput: {batchId}, Items: [{snapshotId}, …]}`
  // and hands the whole chunk to one invocation, which replays its items one after another.
  const replay = invoke(scope, REPLAY_STATE, fns.replay, {
    payload: sfn.TaskInput.fromObject({
      batchId: sfn.JsonPath.stringAt('$.BatchInput.batchId'),
      items: sfn.JsonPath.listAt('$.Items'),
    }),
    resultSelector: iterationOutput,
  });
  const recordError = invoke(scope, RECORD_ERROR_STATE, fns.replay, {
    payload: sfn.TaskInput.fromObject({
      recordError: true,
      batchId: sfn.JsonPath.stringAt('$.BatchInput.batchId'),
      items: sfn.JsonPath.listAt('$.Items'),
      error: sfn.JsonPath.objectAt('$.error'),
    }),
    resultSelector: iterationOutput,
  });
  // Any error left after the retries becomes Error results: results always equal snapshots.
  replay.addCatch(recordError, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const map = new sfn.DistributedMap(scope, REPLAY_MAP_STATE, {
    stateName: REPLAY_MAP_STATE,
    // The manifest Plan wrote: CSV with a `snapshotId` header, so each item is `{snapshotId}`.
    itemReader: new sfn.S3CsvItemReader({
      bucketNamePath: sfn.JsonPath.stringAt('$.manifest.bucket'),
      key: sfn.JsonPath.stringAt('$.manifest.key'),
      csvHeaders: sfn.CsvHeaders.useFirstRow(),
    }),
    // Chunks: one child execution and one Lambda invocation per chunk instead of per snapshot.
    // MaxConcurrency bounds the chunks in flight; a chunk runs one executor call at a time, so
    // executor calls in flight never exceed maxConcurrency.
    itemBatcher: new sfn.ItemBatcher({
      maxItemsPerBatchPath: '$.itemsPerChunk',
      batchInput: { 'batchId.$': '$.batchId' },
    }),
    maxConcurrencyPath: '$.maxConcurrency',
    mapExecutionType: sfn.StateMachineType.EXPRESS,
    resultPath: sfn.JsonPath.DISCARD,
  });
  map.itemProcessor(replay);
  map.addCatch(markFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const stats = invoke(scope, STATS_STATE, fns.stats, {
    payload: sfn.TaskInput.fromObject({ batchId: sfn.JsonPath.stringAt('$.batchId') }),
    outputPath: '$.Payload',
  });
  stats.addCatch(markFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  return sfn.Chain.start(plan)
    .next(map)
    .next(stats)
    .next(new sfn.Succeed(scope, SUCCEEDED_STATE, { stateName: SUCCEEDED_STATE }));
}

/**
 * The state-machine props that shape the ASL (definition and comment). {@link BatchWorkflow} and
 * {@link renderBatchAsl} both use this, so the local host runs exactly what CDK deploys.
 */
export function batchDefinitionProps(scope: Construct, fns: BatchFunctions): Pick<sfn.StateMachineProps, 'definitionBody' | 'comment'> {
  return { definitionBody: sfn.DefinitionBody.fromChainable(buildBatchChain(scope, fns)), comment: BATCH_COMMENT };
}

/** The fixed ARNs {@link renderBatchAsl} puts in the definition; the local host maps them to handlers. */
export const LOCAL_FUNCTION_ARNS = {
  plan: 'arn:aws:lambda:us-east-1:000000000000:function:decision-replay-batch-plan',
  replay: 'arn:aws:lambda:us-east-1:000000000000:function:decision-replay-batch-replay',
  stats: 'arn:aws:lambda:us-east-1:000000000000:function:decision-replay-batch-stats',
} as const;

/** A state-machine definition rendered to Amazon States Language JSON. */
export interface RenderedBatchAsl {
  /** The ASL object (`StartAt`, `States`, …), exactly as CDK deploys it. */
  definition: Record<string, unknown>;
  /** The function ARNs used in it, by role. */
  functionArns: { plan: string; replay: string; stats: string };
}

/**
 * Renders the batch definition to ASL JSON in a throwaway App/Stack, with functions imported by the
 * fixed {@link LOCAL_FUNCTION_ARNS}, by resolving the deployed `DefinitionString` itself.
 */
export function renderBatchAsl(): RenderedBatchAsl {
  // An App makes its output folder when it is built, and nothing is synthesized into it here: it is
  // removed after (without an outdir, every render, one per `npm start`, left an empty cdk.out* in /tmp).
  const outdir = mkdtempSync(join(tmpdir(), 'batch-asl-'));
  try {
    const stack = new Stack(new App({ outdir }), 'BatchAslRender');
    const fns: BatchFunctions = {
      plan: lambda.Function.fromFunctionArn(stack, 'Plan', LOCAL_FUNCTION_ARNS.plan),
      replay: lambda.Function.fromFunctionArn(stack, 'Replay', LOCAL_FUNCTION_ARNS.replay),
      stats: lambda.Function.fromFunctionArn(stack, 'Stats', LOCAL_FUNCTION_ARNS.stats),
    };
    const machine = new sfn.StateMachine(stack, 'BatchStateMachine', batchDefinitionProps(stack, fns));
    const cfn = machine.node.defaultChild as sfn.CfnStateMachine;
    const text = evaluateDeployString(stack.resolve(cfn.definitionString));
    return { definition: JSON.parse(text) as Record<string, unknown>, functionArns: { ...LOCAL_FUNCTION_ARNS } };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Evaluates the resolved `DefinitionString` the way CloudFormation would in the `aws` partition.
 * The only deploy-time value it may contain is `AWS::Partition` (in the `lambda:invoke` resource
 * ARN); anything else means the definition grew a dependency the local host cannot honour.
 */
function evaluateDeployString(value: unknown): string {
  return flattenJoin(value, {
    token: (node) => {
      if (isRecord(node) && node.Ref === 'AWS::Partition') return LOCAL_PARTITION;
      throw new Error(`batch definition holds a deploy-time value the local host cannot evaluate: ${JSON.stringify(node).slice(0, 200)}`);
    },
  });
}

const LOCAL_PARTITION = 'aws';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
