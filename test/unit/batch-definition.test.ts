import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  BATCH_FAILED_ERROR,
  FAILED_STATE,
  LOCAL_FUNCTION_ARNS,
  MARK_FAILED_STATE,
  PLAN_STATE,
  RECORD_ERROR_STATE,
  REPLAY_MAP_STATE,
  REPLAY_STATE,
  RETRYABLE_LAMBDA_ERRORS,
  STATS_STATE,
  SUCCEEDED_STATE,
  renderBatchAsl,
} from '../../lib/batch-definition.js';
import { BatchWorkflow } from '../../lib/batch-workflow.js';
import { flattenJoin } from '../../lib/cfn-join.js';
import { tempDir } from '../support/temp-dirs.js';

// asl-validator ships no types; this is the shape its README documents.
const aslValidator = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: (separator?: string) => string };

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  expect(v, 'expected an object').toBeTypeOf('object');
  return v as Json;
}

const { definition, functionArns } = renderBatchAsl();
const states = obj(definition.States);
const map = obj(states[REPLAY_MAP_STATE]);
const processor = obj(map.ItemProcessor);
const innerStates = obj(processor.States);

/** Every state of the definition, nested ones included, by name. */
function allStates(): Array<[string, Json]> {
  return [...Object.entries(states), ...Object.entries(innerStates)].map(([k, v]) => [k, obj(v)]);
}

/** All keys used anywhere in a JSON value. */
function allKeys(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) v.forEach((x) => allKeys(x, out));
  else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) {
      out.add(k);
      allKeys(x, out);
    }
  }
  return out;
}

describe('renderBatchAsl', () => {
  it('produces a definition asl-validator accepts', () => {
    // asl-validator writes QueryLanguage into the object it checks: give it a copy.
    const result = aslValidator(structuredClone(definition));

    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('chains Plan → Map → Stats → Succeed', () => {
    expect(definition.StartAt).toBe(PLAN_STATE);
    expect(obj(states[PLAN_STATE]).Next).toBe(REPLAY_MAP_STATE);
    expect(map.Next).toBe(STATS_STATE);
    expect(obj(states[STATS_STATE]).Next).toBe(SUCCEEDED_STATE);
    expect(obj(states[SUCCEEDED_STATE]).Type).toBe('Succeed');
  });

  it('reads the manifest with ItemReader, cuts it into chunks with ItemBatcher, in distributed mode with the concurrency taken from the state', () => {
    expect(map).toMatchObject({
      Type: 'Map',
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
        Parameters: { 'Bucket.$': '$.manifest.bucket', 'Key.$': '$.manifest.key' },
      },
      ItemBatcher: { MaxItemsPerBatchPath: '$.itemsPerChunk', BatchInput: { 'batchId.$': '$.batchId' } },
      MaxConcurrencyPath: '$.maxConcurrency',
      ResultPath: null,
    });
    expect(map).not.toHaveProperty('MaxConcurrency');
    expect(map).not.toHaveProperty('ItemsPath');
    expect(obj(states[PLAN_STATE]).ResultSelector).toEqual({
      'batchId.$': '$.Payload.batchId',
      manifest: { 'bucket.$': '$.Payload.manifest.bucket', 'key.$': '$.Payload.manifest.key' },
      'itemsPerChunk.$': '$.Payload.itemsPerChunk',
      'maxConcurrency.$': '$.Payload.maxConcurrency',
    });
    expect(processor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' });
    expect(processor.StartAt).toBe(REPLAY_STATE);
  });

  it('retries Lambda service errors and throttling on every task, with backoff and a bound', () => {
    const tasks = allStates().filter(([, s]) => s.Type === 'Task');
    expect(tasks.map(([name]) => name).sort()).toEqual([MARK_FAILED_STATE, PLAN_STATE, RECORD_ERROR_STATE, REPLAY_STATE, STATS_STATE].sort());
    for (const [name, task] of tasks) {
      const retry = task.Retry as Json[];
      expect(retry, name).toHaveLength(1);
      expect(retry[0]?.ErrorEquals, name).toEqual([...RETRYABLE_LAMBDA_ERRORS]);
      expect(retry[0]?.ErrorEquals, name).toContain('Lambda.TooManyRequestsException');
      expect(retry[0]?.BackoffRate, name).toBeGreaterThan(1);
      expect(retry[0]?.MaxAttempts, name).toBeGreaterThan(0);
      expect(retry[0]?.MaxAttempts, name).toBeLessThanOrEqual(10);
    }
  });

  it('hands each chunk to one call of the replay function and catches any error into an error-recording call of it', () => {
    const replay = obj(innerStates[REPLAY_STATE]);
    const record = obj(innerStates[RECORD_ERROR_STATE]);

    expect(replay.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: RECORD_ERROR_STATE }]);
    expect(obj(replay.Parameters).FunctionName).toBe(functionArns.replay);
    expect(obj(replay.Parameters).Payload).toEqual({ 'batchId.$': '$.BatchInput.batchId', 'items.$': '$.Items' });
    expect(obj(record.Parameters).FunctionName).toBe(functionArns.replay);
    expect(obj(record.Parameters).Payload).toEqual({ recordError: true, 'batchId.$': '$.BatchInput.batchId', 'items.$': '$.Items', 'error.$': '$.error' });
    expect(record.End).toBe(true);
  });

  it('marks the batch failed when plan, map or stats fails, then fails the execution', () => {
    for (const name of [PLAN_STATE, REPLAY_MAP_STATE, STATS_STATE]) {
      expect(obj(states[name]).Catch, name).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: MARK_FAILED_STATE }]);
    }
    const markFailed = obj(states[MARK_FAILED_STATE]);
    expect(obj(markFailed.Parameters)).toEqual({ FunctionName: functionArns.stats, Payload: { failed: true, 'input.$': '$', 'executionName.$': '$$.Execution.Name', 'executionStartTime.$': '$$.Execution.StartTime', 'error.$': '$.error' } });
    expect(markFailed.Next).toBe(FAILED_STATE);
    expect(obj(states[FAILED_STATE])).toMatchObject({ Type: 'Fail', Error: BATCH_FAILED_ERROR, CausePath: '$.error.Cause' });
  });

  it('invokes each function through lambda:invoke with the fixed local ARNs', () => {
    expect(functionArns).toEqual(LOCAL_FUNCTION_ARNS);
    const byState = Object.fromEntries(allStates().filter(([, s]) => s.Type === 'Task').map(([n, s]) => [n, s]));
    for (const [name, arn] of [[PLAN_STATE, functionArns.plan], [STATS_STATE, functionArns.stats], [REPLAY_STATE, functionArns.replay]] as const) {
      expect(obj(byState[name]).Resource, name).toBe('arn:aws:states:::lambda:invoke');
      expect(obj(obj(byState[name]).Parameters).FunctionName, name).toBe(arn);
    }
  });

  it('uses none of the features the local interpreter cannot run (ItemReader and ItemBatcher get its documented pre-step)', () => {
    const keys = allKeys(definition);

    for (const forbidden of ['QueryLanguage', 'Assign', 'Arguments', 'Output', 'ResultWriter', 'ToleratedFailurePercentage']) {
      expect(keys.has(forbidden), forbidden).toBe(false);
    }
    expect(JSON.stringify(definition)).not.toContain('{%');
  });
});

describe('BatchWorkflow', () => {
  function synth(): Template {
    const stack = new Stack(new App({ outdir: tempDir('cdk-asl-') }), 'Test');
    new BatchWorkflow(stack, 'Batch', {
      plan: lambda.Function.fromFunctionArn(stack, 'Plan', LOCAL_FUNCTION_ARNS.plan),
      replay: lambda.Function.fromFunctionArn(stack, 'Replay', LOCAL_FUNCTION_ARNS.replay),
      stats: lambda.Function.fromFunctionArn(stack, 'Stats', LOCAL_FUNCTION_ARNS.stats),
    });
    return Template.fromStack(stack);
  }
  const template = synth();

  /** CloudFormation's Fn::Join over strings and the partition, as deployed in `aws`. */
  function evaluate(v: unknown): string {
    return flattenJoin(v, {
      token: (node) => {
        if (obj(node).Ref === 'AWS::Partition') return 'aws';
        throw new Error(`unexpected token ${JSON.stringify(node)}`);
      },
    });
  }

  it('deploys exactly the definition the local host runs', () => {
    const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    expect(machines).toHaveLength(1);

    const deployed: unknown = JSON.parse(evaluate(obj(obj(machines[0]).Properties).DefinitionString));

    expect(deployed).toEqual(definition);
  });

  it('is a Standard state machine with ALL-level logging and X-Ray tracing', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true, Destinations: Match.anyValue() }),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('lets the state machine invoke the three functions', () => {
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    for (const arn of Object.values(LOCAL_FUNCTION_ARNS)) expect(policies).toContain(arn);
    expect(policies).toContain('lambda:InvokeFunction');
    // The distributed Map starts one child execution per item.
    expect(policies).toContain('states:StartExecution');
  });
});
