/**
 * The CDK app: one decision-replay stack, checked by cdk-nag's AWS Solutions pack at every synth.
 * Configuration comes from the context (cdk.json or `-c`, see lib/config.ts).
 */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DecisionReplayStack } from '../lib/decision-replay-stack.js';

const app = new App();

new DecisionReplayStack(app, 'DecisionReplay', {
  description: 'decision-replay: record, replay and audit AI decisions',
  // Environment-agnostic on purpose: nothing is looked up, so synth works offline; deploy targets the
  // CLI's current account and region.
});

Tags.of(app).add('project', 'decision-replay');
Tags.of(app).add('data-classification', 'audit');

// cdk-nag 3 is a policy-validation plugin, not an Aspect: any unacknowledged finding fails synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
