/** PolicyViolation events go to the deployed EventBridge bus. */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { EventPublisherFactory } from '../../handlers/clients.js';
import { EventBridgePublisher } from '../eventbridge-publisher.js';
import { traced } from './tracer.js';

export const awsEventPublisher: EventPublisherFactory = (eventBusName) => new EventBridgePublisher(traced(new EventBridgeClient({})), eventBusName);
