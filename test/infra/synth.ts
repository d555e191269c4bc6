/**
 * Builds the stack for infra tests the way `cdk synth` does (cdk.json's context and feature flags),
 * but with bundling skipped (`aws:cdk:bundling-stacks: []`): these tests are about the template,
 * not the bundles, and skipping esbuild keeps a synth at about two seconds.
 */
import { readFileSync } from 'node:fs';
import { App, type CfnResource, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DecisionReplayStack } from '../../lib/decision-replay-stack.js';
import { tempDir } from '../support/temp-dirs.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };

/** cdk.json's context with `overrides` on top, bundling skipped. */
export function testContext(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...cdkJson.context, 'aws:cdk:bundling-stacks': [], ...overrides };
}

export interface Synthesized {
  app: App;
  stack: DecisionReplayStack;
  template: Template;
}

/**
 * A fresh app and stack with the given context overrides. The app writes its cloud assembly to a
 * folder removed after the test file (an app given none makes one in the OS temp folder for good).
 */
export function buildStack(overrides: Record<string, unknown> = {}): Omit<Synthesized, 'template'> {
  const app = new App({ outdir: tempDir('cdk.out-'), context: testContext(overrides) });
  const stack = new DecisionReplayStack(app, 'DecisionReplay');
  return { app, stack };
}

/** {@link buildStack}, then the synthesized template. */
export function synthStack(overrides: Record<string, unknown> = {}): Synthesized {
  const built = buildStack(overrides);
  return { ...built, template: Template.fromStack(built.stack) };
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(stack: Stack, resource: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(resource.node.defaultChild as CfnResource);
}

/** An IAM policy statement as it appears in the template. */
export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every AWS::IAM::Policy attached to the given role (by logical id). */
export function statementsOfRole(template: Template, roleLogicalId: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy') as Record<string, { Properties: { Roles: Array<{ Ref: string }>; PolicyDocument: { Statement: Statement[] } } }>;
  return Object.values(policies)
    .filter((p) => p.Properties.Roles.some((r) => r.Ref === roleLogicalId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

export function resourcesOf(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}
