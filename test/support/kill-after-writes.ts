/**
 * A child process for the crash test of ../integration/dynalite-indexes.test.ts: opens the local
 * dynalite on the folder in argv[2] (in this process, as `worker: false`), writes the items in the
 * JSON of argv[3] one by one, and kills itself with SIGKILL the moment the last write is answered,
 * before the global index entries queued behind that answer are written.
 */
import { DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { LOCAL_AWS, startLocalDynamo } from '../../functions/local/dynalite.js';
import { indexWorkPending } from '../../functions/local/dynalite-indexes.mjs';

const [path, tableName, itemsJson] = process.argv.slice(2);
if (path === undefined || tableName === undefined || itemsJson === undefined) throw new Error('usage: kill-after-writes <path> <table> <items json>');
const items = JSON.parse(itemsJson) as Array<Record<string, AttributeValue>>;
const dynamo = await startLocalDynamo({ port: 0, tableName, worker: false, path });
const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint, requestHandler: dynamo.requestHandler });
for (const item of items) await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
// Answered; what is queued is what the kill loses. Told to the parent, then killed in the same tick.
process.stdout.write(`${JSON.stringify({ pending: indexWorkPending() })}\n`, () => process.kill(process.pid, 'SIGKILL'));
