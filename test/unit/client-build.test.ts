/**
 * The client's build as the bin uses it in a checkout: right after a build nothing is stale, so
 * `decision-replay` starts without rebuilding (a stale-forever stamp made every run rebuild).
 */
import { describe, expect, it } from 'vitest';

interface ClientBuild {
  buildJs(): Promise<string[]>;
  isStale(): boolean;
}

describe('client build (checkout)', () => {
  it('is not stale right after a build, and lists only real source files as its inputs', async () => {
    const build = (await import(new URL('../../client/build.mjs', import.meta.url).href)) as ClientBuild;
    const inputs = await build.buildJs();
    expect(inputs.length).toBeGreaterThan(10);
    expect(inputs.every((p) => p.endsWith('.ts') && !p.includes(':'))).toBe(true);
    expect(build.isStale()).toBe(false);
  });
});
