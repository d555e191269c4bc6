/**
 * Text similarity for `SemanticSimilarity` rules and Tolerant replay comparisons (DESIGN §4).
 * The port is {@link SimilarityProvider}; the default provider, {@link LexicalSimilarity}, is local
 * and deterministic. An embedding provider (Bedrock Titan) lives in adapters/bedrock.
 */

/** Scores how alike two texts are. */
export interface SimilarityProvider {
  /** Recorded with every verdict, e.g. `lexical` or `bedrock:amazon.titan-embed-text-v2:0`. */
  readonly name: string;
  /** A score in [0, 1]; identical texts score exactly 1. */
  similarity(a: string, b: string): Promise<number>;
}

/** A similarity provider could not produce a score (e.g. the embedding service failed). */
export class SimilarityProviderError extends Error {
  readonly provider: string;
  readonly code: string;
  constructor(provider: string, message: string, options?: ErrorOptions & { code?: string }) {
    super(message, options);
    this.name = new.target.name;
    this.provider = provider;
    this.code = options?.code ?? 'SIMILARITY_PROVIDER_ERROR';
  }
}

// A token is a run of letters, combining marks (part of the letter in e.g. Devanagari) and digits,
// or one emoji (with its skin-tone modifier, variation selector and zero-width-joined parts) or flag:
// '👍 approve' and '👎 approve' say opposite things, and scored 1 when emoji were skipped like
// punctuation. One shared global regex: safe because each exec loop resets lastIndex and runs to
// completion synchronously.
const TOKEN = /[\p{L}\p{M}\p{N}]+|\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|\uFE0F|\u200D\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|\uFE0F)*)*|\p{Regional_Indicator}{2}/gu;
/** What an emoji term leaves out: 👍🏽 and 👍 (or ❤️ and ❤) are one term. */
const EMOJI_VARIANT = /\p{Emoji_Modifier}|\uFE0F/gu;
const PICTOGRAPHIC = /^\p{Extended_Pictographic}/u;
/** White space, which a text without any word is compared without ('' and ' ' say the same). */
const WHITE_SPACE = /\p{White_Space}+/gu;
// Characters from tab to '~' (ASCII text and whitespace) are unchanged by NFKC; anything else is normalised.
const NEEDS_NFKC = /[^\t-~]/;

/** NFKC then lower case; ASCII text skips the normaliser (it is already in NFKC). */
function normalize(text: string): string {
  return (NEEDS_NFKC.test(text) ? text.normalize('NFKC') : text).toLowerCase();
}

/**
 * Scripts written without spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese):
 * there a run of letters is a whole phrase or sentence, so taken as one term, '我喜欢猫' and
 * '我喜欢狗' shared nothing and scored 0, like unrelated text. Script_Extensions, so that marks
 * shared by the scripts (the prolonged sound mark ー, the iteration mark 々) count with them.
 */
const NO_SPACES = /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Thai}\p{scx=Lao}\p{scx=Khmer}\p{scx=Myanmar}]/u;
/** A letter or digit with the combining marks that follow it (a Thai vowel or tone mark stays on its letter). */
const CLUSTER = /[\p{L}\p{N}]\p{M}*|\p{M}+/gu;

function count(tf: Map<string, number>, term: string): void {
  tf.set(term, (tf.get(term) ?? 0) + 1);
}

/**
 * Counts the terms of one token that holds letters of a script without spaces: each run of such
 * characters gives its overlapping pairs of neighbouring characters (one character alone is its own
 * term), the way search engines index CJK text without a dictionary (Lucene's CJK bigrams), and
 * each run of other letters and digits beside them (`GPT4` in `GPT4模型`) stays one word.
 */
function countUnspacedToken(tf: Map<string, number>, token: string): void {
  const clusters = token.match(CLUSTER) ?? [];
  let run: string[] = [];
  let word = '';
  const flushRun = (): void => {
    if (run.length === 1) count(tf, run[0] as string);
    for (let i = 0; i + 1 < run.length; i++) count(tf, `${run[i] as string}${run[i + 1] as string}`);
    run = [];
  };
  for (const cluster of clusters) {
    if (NO_SPACES.test(cluster)) {
      if (word !== '') count(tf, word);
      word = '';
      run.push(cluster);
    } else {
      flushRun();
      word += cluster;
    }
  }
  flushRun();
  if (word !== '') count(tf, word);
}

/**
 * Term frequencies of a text after NFKC normalisation and lower-casing: its words, and in scripts
 * written without spaces the pairs of neighbouring characters ({@link countUnspacedToken}).
 */
export function termFrequencies(text: string): Map<string, number> {
  const ascii = !NEEDS_NFKC.test(text);
  const normalized = normalize(text);
  const tf = new Map<string, number>();
  const re = TOKEN;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(normalized)) !== null) {
    const term = m[0];
    if (ascii) count(tf, term);
    else if (PICTOGRAPHIC.test(term)) count(tf, term.replace(EMOJI_VARIANT, ''));
    else if (NO_SPACES.test(term)) countUnspacedToken(tf, term);
    else count(tf, term);
  }
  return tf;
}

/**
 * Cosine similarity of two term-frequency vectors. The counts are integers, so the dot product and
 * both squared norms are exact integers: equal vectors give exactly 1 and swapping the arguments
 * gives exactly the same result.
 */
export function cosineOfCounts(x: Map<string, number>, y: Map<string, number>): number {
  let small = x;
  let large = y;
  if (small.size > large.size) {
    small = y;
    large = x;
  }
  let dot = 0;
  for (const [term, n] of small) {
    const m = large.get(term);
    if (m !== undefined) dot += n * m;
  }
  if (dot === 0) return 0;
  let nx = 0;
  for (const n of x.values()) nx += n * n;
  let ny = 0;
  for (const n of y.values()) ny += n * n;
  const score = dot / Math.sqrt(nx * ny);
  return score > 1 ? 1 : score;
}

/**
 * Lexical similarity: normalise (Unicode NFKC, lower case), split on anything that is not a
 * letter, mark or digit (and text of scripts without spaces into pairs of neighbouring characters),
 * and take the cosine of the term-frequency vectors. Identical texts score
 * exactly 1.0; so do two texts without any token whose normalised forms are equal but for white
 * space (e.g. both empty, or one empty and one a space); two texts without tokens that differ score 0.
 * An emoji or a flag is a term of its own, whatever its skin tone or variation selector. Symmetric, in [0, 1], deterministic.
 */
export class LexicalSimilarity implements SimilarityProvider {
  readonly name = 'lexical';

  similarity(a: string, b: string): Promise<number> {
    return Promise.resolve(lexicalSimilarity(a, b));
  }
}

/** The synchronous core of {@link LexicalSimilarity}. */
export function lexicalSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const ta = termFrequencies(a);
  const tb = termFrequencies(b);
  if (ta.size === 0 || tb.size === 0) {
    if (ta.size !== tb.size) return 0;
    return normalize(a).replace(WHITE_SPACE, '') === normalize(b).replace(WHITE_SPACE, '') ? 1 : 0;
  }
  return cosineOfCounts(ta, tb);
}
