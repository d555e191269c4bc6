/**
 * Walking a paged list route (`{items, nextCursor?}`) safely: one guard for every reader of pages
 * (the SDK's iterators, the audit record source).
 */
import { DecisionReplayError } from './errors.js';

/**
 * A guard for one walk of a paged list. Called with each page's `nextCursor`, in order, before it is
 * followed: one this walk already followed (a proxy or cache that answers every page alike,
 * whatever its cursor) would read the same items again without end, so it throws INVALID_RESPONSE
 * naming `answeredBy` (which request or page answered it). The last page (no `nextCursor`) passes.
 */
export function repeatedCursorGuard(): (nextCursor: string | undefined, answeredBy: string) => void {
  const followed = new Set<string>();
  return (nextCursor, answeredBy) => {
    if (nextCursor === undefined) return;
    if (followed.has(nextCursor)) {
      throw new DecisionReplayError(200, 'INVALID_RESPONSE', `${answeredBy} answered a nextCursor an earlier page had answered: following it would read the same items again without end; is a proxy or cache between this client and the service answering every page alike?`);
    }
    followed.add(nextCursor);
  };
}
