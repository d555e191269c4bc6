/**
 * Validation reports under their snapshot: `SNAP#<id>` / `VALIDATION#<createdAt>#<reportId>`, so a
 * snapshot's reports read newest first with one Query.
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { OnWriteReportStore } from '../../core/on-write.js';
import type { Page } from '../../core/ports.js';
import type { ValidationReport, ValidationReportStore } from '../../core/validation.js';
import { queryPage } from './paging.js';
import { DynamoStore } from './base-store.js';
import { keys } from './keys.js';

export function validationReportKey(report: Pick<ValidationReport, 'snapshotId' | 'createdAt' | 'reportId'>) {
  return { pk: keys.snapshot(report.snapshotId).pk, sk: `${keys.validationPrefix}${report.createdAt}#${report.reportId}` };
}

export class DynamoValidationReportStore extends DynamoStore implements ValidationReportStore, OnWriteReportStore {
  async putIfAbsent(report: ValidationReport): Promise<boolean> {
    return this.putNew({ ...validationReportKey(report), itemType: 'validation', ...report }, 'validation report');
  }

  async isEventPublished(report: ValidationReport): Promise<boolean> {
    const res = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: validationReportKey(report), ConsistentRead: true, ProjectionExpression: 'eventPublishedAt' }));
    return typeof res.Item?.eventPublishedAt === 'string';
  }

  async markEventPublished(report: ValidationReport, at: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: validationReportKey(report),
        UpdateExpression: 'SET eventPublishedAt = if_not_exists(eventPublishedAt, :at)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }

  async listForSnapshot(snapshotId: string, limit: number, cursor?: string): Promise<Page<ValidationReport>> {
    const page = await queryUnderSnapshot<ValidationReport & { eventPublishedAt?: string }>(this.doc, this.tableName, snapshotId, keys.validationPrefix, `validations:${snapshotId}`, limit, cursor);
    // eventPublishedAt is the stream consumer's bookkeeping, not part of the report clients read.
    return { ...page, items: page.items.map(({ eventPublishedAt: _published, ...report }) => report) };
  }
}

/** Pages the items of one type under a snapshot's partition, newest first, stripping the keys. */
export function queryUnderSnapshot<T>(doc: DynamoDBDocumentClient, tableName: string, snapshotId: string, prefix: string, binding: string, limit: number, cursor?: string): Promise<Page<T>> {
  return queryPage(
    doc,
    {
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.snapshot(snapshotId).pk, ':prefix': prefix },
      ScanIndexForward: false,
    },
    { limit, cursor, binding },
    (item) => {
      const { pk: _pk, sk: _sk, itemType: _t, ...rest } = item;
      return rest as T;
    },
  );
}
