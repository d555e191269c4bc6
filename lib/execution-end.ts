/**
 * Issue 9, "AWS execution end": a batch execution that ends abnormally (FAILED, TIMED_OUT or
 * ABORTED outside the workflow's Catch) marks its batch FAILED. Step Functions puts an "Execution
 * Status Change" event on the default bus for every status change of a Standard execution; this
 * rule matches the abnormal ends of the batch state machine's executions only and invokes the
 * execution-end Lambda with the event. Events the Lambda cannot be given (after retries, or older
 * than the maximum age) are kept in an encrypted dead-letter queue for an operator.
 */
import { Duration } from 'aws-cdk-lib';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EXECUTION_STATUS_CHANGE } from '../functions/api/execution-end.js';
import { ABNORMAL_EXECUTION_STATUSES } from '../functions/core/batch-execution-end.js';

export interface BatchExecutionEndsProps {
  readonly stateMachine: IStateMachine;
  /** The `execution-end` Lambda (the manifest entry holding the `batchExecutionEnds` grant). */
  readonly handler: IFunction;
}

export class BatchExecutionEnds extends Construct {
  public readonly rule: Rule;
  /** Where undeliverable execution-end events go; encrypted, TLS-only, kept 14 days. */
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: BatchExecutionEndsProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.rule = new Rule(this, 'Rule', {
      description: 'decision-replay: a batch execution that ended FAILED, TIMED_OUT or ABORTED marks its batch FAILED (while RUNNING)',
      eventPattern: {
        source: [EXECUTION_STATUS_CHANGE.source],
        detailType: [EXECUTION_STATUS_CHANGE.detailType],
        detail: { stateMachineArn: [props.stateMachine.stateMachineArn], status: [...ABNORMAL_EXECUTION_STATUSES] },
      },
      targets: [new LambdaFunction(props.handler, { retryAttempts: 8, maxEventAge: Duration.hours(6), deadLetterQueue: this.deadLetterQueue })],
    });
  }
}
