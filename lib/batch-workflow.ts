/**
 * The batch-replay workflow (DESIGN §6): a Standard state machine running the definition of
 * `batch-definition.ts`, with full execution logging and X-Ray tracing.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { batchDefinitionProps } from './batch-definition.js';

/** The Lambda functions of the three batch steps, and log settings. */
export interface BatchWorkflowProps {
  /** Resolves a batch request to snapshot ids (`batch-plan`). */
  plan: lambda.IFunction;
  /** Replays one snapshot and stores its result, or records an error result (`batch-replay`). */
  replay: lambda.IFunction;
  /** Computes the stats, or marks the batch FAILED (`batch-stats`). */
  stats: lambda.IFunction;
  /** How long execution logs are kept. Default: one month. */
  logRetention?: logs.RetentionDays;
  /** What happens to the log group when the stack is deleted. Default: RETAIN (audit trail). */
  logRemovalPolicy?: RemovalPolicy;
}

/** The batch state machine, its log group, and invoke grants on the three functions. */
export class BatchWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BatchWorkflowProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      // Definition and comment come from the one place renderBatchAsl also uses: the local host
      // runs this exact ASL. Nothing set below changes the ASL.
      ...batchDefinitionProps(this, props),
      stateMachineType: sfn.StateMachineType.STANDARD,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
  }
}
