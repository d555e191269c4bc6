/**
 * A child process for the crash tests of ../integration/dynalite-indexes.test.ts: opens the local
 * dynalite on the folder in argv[2] (in this process, as `worker: false`), sends the writes in the
 * JSON of argv[4] one after another, and kills itself with SIGKILL the moment the last one is
 * answered: in the same turn as dynalite's answer (a middleware nearest the transport, before the
 * SDK reads the response), so before the global index entries queued behind it are written, which
 * starts on the next turn.
 */
import { writeSync } from 'node:fs';
import { DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { LOCAL_AWS, startLocalDynamo } from '../../functions/local/dynalite.js';
import { indexWorkPending, settleIndexes } from '../../functions/local/dynalite-indexes.mjs';

/** A write: an item to put, an item's key and the attributes to set on it, or a key to delete. */
export type Write = { put: Record<string, AttributeValue> } | { update: Record<string, AttributeValue>; set: Record<string, AttributeValue> } | { delete: Record<string, AttributeValue> };

const [path, tableName, writesJson] = process.argv.slice(2);
if (path === undefined || tableName === undefined || writesJson === undefined) throw new Error('usage: kill-after-writes <path> <table> <writes json>');
const dynamo = await startLocalDynamo({ port: 0, tableName, worker: false, path });
const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
const writes = JSON.parse(writesJson) as Write[];
let answers = 0;
client.middlewareStack.add(
  (next) => async (args) => {
    const out = await next(args);
    if (++answers === writes.length) {
      // What is queued is what the kill loses: told to the parent, then killed, in this turn.
      writeSync(1, `${JSON.stringify({ pending: indexWorkPending() })}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
    return out;
  },
  { step: 'finalizeRequest', priority: 'low', name: 'killAfterLastAnswer' },
);
for (const [n, write] of writes.entries()) {
  // The writes before the last one with their entries written, so the kill catches exactly one.
  if (n === writes.length - 1) await settleIndexes();
  if ('put' in write) await client.send(new PutItemCommand({ TableName: tableName, Item: write.put }));
  else if ('delete' in write) await client.send(new DeleteItemCommand({ TableName: tableName, Key: write.delete }));
  else {
    const names = Object.keys(write.set);
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: write.update,
        UpdateExpression: `SET ${names.map((_, i) => `#a${i} = :v${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#a${i}`, name])),
        ExpressionAttributeValues: Object.fromEntries(names.map((name, i) => [`:v${i}`, write.set[name] as AttributeValue])),
      }),
    );
  }
}
throw new Error('not killed after the last write');
