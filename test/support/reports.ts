/**
 * HTML reports as documents: two renderings of one report differ only in the time they were
 * generated (the footer's "Generated <ISO time> by decision-replay").
 */

/** The document without its generation time. */
export function withoutGenerationTime(html: string): string {
  return html.replace(/Generated \S+ by decision-replay\b/g, 'Generated … by decision-replay');
}
