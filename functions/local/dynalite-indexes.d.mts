// Types for ./dynalite-indexes.mjs (plain JavaScript, so that the dynalite worker thread can import it).
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Marks a dynalite store: its global secondary index entries are written after each write's answer. */
export function deferIndexesOf<T extends object>(store: T): T;

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
