import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../lib/config.js';
import { DecisionReplayStack } from '../../lib/decision-replay-stack.js';
import { testContext } from './synth.js';
import { tempDir } from '../support/temp-dirs.js';

describe('parseConfig', () => {
  it('applies the defaults to an empty context', () => {
    expect(parseConfig({})).toEqual({
      schedules: [],
      similarityProvider: 'lexical',
      executorFunctionArns: [],
      bedrockModelIds: [],
      allowPrivateNetworkExecutors: false,
      executorSecretNamePrefix: 'decision-replay/executors/',
      throttling: { rateLimit: 50, burstLimit: 100 },
      streamBatchSize: 100,
      eventBusName: 'decision-replay',
      digestIntervalMinutes: 60,
      auditRetentionDays: 400,
      sourceMaps: false,
      idManifestBuckets: [],
    });
  });

  it("accepts the cron forms only the deployed rule reads (L, W, #): the local scheduler refuses them when it starts", () => {
    const config = parseConfig({ schedules: ['cron(0 3 L * ? *)', 'cron(0 3 15W * ? *)', 'cron(0 3 ? * MON#2 *)', 'cron(0 3 ? * 6L *)'].map((schedule, i) => ({ name: `s${i}`, schedule, selector: { functionName: 'f', lastHours: 1 } })) });
    expect(config.schedules).toHaveLength(4);
  });

  it('accepts a full schedule with rate and cron expressions', () => {
    const config = parseConfig({
      schedules: [
        { name: 'nightly', schedule: 'cron(0 3 * * ? *)', selector: { functionName: 'approve_loan', lastHours: 24 }, mode: 'Tolerant', maxConcurrency: 50, policyName: 'p', tolerance: 0.95 },
        { name: 'hourly', schedule: 'rate(1 hour)', selector: { functionName: 'f', lastHours: 1 } },
        { name: 'often', schedule: 'rate(15 minutes)', selector: { functionName: 'f', lastHours: 1 } },
      ],
    });
    expect(config.schedules.map((s) => s.name)).toEqual(['nightly', 'hourly', 'often']);
  });

  it('parses JSON strings, as `-c key=value` on the command line delivers them', () => {
    const config = parseConfig({ streamBatchSize: '25', allowPrivateNetworkExecutors: 'true', executorFunctionArns: '["arn:aws:lambda:us-east-1:123456789012:function:f"]', similarityProvider: 'bedrock-titan' });
    expect(config.streamBatchSize).toBe(25);
    expect(config.allowPrivateNetworkExecutors).toBe(true);
    expect(config.executorFunctionArns).toEqual(['arn:aws:lambda:us-east-1:123456789012:function:f']);
    expect(config.similarityProvider).toBe('bedrock-titan');
  });

  it.each([
    ['an unknown provider', { similarityProvider: 'openai' }, /similarityProvider/],
    ['a schedule expression EventBridge rejects', { schedules: [{ name: 'a', schedule: 'rate(2 day)', selector: { functionName: 'f', lastHours: 1 } }] }, /schedules\[0\]\.schedule/],
    // Probe s19: these passed synth (only the shape of a cron was checked), for CloudFormation to refuse at deploy.
    ['a cron minute out of range', { schedules: [{ name: 'a', schedule: 'cron(99 3 * * ? *)', selector: { functionName: 'f', lastHours: 1 } }] }, /'99' is outside 0-59[\s\S]*schedules\[0\]\.schedule/],
    ['a cron with a value missing from a list', { schedules: [{ name: 'a', schedule: 'cron(,5 * * * ? *)', selector: { functionName: 'f', lastHours: 1 } }] }, /a value is missing in ',5'[\s\S]*schedules\[0\]\.schedule/],
    ['a cron with both day fields given', { schedules: [{ name: 'a', schedule: 'cron(0 3 * * * *)', selector: { functionName: 'f', lastHours: 1 } }] }, /exactly one of day-of-month and day-of-week[\s\S]*schedules\[0\]\.schedule/],
    ['a schedule without selector', { schedules: [{ name: 'a', schedule: 'rate(1 day)' }] }, /schedules\[0\]\.selector/],
    ['a maxConcurrency above 1000', { schedules: [{ name: 'a', schedule: 'rate(1 day)', selector: { functionName: 'f', lastHours: 1 }, maxConcurrency: 1001 }] }, /maxConcurrency/],
    ['duplicate schedule names', { schedules: [1, 2].map(() => ({ name: 'a', schedule: 'rate(1 day)', selector: { functionName: 'f', lastHours: 1 } })) }, /unique/],
    ['an unknown schedule field', { schedules: [{ name: 'a', schedule: 'rate(1 day)', selector: { functionName: 'f', lastHours: 1 }, from: 'x' }] }, /from/],
    ['a function name instead of an ARN', { executorFunctionArns: ['scorer'] }, /executorFunctionArns\[0\]/],
    ['a stream batch above the mapping limit', { streamBatchSize: 20_000 }, /streamBatchSize/],
    ['a schedule the plan step would reject (tolerance with Strict)', { schedules: [{ name: 'a', schedule: 'rate(1 day)', selector: { functionName: 'f', lastHours: 1 }, mode: 'Strict', tolerance: 0.9 }] }, /"a" would be rejected when it fires: tolerance applies to Tolerant mode only[\s\S]*schedules\[0\]/],
    ['a throttling without burst', { throttling: { rateLimit: 10 } }, /throttling\.burstLimit/],
    ['an empty executor secret prefix (every secret of the account)', { executorSecretNamePrefix: '' }, /executorSecretNamePrefix/],
    ['an executor secret prefix that is not a folder', { executorSecretNamePrefix: 'decision-replay' }, /executorSecretNamePrefix/],
    ['an executor secret prefix with a wildcard', { executorSecretNamePrefix: '*/' }, /executorSecretNamePrefix/],
    ['an id manifest bucket given as an ARN', { idManifestBuckets: ['arn:aws:s3:::acme-ids'] }, /idManifestBuckets\[0\]/],
    ['an id manifest bucket with a wildcard', { idManifestBuckets: ['acme-*'] }, /idManifestBuckets\[0\]/],
    ['an id manifest bucket listed twice', { idManifestBuckets: ['acme-ids', 'acme-ids'] }, /idManifestBuckets/],
    ['the default bus as the violations bus', { eventBusName: 'default' }, /must not be "default"[\s\S]*eventBusName/],
    ['a bus name with a slash (a partner bus)', { eventBusName: 'aws.partner/x' }, /eventBusName/],
    ['an empty bus name', { eventBusName: '' }, /eventBusName/],
  ])('rejects %s with a message naming the key', (_label, context, message) => {
    expect(() => parseConfig(context)).toThrow(ConfigError);
    expect(() => parseConfig(context)).toThrow(message);
  });
});

describe('loadConfig', () => {
  it('reads the keys from the CDK context', () => {
    const app = new App({ outdir: tempDir('cdk-config-'), context: { streamBatchSize: 10, unrelated: 'ignored' } });
    expect(loadConfig(app.node).streamBatchSize).toBe(10);
  });

  it('fails the synth of the stack on a bad context', () => {
    const app = new App({ outdir: tempDir('cdk-config-'), context: testContext({ similarityProvider: 'magic' }) });
    expect(() => new DecisionReplayStack(app, 'DecisionReplay')).toThrow(/Invalid decision-replay context[\s\S]*similarityProvider/);
  });
});
