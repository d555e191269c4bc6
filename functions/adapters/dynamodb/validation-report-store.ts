/**
 * Validation reports under their snapshot: `SNAP#<id>` / `VALIDATION#<createdAt>#<reportId>`, so a
 * snapshot's reports read newest first with one Query.
 */
import type { DocumentClient } from './document-client.js';
import type { OnWriteReportStore } from '../../core/on-write.js';
import type { Page } from '../../core/ports.js';
import type { ValidationReport, ValidationReportStore } from '../../core/validation.js';
import { queryPage } from './paging.js';
import { DynamoStore } from './base-store.js';
import { sealRecord } from '../../core/records.js';
import { auditKeys, contentOf, keys } from './keys.js';

export function validationReportKey(report: Pick<ValidationReport, 'snapshotId' | 'createdAt' | 'reportId'>) {
  return { pk: keys.snapshot(report.snapshotId).pk, sk: `${keys.validationPrefix}${report.createdAt}#${report.reportId}` };
}

export class DynamoValidationReportStore extends DynamoStore implements ValidationReportStore, OnWriteReportStore {
  async putIfAbsent(report: ValidationReport): Promise<boolean> {
    return this.putNew({ ...validationReportKey(report), ...auditKeys('validation', report.reportId, report.createdAt), itemType: 'validation', ...sealRecord(report) }, 'validation report');
  }

  /**
   * Whether the report's event went out is kept in a marker item of its own, not on the report: a
   * report is an immutable, sealed record that no role may update.
   */
  async isEventPublished(report: ValidationReport): Promise<boolean> {
    const res = await this.doc.get({ TableName: this.tableName, Key: keys.eventPublished(report.snapshotId, validationReportKey(report).sk), ConsistentRead: true });
    return res.Item !== undefined;
  }

  async markEventPublished(report: ValidationReport, at: string): Promise<void> {
    // Written once: a second mark keeps the first publication time.
    await this.putNew({ ...keys.eventPublished(report.snapshotId, validationReportKey(report).sk), itemType: 'event-published', publishedAt: at }, 'event marker');
  }

  listForSnapshot(snapshotId: string, limit: number, cursor?: string): Promise<Page<ValidationReport>> {
    return queryUnderSnapshot<ValidationReport>(this.doc, this.tableName, snapshotId, keys.validationPrefix, `validations:${snapshotId}`, limit, cursor);
  }
}

/** Pages the items of one type under a snapshot's partition, newest first, stripping the keys. */
export function queryUnderSnapshot<T>(doc: DocumentClient, tableName: string, snapshotId: string, prefix: string, binding: string, limit: number, cursor?: string): Promise<Page<T>> {
  return queryPage(
    doc,
    {
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.snapshot(snapshotId).pk, ':prefix': prefix },
      ScanIndexForward: false,
    },
    { limit, cursor, binding },
    (item) => contentOf(item) as T,
  );
}
