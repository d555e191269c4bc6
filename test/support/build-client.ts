/**
 * Vitest global setup: builds the client package's JavaScript once before the tests that run its
 * bin as a process (the bin would otherwise rebuild it on first use, once per racing process).
 */
export default async function buildClient(): Promise<void> {
  const build = (await import(new URL('../../client/build.mjs', import.meta.url).href)) as { ensureBuilt(): Promise<void> };
  await build.ensureBuilt();
}
