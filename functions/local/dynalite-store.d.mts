// Types for ./dynalite-store.mjs (plain JavaScript, so that the dynalite worker thread can import it).
import type { Readable } from 'node:stream';

/** The part of an abstract-level iterator the stream uses. */
export interface LevelIterator {
  next(): Promise<unknown>;
  close(): Promise<void>;
}

/** A readable stream over `iterator` that closes it once, at its end or when destroyed. */
export function closingStream(iterator: LevelIterator): Readable;

/** Replaces `db`'s key and value streams with ones that close their iterators. */
export function closeIteratorsOf<T extends { values(options?: unknown): LevelIterator; keys(options?: unknown): LevelIterator }>(db: T): T;

/** The LevelDB database of the store `dynalite(options)` created for this very `options` object. */
export function databaseOf(options: object): { open(): Promise<void>; close(): Promise<void> } | undefined;

/** The store `dynalite(options)` created for this very `options` object. */
export function storeOf(options: object): object | undefined;
