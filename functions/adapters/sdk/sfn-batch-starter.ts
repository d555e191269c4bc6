/**
 * The Step Functions client and the batch starter over it, loaded on first use: the batches
 * function starts and stops executions on POST /batches and cancel only, while most of its calls
 * read progress and results. See lambda-client.ts for why each client has a module of its own.
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { SfnBatchStarter } from '../sfn-batch-starter.js';
import { traced } from '../aws/tracer.js';

export const createSfnBatchStarter = (stateMachineArn: string): SfnBatchStarter => new SfnBatchStarter(traced(new SFNClient({})), stateMachineArn);
