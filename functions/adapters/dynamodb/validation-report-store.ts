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
  /**
   * Writes a report once. An on-write report (its id derived from snapshot and policy version) is
   * keyed by the time it is written, which differs on a redelivery: its id is claimed first, with
   * a conditional put, so a redelivered record finds the first report and writes nothing. A claim
   * whose report is not there (a run that stopped in between) is taken over, conditionally, and the
   * report written now. On-demand reports have fresh ids: the report's own put is the check.
   */
  async putIfAbsent(report: ValidationReport): Promise<boolean> {
    const item = { ...validationReportKey(report), ...auditKeys('validation', report.reportId, report.createdAt), itemType: 'validation' as const, ...sealRecord(report) };
    if (report.trigger !== 'on-write') return this.putNew(item, 'validation report');
    const claim = { ...keys.onWriteClaim(report.snapshotId, report.reportId), itemType: 'on-write-claim' as const, reportSk: item.sk };
    const claimed = await this.putNewOrGetExisting(claim, 'on-write report claim');
    if (!claimed.written) {
      const existing = claimed.existing ?? (await this.doc.get({ TableName: this.tableName, Key: keys.onWriteClaim(report.snapshotId, report.reportId), ConsistentRead: true })).Item;
      const claimedSk = existing?.reportSk;
      if (typeof claimedSk === 'string') {
        const first = await this.doc.get({ TableName: this.tableName, Key: { pk: item.pk, sk: claimedSk }, ConsistentRead: true });
        if (first.Item !== undefined) return false;
        if (!(await this.putNew(claim, 'on-write report claim', { expression: 'reportSk = :claimed', values: { ':claimed': claimedSk } }))) return false;
      } else if (!(await this.putNew(claim, 'on-write report claim', { expression: 'attribute_not_exists(reportSk)' }))) return false;
    }
    return this.putNew(item, 'validation report');
  }

  /**
   * Whether the report's event went out is kept in a marker item of its own, not on the report: a
   * report is an immutable, sealed record that no role may update. Keyed by the report's id (the
   * same for every delivery of its snapshot).
   */
  async isEventPublished(report: ValidationReport): Promise<boolean> {
    const res = await this.doc.get({ TableName: this.tableName, Key: keys.eventPublished(report.snapshotId, report.reportId), ConsistentRead: true });
    return res.Item !== undefined;
  }

  async markEventPublished(report: ValidationReport, at: string): Promise<void> {
    // Written once: a second mark keeps the first publication time.
    await this.putNew({ ...keys.eventPublished(report.snapshotId, report.reportId), itemType: 'event-published', publishedAt: at }, 'event marker');
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
