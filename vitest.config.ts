import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // vitest runs one file at a time on a 2-core machine (it keeps a core for itself: cores − 1),
    // but most files here wait on sockets, child processes and worker threads, not the CPU. Two at
    // a time took the whole suite from ~600 s to ~400 s on CI's 2 cores, every test passing. Three
    // gain nothing more: two files at a time keep both cores busy (on an otherwise idle 2-core
    // machine, 2026-12-01: 415 s with two, 428 s with three). Larger machines keep vitest's default.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    setupFiles: ['test/support/setup.ts'],
    globalSetup: ['test/support/build-client.ts'],
    // The SDK warns on Node 20 that its releases after early January 2027 need Node 22; the
    // versions locked here support Node 20, so the warning is noise in test output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
