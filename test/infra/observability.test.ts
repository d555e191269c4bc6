/**
 * The dashboard and alarms: every alarm the issue asks for exists, notifies the alarm topic, and
 * reads the metric the code emits (namespace, name and `service` dimension from the same constants);
 * `alarmEmail` subscribes an address, and a bad one fails synth.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRIC, METRICS_NAMESPACE } from '../../functions/adapters/telemetry.js';
import { LAMBDA_NAMES } from '../../functions/api/manifest.js';
import { ConfigError } from '../../lib/config.js';
import type { DecisionReplayStack } from '../../lib/decision-replay-stack.js';
import { ON_WRITE_LAG_ALARM_MS } from '../../lib/observability.js';
import { buildStack, logicalId, synthStack } from './synth.js';

type Alarm = { Properties: Record<string, unknown> & { AlarmActions: unknown[]; Dimensions?: Array<{ Name: string; Value: unknown }> } };

describe('observability with the default context', () => {
  let stack: DecisionReplayStack;
  let template: Template;
  let alarms: Alarm[];
  let topicId: string;

  beforeAll(() => {
    ({ stack, template } = synthStack());
    alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Alarm[];
    topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0] ?? '';
  });

  it('alarms on errors and on throttles of every function', () => {
    for (const name of LAMBDA_NAMES) {
      const fnRef = { Ref: logicalId(stack, stack.functions[name]) };
      for (const metric of ['Errors', 'Throttles']) {
        expect(alarms.filter((a) => a.Properties.Namespace === 'AWS/Lambda' && a.Properties.MetricName === metric && JSON.stringify(a.Properties.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: fnRef }])), `${name} ${metric}`).toHaveLength(1);
      }
    }
  });

  it('alarms on messages in the stream failure queue, and on failed, timed-out and aborted batch executions', () => {
    const queueId = Object.keys(template.findResources('AWS::SQS::Queue'))[0];
    expect(alarms.filter((a) => a.Properties.Namespace === 'AWS/SQS' && a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Properties.Dimensions).includes(String(queueId)))).toHaveLength(1);
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
      expect(alarms.filter((a) => a.Properties.Namespace === 'AWS/States' && a.Properties.MetricName === metric), metric).toHaveLength(1);
    }
  });

  it('alarms on messages in the execution-end dead-letter queue (a batch whose abnormal end could not be recorded)', () => {
    const rule = Object.values(template.findResources('AWS::Events::Rule')).find((r) => JSON.stringify(r).includes('Step Functions Execution Status Change')) as { Properties: { Targets: Array<{ DeadLetterConfig: { Arn: { 'Fn::GetAtt': [string, string] } } }> } };
    const dlqId = rule.Properties.Targets[0]?.DeadLetterConfig.Arn['Fn::GetAtt'][0] as string;
    const onDlq = alarms.filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Properties.Dimensions).includes(dlqId));
    expect(onDlq).toHaveLength(1);
    expect(onDlq[0]?.Properties).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(String(onDlq[0]?.Properties.AlarmDescription)).toContain('could not be marked FAILED');
  });

  it('alarms on the on-write lag the on-write function emits: same namespace, metric name and service dimension', () => {
    const lag = alarms.filter((a) => a.Properties.MetricName === METRIC.onWriteLag);
    expect(lag).toHaveLength(1);
    expect(lag[0]?.Properties).toMatchObject({ Namespace: METRICS_NAMESPACE, ExtendedStatistic: 'p95', Threshold: ON_WRITE_LAG_ALARM_MS, Dimensions: [{ Name: 'service', Value: 'decision-replay-on-write' }] });
    const onWriteEnv = (template.toJSON().Resources[logicalId(stack, stack.functions['on-write'])] as { Properties: { Environment: { Variables: Record<string, string> } } }).Properties.Environment.Variables;
    expect(onWriteEnv.POWERTOOLS_SERVICE_NAME).toBe('decision-replay-on-write');
  });

  it('sends every alarm to the alarm topic, which refuses plain-text transport and has no subscriber by default', () => {
    // Per function errors and throttles; the stream failure queue and the execution-end DLQ; failed,
    // timed-out and aborted executions; on-write lag. (No schedules configured: no schedules DLQ.)
    expect(alarms.length).toBe(2 * LAMBDA_NAMES.length + 2 + 3 + 1);
    for (const a of alarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } });
  });

  it('has one dashboard over the project namespace, the functions and the state machine', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Array<{ Properties: { DashboardBody: unknown } }>;
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties.DashboardBody);
    for (const name of Object.values(METRIC)) expect(body, name).toContain(name);
    expect(body).toContain(METRICS_NAMESPACE);
    expect(body).toContain('ExecutionsFailed');
  });
});

describe('observability with schedules', () => {
  it('alarms on messages in the schedules\' dead-letter queue, the queue their rule targets name', () => {
    const { template } = synthStack({ schedules: [{ name: 'nightly', schedule: 'cron(0 3 * * ? *)', selector: { functionName: 'approve_loan', lastHours: 24 } }] });
    const rule = Object.values(template.findResources('AWS::Events::Rule')).find((r) => JSON.stringify(r).includes('cron(0 3')) as { Properties: { Targets: Array<{ DeadLetterConfig: { Arn: { 'Fn::GetAtt': [string, string] } } }> } };
    const dlqId = rule.Properties.Targets[0]?.DeadLetterConfig.Arn['Fn::GetAtt'][0] as string;
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Alarm[];
    const onDlq = alarms.filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Properties.Dimensions).includes(dlqId));
    expect(onDlq).toHaveLength(1);
    expect(String(onDlq[0]?.Properties.AlarmDescription)).toContain('a scheduled replay could not start its batch');
    expect(alarms.length).toBe(2 * LAMBDA_NAMES.length + 3 + 3 + 1);
  });
});

describe('observability with alarmEmail', () => {
  it('subscribes the address to the alarm topic', () => {
    const { template } = synthStack({ alarmEmail: 'oncall@example.com' });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: Match.anyValue() } });
  });

  it('refuses an address that is not one, at synth', () => {
    expect(() => buildStack({ alarmEmail: 'not-an-address' })).toThrow(ConfigError);
  });
});
