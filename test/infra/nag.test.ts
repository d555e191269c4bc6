import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterEach, describe, expect, it } from 'vitest';
import { DecisionReplayStack } from '../../lib/decision-replay-stack.js';
import { testContext } from './synth.js';

/** Every context the app supports, so acknowledgements are checked against each shape of the stack. */
const CONFIGURED = {
  schedules: [{ name: 'nightly', schedule: 'rate(1 day)', selector: { functionName: 'approve_loan', lastHours: 24 } }],
  executorFunctionArns: ['arn:aws:lambda:us-east-1:123456789012:function:scorer'],
  bedrockModelIds: ['anthropic.claude-3-haiku-20240307-v1:0'],
  similarityProvider: 'bedrock-titan',
  idManifestBuckets: ['acme-replay-ids', 'acme.exports'],
};

const outdirs: string[] = [];
afterEach(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The app as bin/app.ts builds it: the stack plus the AWS Solutions pack as a validation plugin. */
function appWithNag(context: Record<string, unknown> = {}): { app: App; stack: DecisionReplayStack; outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'decision-replay-nag-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: testContext(context) });
  const stack = new DecisionReplayStack(app, 'DecisionReplay');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, outdir };
}

function ruleNames(app: App): string[] {
  return new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName);
}

describe('cdk-nag AWS Solutions checks', () => {
  it('report no unacknowledged finding for the default context', () => {
    const { app } = appWithNag();
    expect(ruleNames(app)).toEqual([]);
  });

  it('report no unacknowledged finding with schedules, executors and Bedrock configured', () => {
    const { app } = appWithNag(CONFIGURED);
    expect(ruleNames(app)).toEqual([]);
  });

  it('let synth pass as a validation plugin, with an empty validation report', () => {
    const { app, outdir } = appWithNag(CONFIGURED);
    app.synth();
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
    // A whole synth bundles the nine functions: ~10 s on 2 free cores, 38 s with two other suites running.
  }, 120_000);

  it('fail synth on a finding nobody acknowledged', () => {
    const { app, stack } = appWithNag();
    // An action wildcard on the snapshots role: AwsSolutions-IAM5[Action::dynamodb:*], acknowledged nowhere.
    stack.functions.snapshots.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:*'], resources: [stack.functions.snapshots.functionArn] }));
    expect(ruleNames(app)).toEqual(['AwsSolutions-IAM5[Action::dynamodb:*]']);
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Action::dynamodb:\*\]/);
  });
});
