/**
 * What an operator watches (DESIGN §7, issue 10): one CloudWatch dashboard over the functions'
 * EMF metrics and the AWS metrics of the pieces around them, and alarms that notify an SNS topic —
 * messages in the stream failure queue and in the dead-letter queues of the EventBridge targets,
 * Lambda errors and throttles, batch executions that failed, timed out or were aborted, and on-write
 * lag. An optional e-mail address (`alarmEmail`) is subscribed to the topic.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, MathExpression, Metric, AlarmStatusWidget, TextWidget, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE } from '../functions/adapters/telemetry.js';

/** On-write lag (p95 over 5 minutes) above which the alarm fires: a minute behind the writes. */
export const ON_WRITE_LAG_ALARM_MS = 60_000;

const PERIOD = Duration.minutes(5);

export interface DecisionObservabilityProps {
  /** Every function, by manifest name. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** The service name of each function (its metrics' `service` dimension). */
  readonly serviceNameOf: (name: string) => string;
  /** The function that consumes the snapshot stream (emits the on-write lag). */
  readonly streamConsumer: string;
  readonly stateMachine: IStateMachine;
  readonly failureQueue: IQueue;
  /**
   * Dead-letter queues of EventBridge rule targets (batch execution ends, scheduled replays): a
   * message in one is an event that was never acted on. Each gets an alarm and a dashboard line.
   */
  readonly deadLetterQueues?: readonly DeadLetterQueueWatch[];
  readonly alarmEmail?: string | undefined;
}

/** A dead-letter queue to watch: `id` names its alarm (`<id>Messages`), `what` says what a message in it means. */
export interface DeadLetterQueueWatch {
  readonly id: string;
  readonly what: string;
  readonly label: string;
  readonly queue: IQueue;
}

/** A SEARCH over one of the project's EMF metrics, across the dimension set it is emitted with. */
function search(metricName: string, dimensions: readonly string[], statistic: string, label: string): IMetric {
  const schema = [METRICS_NAMESPACE, 'service', ...dimensions].join(',');
  return new MathExpression({ expression: `SEARCH('{${schema}} MetricName="${metricName}"', '${statistic}', ${PERIOD.toSeconds()})`, usingMetrics: {}, label, period: PERIOD });
}

export class DecisionObservability extends Construct {
  public readonly topic: Topic;
  public readonly dashboard: Dashboard;
  public readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: DecisionObservabilityProps) {
    super(scope, id);
    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'decision-replay alarms', enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'The topic carries CloudWatch alarm notifications only (alarm name, state, metric), no decision data; ' +
        'CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer key for ' +
        'alarm names alone would add cost without protecting any data.',
    });
    if (props.alarmEmail !== undefined) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    const action = new SnsAction(this.topic);

    const alarm = (alarmId: string, description: string, metric: IMetric, threshold: number, evaluationPeriods = 1): Alarm => {
      const a = new Alarm(this, alarmId, {
        alarmDescription: `decision-replay: ${description}`,
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      this.alarms.push(a);
      return a;
    };

    alarm('StreamFailureQueueMessages', 'on-write gave up on stream records (messages in the failure queue)', props.failureQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }), 1);
    const deadLetterQueues = props.deadLetterQueues ?? [];
    for (const dlq of deadLetterQueues) alarm(`${dlq.id}Messages`, `${dlq.what} (messages in its dead-letter queue)`, dlq.queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }), 1);
    for (const [name, fn] of Object.entries(props.functions)) {
      const cid = name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
      alarm(`${cid}Errors`, `the ${name} function failed`, fn.metricErrors({ period: PERIOD, statistic: 'Sum' }), 1);
      alarm(`${cid}Throttles`, `the ${name} function was throttled`, fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }), 1);
    }
    alarm('BatchExecutionsFailed', 'a batch execution failed', props.stateMachine.metricFailed({ period: PERIOD, statistic: 'Sum' }), 1);
    alarm('BatchExecutionsTimedOut', 'a batch execution timed out', props.stateMachine.metricTimedOut({ period: PERIOD, statistic: 'Sum' }), 1);
    alarm('BatchExecutionsAborted', 'a batch execution was aborted', props.stateMachine.metricAborted({ period: PERIOD, statistic: 'Sum' }), 1);
    const onWriteLag = new Metric({ namespace: METRICS_NAMESPACE, metricName: METRIC.onWriteLag, dimensionsMap: { service: props.serviceNameOf(props.streamConsumer) }, statistic: 'p95', period: PERIOD });
    alarm('OnWriteLag', `on-write validation is more than ${ON_WRITE_LAG_ALARM_MS / 1000} s behind the writes (p95, 3 of 5-minute periods)`, onWriteLag, ON_WRITE_LAG_ALARM_MS, 3);

    const fns = Object.entries(props.functions);
    this.dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new TextWidget({ markdown: `# decision-replay\nMetrics in namespace \`${METRICS_NAMESPACE}\` (EMF from the functions), Lambda, Step Functions and SQS.`, width: 24, height: 2 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Replays by status and mode', left: [search(METRIC.replays, ['status', 'mode'], 'Sum', 'replays')], width: 8 }),
      new GraphWidget({ title: 'Executor latency p95 (ms)', left: [search(METRIC.executorLatency, ['executorType', 'outcome'], 'p95', 'p95')], width: 8 }),
      new GraphWidget({ title: 'Executor errors by code', left: [search(METRIC.executorErrors, ['code'], 'Sum', 'errors')], width: 8 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Policy violations (replay, on-write)', left: [search(METRIC.policyViolations, ['source'], 'Sum', 'violations')], width: 6 }),
      new GraphWidget({ title: 'On-write lag p50 / p95 (ms)', left: [onWriteLag.with({ statistic: 'p50', label: 'p50' }), onWriteLag.with({ label: 'p95' })], width: 6 }),
      new GraphWidget({ title: 'Batches: match rate (%) and outcomes', left: [search(METRIC.batchMatchRate, [], 'Average', 'match rate')], right: [search(METRIC.batches, ['status'], 'Sum', 'batches')], width: 6 }),
      new GraphWidget({ title: 'Tampered snapshots found', left: [search(METRIC.tamperedSnapshots, [], 'Sum', 'tampered')], width: 6 }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Lambda errors', left: fns.map(([name, fn]) => fn.metricErrors({ period: PERIOD, statistic: 'Sum', label: name })), width: 8 }),
      new GraphWidget({ title: 'Lambda throttles', left: fns.map(([name, fn]) => fn.metricThrottles({ period: PERIOD, statistic: 'Sum', label: name })), width: 8 }),
      new GraphWidget({
        title: 'Batch executions',
        left: [
          props.stateMachine.metricSucceeded({ period: PERIOD, statistic: 'Sum', label: 'succeeded' }),
          props.stateMachine.metricFailed({ period: PERIOD, statistic: 'Sum', label: 'failed' }),
          props.stateMachine.metricTimedOut({ period: PERIOD, statistic: 'Sum', label: 'timed out' }),
          props.stateMachine.metricAborted({ period: PERIOD, statistic: 'Sum', label: 'aborted' }),
        ],
        right: [
          props.failureQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: 'stream failure queue' }),
          ...deadLetterQueues.map((dlq) => dlq.queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum', label: dlq.label })),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }));
  }
}
