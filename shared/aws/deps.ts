import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { env } from '../config.js';
import { tokenSender } from './sfn.js';
import { documentClient, Store } from './store.js';
import { makeClient } from './clients.js';

/** The table and the task-token sender, which most handlers share. Built once per cold start. */
export function storeFromEnv(): Store {
  return new Store(documentClient(makeClient(DynamoDBClient)), env('TABLE_NAME'));
}

export function sfnFromEnv() {
  const sfn = makeClient(SFNClient);
  return { sfn, sender: tokenSender(sfn) };
}
