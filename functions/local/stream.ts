/**
 * A local stand-in for the DynamoDB stream + Lambda event source mapping (dynalite has no streams).
 *
 * A middleware on the local DynamoDBClient sees every successful conditional PutItem of a snapshot
 * (sk = "SNAP": what the CDK filter criteria let through) and queues a NEW_IMAGE INSERT record.
 * Records are delivered asynchronously, in batches, to the same stream handler that runs on AWS.
 * As on AWS with ReportBatchItemFailures, the failed records (and those after them) are retried, up
 * to `maxRetries` times; after that they go to the failure sink, which a user can read.
 */
import { randomUUID } from 'node:crypto';
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Journal } from './journal.js';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { isSnapshotItem } from '../adapters/dynamodb/snapshot-stream.js';
import { thrownFailure, type CodedFailure } from '../api/error-codes.js';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

export interface StreamFailure {
  failedAt: string;
  attempts: number;
  /** The code of the last failure (`PAYLOAD_TOO_LARGE`, `INTERNAL_ERROR`, …; README, "(h) Errors"). */
  code: string;
  /** `<code>: <message>`: what the last failure said. */
  reason: string;
  record: DynamoDBRecord;
}

export interface LocalStreamOptions {
  batchSize: number;
  /** How long to wait for more records before delivering a partial batch. */
  batchingWindowMs: number;
  /** Retries after the first attempt (AWS: retryAttempts). */
  maxRetries: number;
  retryDelayMs: number;
  tableArn: string;
  /** Called for each record that exhausted its retries (in addition to the in-memory sink). */
  onFailure?: (failure: StreamFailure) => void;
  /** Called when the handler throws, unless every record it was given was told failed ({@link LocalStream.recordFailed}). */
  onError?: (err: unknown) => void;
  /**
   * Durable delivery (with a data dir): each captured write is journaled before the write is
   * acknowledged, and finished once delivered or sunk, so {@link LocalStream.recover} redelivers
   * after a crash what was acknowledged but not yet validated.
   */
  journal?: Journal;
  /** How many failures the in-memory sink keeps (the newest; all go to `onFailure`). */
  maxFailuresKept?: number;
}

type AttributeMap = Record<string, { S?: string } & Record<string, unknown>>;

export class LocalStream {
  private readonly queue: { record: DynamoDBRecord; attempts: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private delivering: Promise<void> | undefined;
  private sequence = 0n;
  private handler: StreamHandler | undefined;
  /** Records that exhausted their retries, oldest first. */
  readonly failures: StreamFailure[] = [];
  /** Why each record failed in its latest delivery, by eventID, as the consumer told it. */
  private readonly recordFailures = new Map<string, CodedFailure>();
  private closed = false;

  constructor(private readonly options: LocalStreamOptions) {}

  /** Sets the stream consumer (the on-write Lambda's handler). */
  setHandler(handler: StreamHandler): void {
    this.handler = handler;
  }

  /** Taps a DynamoDBClient: every successful snapshot insert it sends becomes a stream record. */
  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'PutItemCommand') {
          const input = args.input as { Item?: AttributeMap; ConditionExpression?: string };
          const item = input.Item;
          if (isSnapshotItem(item) && item !== undefined && /attribute_not_exists/.test(input.ConditionExpression ?? '')) this.push(item);
        }
        return result;
      },
      { step: 'build', name: 'localStreamTap' },
    );
  }

  /**
   * Redelivers the writes the journal holds as begun and not finished (a previous process was
   * killed before delivering them): each snapshot is read back from the table and queued again.
   * The consumer is idempotent, so a record that was in fact delivered is validated only once.
   * Returns how many were queued.
   */
  async recover(client: DynamoDBClient, tableName: string): Promise<number> {
    const journal = this.options.journal;
    if (!journal) return 0;
    let queued = 0;
    for (const pk of journal.pending().keys()) {
      const res = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk }, sk: { S: 'SNAP' } }, ConsistentRead: true }));
      if (res.Item === undefined) {
        journal.finish(pk);
        continue;
      }
      this.push(res.Item as AttributeMap);
      queued += 1;
    }
    return queued;
  }

  /**
   * The consumer's word on why a record of the delivery under way failed (the on-write function
   * tells it with its `recordFailures` listener): the reason the record is sunk with, if it is.
   */
  recordFailed(record: DynamoDBRecord, failure: CodedFailure): void {
    if (record.eventID !== undefined) this.recordFailures.set(record.eventID, failure);
  }

  private finish(p: { record: DynamoDBRecord }): void {
    if (p.record.eventID !== undefined) this.recordFailures.delete(p.record.eventID);
    const pk = (p.record.dynamodb?.Keys?.pk as { S?: string } | undefined)?.S;
    if (pk !== undefined) this.options.journal?.finish(pk);
  }

  private push(item: AttributeMap): void {
    if (this.closed) return;
    if (typeof item.pk?.S === 'string') this.options.journal?.begin(item.pk.S, '');
    this.sequence += 1n;
    const record: DynamoDBRecord = {
      eventID: randomUUID().replace(/-/g, ''),
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'local',
      eventSourceARN: `${this.options.tableArn}/stream/local`,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: { pk: item.pk as never, sk: item.sk as never },
        NewImage: item as never,
        SequenceNumber: this.sequence.toString().padStart(21, '0'),
        SizeBytes: JSON.stringify(item).length,
        StreamViewType: 'NEW_IMAGE',
      },
    };
    this.queue.push({ record, attempts: 0 });
    this.schedule(this.queue.length >= this.options.batchSize ? 0 : this.options.batchingWindowMs);
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.delivering) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.delivering = this.deliverAll().finally(() => {
        this.delivering = undefined;
        if (this.queue.length > 0 && !this.closed) this.schedule(0);
      });
    }, delayMs);
  }

  private async deliverAll(): Promise<void> {
    while (this.queue.length > 0 && this.handler) {
      const batch = this.queue.splice(0, this.options.batchSize);
      await this.deliver(batch);
    }
  }

  /** Delivers one batch, retrying its failed tail as the event source mapping does. */
  private async deliver(batch: { record: DynamoDBRecord; attempts: number }[]): Promise<void> {
    let pending = batch;
    while (pending.length > 0) {
      let failedFrom = -1;
      // Why the batch failed, for records the consumer said nothing about.
      let batchFailure: CodedFailure = { code: 'UNKNOWN', message: 'reported in batchItemFailures, without a reason' };
      for (const p of pending) if (p.record.eventID !== undefined) this.recordFailures.delete(p.record.eventID);
      // Which records of the retried tail failed themselves; undefined: all of them (a throw, or
      // identifiers that match no record).
      let failedIds: Set<string> | undefined;
      try {
        const handler = this.handler;
        if (!handler) return;
        const response = await handler({ Records: pending.map((p) => p.record) });
        const reported = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        if (reported.size > 0) {
          failedFrom = pending.findIndex((p) => reported.has(p.record.dynamodb?.SequenceNumber ?? ''));
          if (failedFrom < 0) failedFrom = 0;
          else failedIds = reported;
        }
      } catch (err) {
        failedFrom = 0;
        batchFailure = thrownFailure(err);
        // A handler that failed every record throws (Powertools' FullBatchFailureError); the
        // consumer has then already said why for each, and the throw adds nothing.
        if (!pending.every((p) => p.record.eventID !== undefined && this.recordFailures.has(p.record.eventID))) this.options.onError?.(err);
      }
      if (failedFrom < 0) {
        for (const p of pending) this.finish(p);
        return;
      }
      for (const p of pending.slice(0, failedFrom)) this.finish(p);
      const retry: typeof pending = [];
      for (const p of pending.slice(failedFrom)) {
        // A record after a failed one is redelivered (the checkpoint stops at the first failure) but
        // is charged an attempt only when it failed itself: a poison record must not drag the
        // records behind it into the failure sink.
        if (failedIds !== undefined && !failedIds.has(p.record.dynamodb?.SequenceNumber ?? '')) {
          retry.push(p);
          continue;
        }
        p.attempts += 1;
        if (p.attempts > this.options.maxRetries) {
          const { code, message } = (p.record.eventID !== undefined && this.recordFailures.get(p.record.eventID)) || batchFailure;
          const failure = { failedAt: new Date().toISOString(), attempts: p.attempts, code, reason: `${code}: ${message}`, record: p.record };
          this.failures.push(failure);
          if (this.failures.length > (this.options.maxFailuresKept ?? 1_000)) this.failures.shift();
          this.options.onFailure?.(failure);
          this.finish(p);
        } else {
          retry.push(p);
        }
      }
      pending = retry;
      if (pending.length > 0) await new Promise((r) => setTimeout(r, this.options.retryDelayMs));
    }
  }

  /** Resolves once every queued record has been delivered (or sunk). */
  async drain(): Promise<void> {
    for (;;) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.delivering = this.deliverAll().finally(() => (this.delivering = undefined));
      }
      if (this.delivering) {
        await this.delivering;
        continue;
      }
      if (this.queue.length > 0 && this.handler) {
        this.schedule(0);
        continue;
      }
      return;
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    this.options.journal?.close();
  }
}
