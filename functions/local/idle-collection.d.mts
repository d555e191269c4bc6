// Types for ./idle-collection.mjs (plain JavaScript, so that the dynalite worker thread can import it).

export interface IdleCollectionOptions {
  /** How long without a request counts as idle, and how often that is checked (1,000 ms). */
  idleMs?: number;
  /** Requests served since the last collection before an idle spell collects again (1,000). */
  minRequests?: number;
  /** The collection (V8's full `gc()` by default). */
  collect?: () => void;
  /** Called after each collection with the requests served since the one before. */
  onCollected?: (requests: number) => void;
}

export interface IdleCollection {
  /** One request served (or started): counted, and it makes this interval a busy one. */
  noted(): void;
  stop(): void;
}

/** Runs a full collection of this thread's heap once it falls idle after serving requests. */
export function idleCollection(options?: IdleCollectionOptions): IdleCollection;
