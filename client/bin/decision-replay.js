#!/usr/bin/env node
// The `decision-replay` command. It runs the built CLI in dist/. In a checkout of the repository
// (src/ beside dist/) it first rebuilds dist/ when a source file is newer than the last build, so
// `npx decision-replay` at the repository root never runs stale code; an installed package has no
// src/ and goes straight to dist/.
import { existsSync } from 'node:fs';

const here = new URL('../', import.meta.url);
if (existsSync(new URL('src/cli/main.ts', here))) {
  const { ensureBuilt } = await import(new URL('build.mjs', here).href);
  await ensureBuilt();
}
const { runCli } = await import(new URL('dist/cli.js', here).href);
await runCli();
