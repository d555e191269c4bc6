/**
 * What every DynamoDB store shares (after Powertools' BasePersistenceLayer): the client and table
 * it writes to, the `itemType` every item carries, and the one write this project's immutable
 * records all use — a conditional put that answers `false` on a conflict instead of throwing.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { DocumentClient } from './document-client.js';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { translateWriteError } from './errors.js';

/** The `itemType` attribute of each kind of item in the one table (readable with any DynamoDB tool). */
export type ItemType = 'snapshot' | 'replay' | 'validation' | 'policy' | 'executor' | 'batch' | 'batch-result' | 'batch-chunk' | 'comparison' | 'idempotency' | 'event-published' | 'on-write-claim';

/** An item as written: its keys, its type, its attributes. */
export type TableItem = { pk: string; sk: string; itemType: ItemType } & Record<string, unknown>;

/** A condition other than "the key does not exist yet". */
export interface PutCondition {
  expression: string;
  values?: Record<string, unknown>;
}

export abstract class DynamoStore {
  constructor(
    protected readonly doc: DocumentClient,
    protected readonly tableName: string,
  ) {}

  /**
   * Puts `item` only if its key is not stored yet (or `condition` holds): true when written, false
   * when the condition failed (nothing written). A write error that is the caller's fault (item
   * over 400 KB, an unstorable number) becomes its domain error naming `what`; anything else is
   * rethrown.
   */
  protected async putNew(item: TableItem, what: string, condition?: PutCondition): Promise<boolean> {
    const outcome = await this.conditionalPut(item, what, condition, false);
    return outcome.written;
  }

  /**
   * {@link putNew} for a key whose stored item the caller reads on a conflict (an idempotency claim):
   * the put asks DynamoDB to return that item with the conflict (`ReturnValuesOnConditionCheckFailure:
   * ALL_OLD`), so no second read is needed. `existing` is undefined when the answer carries no item
   * (dynalite does not implement the option); the caller then reads it.
   */
  protected async putNewOrGetExisting(item: TableItem, what: string): Promise<{ written: true } | { written: false; existing: Record<string, unknown> | undefined }> {
    return this.conditionalPut(item, what, undefined, true);
  }

  private async conditionalPut(item: TableItem, what: string, condition: PutCondition | undefined, returnOld: boolean): Promise<{ written: true } | { written: false; existing: Record<string, unknown> | undefined }> {
    try {
      await this.doc.put({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: condition?.expression ?? 'attribute_not_exists(pk)',
        ...(condition?.values !== undefined && { ExpressionAttributeValues: condition.values }),
        ...(returnOld && { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const }),
      });
      return { written: true };
    } catch (err) {
      // The exception's Item is in DynamoDB's wire format: the DocumentClient converts only outputs.
      if (err instanceof ConditionalCheckFailedException) return { written: false, existing: err.Item ? unmarshall(err.Item) : undefined };
      throw translateWriteError(err, what);
    }
  }
}
