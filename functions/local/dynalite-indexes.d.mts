// Types for ./dynalite-indexes.mjs (plain JavaScript, so that the dynalite worker thread can import it).
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Marks a dynalite store: its global secondary index entries are written after each write's answer. */
export function deferIndexesOf<T extends object>(store: T): T;

/** What a start after an unclean stop rebuilt: items read, when the mark was set, and how long it took. */
export interface IndexRecovery {
  items: number;
  markedAt: string | undefined;
  ms: number;
}

/** The root key marking a store on disk whose global index entries may be behind its items. */
export const INDEXES_MAY_LAG: string;

/** For an opened store on disk: rebuilds its global indexes if it was not closed cleanly, marks it, and defers from then on. */
export function deferIndexesDurably(store: object): Promise<IndexRecovery | undefined>;

/** Before a store closes: stops deferring, writes the queue, and removes a store's mark. */
export function stopDeferring(store: object | undefined): Promise<void>;

/** Writes every global index of every table again from its items; resolves with the items read. */
export function rebuildGlobalIndexes(store: object): Promise<number>;

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
