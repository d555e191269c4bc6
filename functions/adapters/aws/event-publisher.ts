/** PolicyViolation events go to the deployed EventBridge bus. */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { EventPublisherFactory } from '../../handlers/clients.js';
import { EventBridgePublisher } from '../eventbridge-publisher.js';

export const awsEventPublisher: EventPublisherFactory = (eventBusName) => new EventBridgePublisher(new EventBridgeClient({}), eventBusName);
