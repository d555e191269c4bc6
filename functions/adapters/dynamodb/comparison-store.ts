/** Comparisons in the table: one item per comparison at `COMPARISON#<id>` / `COMPARISON`, written once. */
import type { Comparison, ComparisonStore } from '../../core/comparison.js';
import { DynamoStore } from './base-store.js';
import { keys } from './keys.js';

export class DynamoComparisonStore extends DynamoStore implements ComparisonStore {
  async put(comparison: Comparison): Promise<void> {
    // The id is fresh for every comparison: a refused put would mean an id collision, a fault.
    if (!(await this.putNew({ ...keys.comparison(comparison.comparisonId), itemType: 'comparison', ...comparison }, 'comparison'))) {
      throw new Error(`comparison ${comparison.comparisonId} is already stored`);
    }
  }

  async get(comparisonId: string): Promise<Comparison | undefined> {
    const res = await this.doc.get({ TableName: this.tableName, Key: keys.comparison(comparisonId), ConsistentRead: true });
    if (!res.Item) return undefined;
    const { pk: _pk, sk: _sk, itemType: _t, ...rest } = res.Item;
    return rest as Comparison;
  }
}
