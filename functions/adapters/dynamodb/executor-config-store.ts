/**
 * Executor configurations in the table: one item per function at `FN#<functionName>` / `EXECUTOR`,
 * replaced on each PUT (a configuration is current state, not history).
 */
import type { DocumentClient } from './document-client.js';
import type { ItemType } from './base-store.js';
import {
  StoredExecutorConfigSchema,
  type ExecutorConfig,
  type ExecutorConfigStore,
  type StoredExecutorConfig,
} from '../../core/executor.js';
import { systemClock, type Clock } from '../../core/ports.js';
import { keys } from './keys.js';

export interface DynamoExecutorConfigStoreOptions {
  doc: DocumentClient;
  tableName: string;
  clock?: Clock;
}

/** Item type marker (the `itemType` attribute every item carries), so anyone scanning the table can tell items apart. */
export const EXECUTOR_ITEM_TYPE: ItemType = 'executor';

/** Raised when a stored item no longer parses (written by hand or by an incompatible version): a fault, not a 4xx. */
export class CorruptExecutorConfigError extends Error {
  constructor(functionName: string, reason: string) {
    super(`stored executor configuration of '${functionName}' is unreadable: ${reason}`);
    this.name = 'CorruptExecutorConfigError';
  }
}

export class DynamoExecutorConfigStore implements ExecutorConfigStore {
  private readonly doc: DocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;

  constructor(options: DynamoExecutorConfigStoreOptions) {
    this.doc = options.doc;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
  }

  async put(functionName: string, config: ExecutorConfig): Promise<StoredExecutorConfig> {
    const stored: StoredExecutorConfig = { functionName, executor: config, updatedAt: new Date(this.clock.now()).toISOString() };
    await this.doc.put({
      TableName: this.tableName,
      Item: { ...keys.executor(functionName), itemType: EXECUTOR_ITEM_TYPE, ...stored },
    });
    return stored;
  }

  async get(functionName: string): Promise<StoredExecutorConfig | undefined> {
    // Strongly consistent: a replay right after a PUT must use the executor just registered.
    const out = await this.doc.get({ TableName: this.tableName, Key: keys.executor(functionName), ConsistentRead: true });
    if (out.Item === undefined) return undefined;
    const parsed = StoredExecutorConfigSchema.safeParse({ functionName: out.Item.functionName, executor: out.Item.executor, updatedAt: out.Item.updatedAt });
    if (!parsed.success) throw new CorruptExecutorConfigError(functionName, parsed.error.issues.map((i) => i.message).join('; '));
    return parsed.data;
  }
}
