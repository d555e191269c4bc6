/**
 * What starts work besides the HTTP API (DESIGN §7): the DynamoDB stream consumer that validates
 * each new snapshot, the EventBridge bus its violations go to, and scheduled regression replays.
 */
import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { FilterCriteria, FilterRule, StartingPosition, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SNAPSHOT_INSERT } from '../functions/adapters/dynamodb/snapshot-stream.js';
import { scheduledBatchInput, type ScheduleConfig } from './config.js';

/**
 * Only inserts of snapshot items reach the on-write Lambda: replay results, validation reports,
 * policies and batch items share the table and would otherwise wake it for nothing (and its own
 * report writes would feed back into the stream).
 */
export const SNAPSHOT_INSERT_FILTER = FilterCriteria.filter({
  eventName: FilterRule.isEqual(SNAPSHOT_INSERT.eventName),
  dynamodb: { NewImage: { [SNAPSHOT_INSERT.sortKeyAttribute]: { S: FilterRule.isEqual(SNAPSHOT_INSERT.sortKey) } } },
});

export interface SnapshotStreamTriggerProps {
  readonly table: ITable;
  /** The `on-write` Lambda. */
  readonly handler: IFunction;
  /** Records per invocation (default 100). */
  readonly batchSize?: number;
}

/**
 * The stream consumer. A poison record must not block its shard for the stream's 24 h retention
 * (DESIGN §9), so: the failing half of a batch is bisected out, retries are bounded (3), records
 * older than an hour are given up, the handler reports partial failures so good records are not
 * redelivered, and whatever is given up is described in an SQS message (the on-failure
 * destination: shard, sequence numbers) for an operator to re-drive.
 */
export class SnapshotStreamTrigger extends Construct {
  /** Where given-up stream batches are described; encrypted, TLS-only, kept 14 days. */
  public readonly failureQueue: Queue;

  constructor(scope: Construct, id: string, props: SnapshotStreamTriggerProps) {
    super(scope, id);
    this.failureQueue = new Queue(this, 'FailureQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    props.handler.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.LATEST,
        batchSize: props.batchSize ?? 100,
        bisectBatchOnError: true,
        retryAttempts: 3,
        maxRecordAge: Duration.hours(1),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.failureQueue),
        filters: [SNAPSHOT_INSERT_FILTER],
      }),
    );
  }
}

/**
 * The bus `PolicyViolation` events are published to. Its name is set (the `eventBusName` context
 * key, `decision-replay` unless changed) so rules can be written against it.
 */
export class ViolationEventBus extends Construct {
  public readonly bus: EventBus;

  constructor(scope: Construct, id: string, props: { readonly eventBusName: string }) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', {
      eventBusName: props.eventBusName,
      description: 'decision-replay: PolicyViolation events from on-write validation',
    });
  }

  /** Lets `fn` publish to this bus and no other (its name reaches `fn` as EVENT_BUS_NAME, per the manifest). */
  grantPublish(fn: IFunction): void {
    this.bus.grantPutEventsTo(fn);
  }
}

export interface ScheduledReplaysProps {
  readonly schedules: readonly ScheduleConfig[];
  readonly stateMachine: IStateMachine;
}

/**
 * One EventBridge rule per configured schedule, each starting the batch state machine. The window
 * is relative (`lastHours`): the plan step resolves it when the execution starts, so every firing
 * replays the hours before it. All rules share one role that may only start this state machine.
 * A firing EventBridge cannot deliver (StartExecution refused or throttled through its retries)
 * goes to a dead-letter queue, where an alarm sees it, instead of a regression replay silently not
 * happening.
 */
export class ScheduledReplays extends Construct {
  public readonly rules: readonly Rule[];
  /** Undefined when no schedule is configured (no role is created for nothing). */
  public readonly role: Role | undefined;
  /** Firings that could not start their batch; encrypted, TLS-only, kept 14 days. Undefined without schedules. */
  public readonly deadLetterQueue: Queue | undefined;

  constructor(scope: Construct, id: string, props: ScheduledReplaysProps) {
    super(scope, id);
    if (props.schedules.length === 0) {
      this.rules = [];
      this.role = undefined;
      this.deadLetterQueue = undefined;
      return;
    }
    const role = new Role(this, 'StartExecutionRole', {
      assumedBy: new ServicePrincipal('events.amazonaws.com'),
      description: 'Lets the decision-replay schedules start batch replays, and nothing else',
    });
    props.stateMachine.grantStartExecution(role);
    this.role = role;
    const deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.deadLetterQueue = deadLetterQueue;
    this.rules = props.schedules.map(
      (schedule) =>
        new Rule(this, `Schedule-${schedule.name}`, {
          description: `decision-replay scheduled regression replay "${schedule.name}"`,
          schedule: Schedule.expression(schedule.schedule),
          targets: [
            new SfnStateMachine(props.stateMachine, {
              role,
              input: RuleTargetInput.fromObject(scheduledBatchInput(schedule)),
              retryAttempts: 3,
              maxEventAge: Duration.hours(1),
              deadLetterQueue,
            }),
          ],
        }),
    );
  }
}
