// Types for ./dynalite-parsers.mjs (plain JavaScript, so that the dynalite worker thread can import it).

/** How many parsed expressions each parser keeps. */
export const PARSE_CACHE_SIZE: number;
/** Inputs longer than this are parsed every time. */
export const PARSE_CACHE_MAX_KEY: number;

/** A copy of a parse answer (`{ value }`), or undefined when it holds something other than plain data. */
export function copyParsed(value: unknown): { value: unknown } | undefined;

type Parse = (text: string, options: { context: Record<string, unknown> }) => unknown;

/** The memoising wrapper of one parser's `parse`. */
export function memoizedParse(parse: Parse, size?: number): Parse & { memoized: true; original: Parse };
