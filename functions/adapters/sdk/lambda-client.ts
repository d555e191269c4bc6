/**
 * The Lambda client, loaded on first use. Callers import this module dynamically rather than the
 * package: a dynamic import of the package would keep every command of it in the bundle (a
 * namespace cannot be tree-shaken), and one module per client keeps each bundle to the clients
 * it can use.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { traced } from '../aws/tracer.js';

export const createLambdaClient = (): LambdaClient => traced(new LambdaClient({}));
