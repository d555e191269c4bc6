/** Batches start on the deployed state machine through Step Functions. */
import { SFNClient } from '@aws-sdk/client-sfn';
import type { BatchStarterFactory } from '../../handlers/clients.js';
import { SfnBatchStarter } from '../sfn-batch-starter.js';
import { traced } from './tracer.js';

export const awsBatchStarter: BatchStarterFactory = (stateMachineArn) => new SfnBatchStarter(traced(new SFNClient({})), stateMachineArn);
