/**
 * The X-Ray tracer of a Lambda (Powertools Tracer): every AWS SDK client the functions create is
 * captured, so each DynamoDB, Step Functions, EventBridge, Lambda, Bedrock and Secrets Manager call
 * is a subsegment of the invocation's trace. Outside Lambda (tests, the local host) the tracer is
 * disabled and hands clients back unchanged.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';

export const tracer = new Tracer();

/** `client`, traced. */
export function traced<C extends object>(client: C): C {
  return tracer.captureAWSv3Client(client);
}
