// Types for ./dynalite-indexes.mjs (plain JavaScript, so that the dynalite worker thread can import it).
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Marks a dynalite store: its global secondary index entries are written after each write's answer. */
export function deferIndexesOf<T extends object>(store: T): T;

/** The index work a start found left by a killed process, and did: its writes, their distinct items, and how long it took. */
export interface IndexRecovery {
  writes: number;
  items: number;
  ms: number;
}

/** The root key prefix of the records of index work still to do on a store on disk. */
export const INDEX_WORK: string;

/** For an opened store on disk: does the index work a killed process left, then defers, logging each write's index work. */
export function deferIndexesDurably(store: object): Promise<IndexRecovery | undefined>;

/** Before a store closes: stops deferring and writes the queue (removing its records). */
export function stopDeferring(store: object | undefined): Promise<void>;

/** Does the recorded index work not yet done, in one atomic batch; undefined when there was none. */
export function finishIndexWork(store: object): Promise<IndexRecovery | undefined>;

/** Writes every queued global index entry, in write order; resolves when none is left. */
export function settleIndexes(): Promise<void>;

/** Global index writes queued and not written yet. */
export function indexWorkPending(): number;

/** True when a request for this `x-amz-target` must wait for the queued index entries first. */
export function waitsForIndexes(target: string | undefined): boolean;

/** Called once an answer has been handed back: starts the queued index work after it. */
export function answered(): void;

/** dynalite's TCP request handler, waiting for queued index entries where a request may read them. */
export function indexesAfterAnswerHandler(handle: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void;
