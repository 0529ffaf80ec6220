import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Config } from '../config.js';
import type { TaskTokenSender } from '../watch/watch.js';
import type { ClientFactory } from './clients.js';
import { DynamoStore, documentClient } from './dynamo-store.js';
import { tokenSender } from './sfn.js';
import type { Store } from './store.js';

/** Epoch milliseconds now: Date.now on AWS, a clock of the test's own in tests. */
export type Clock = () => number;

/** The rack's table behind the Store port, as a function's environment names it. */
export function storeOf(config: Config, aws: ClientFactory, now: Clock): Store {
  return new DynamoStore(documentClient(aws(DynamoDBClient)), config.str('TABLE_NAME'), now);
}

/** SendTaskSuccess / SendTaskFailure through the function's Step Functions client. */
export function senderOf(aws: ClientFactory): TaskTokenSender {
  return tokenSender(aws(SFNClient));
}
