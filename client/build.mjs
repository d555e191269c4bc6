// Builds the client package into dist/: one esbuild pass bundles the SDK (dist/index.js) and the
// CLI (dist/cli.js) as ESM for Node 20, including the server's zod schemas from functions/core, so
// the published package never imports server code; `tsc` then emits the .d.ts files (the client's
// and those of the core schema modules it re-exports). zod stays a dependency: the types refer to it.
//
//   node build.mjs           full build (JS + types): `npm run build -w client`, `prepack`
//   node build.mjs --js      the JavaScript only: the repository's `prepare` (root package.json), so
//                            `npm install` there gives a working bin. Not the client's own `prepare`:
//                            npm 11 asks whoever installs the packed tarball to approve that script
//   ensureBuilt()            used by bin/decision-replay.js in a checkout of the repository: rebuilds
//                            the JS only when a source file is newer than the last build
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const stampFile = join(dist, 'build-inputs.json');

/** Packages left as imports (installed as the package's dependencies), everything else is bundled. */
const EXTERNAL = ['@aws-sdk/credential-provider-node'];

/**
 * Server-only packages that core modules the client reaches import at their top, although nothing
 * the client calls uses them (the batch stats' quantile sketch beside the stats schema). Each is
 * replaced by a module that throws if it is ever used, instead of shipping it.
 */
const SERVER_ONLY = ['@datadog/sketches-js'];
const serverOnly = {
  name: 'server-only',
  setup(build) {
    const filter = new RegExp(`^(${SERVER_ONLY.map((p) => p.replace(/[/.]/g, '\\$&')).join('|')})$`);
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'server-only' }));
    build.onLoad({ filter: /.*/, namespace: 'server-only' }, (args) => ({
      contents: `const fail = () => { throw new Error(${JSON.stringify(`${args.path} is server-only code, not part of the client`)}); };\nexport const LogCollapsingLowestDenseDDSketch = fail;\nexport default fail;\n`,
      loader: 'js',
    }));
  },
};

/** Writes a file through a temporary name and a rename, so a concurrent reader never sees half of it. */
function writeAtomically(path, contents) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

/** Bundles the JavaScript; returns the source files it read (for the staleness check). */
export async function buildJs() {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
    outdir: dist,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    minifySyntax: true,
    minifyWhitespace: true,
    legalComments: 'none',
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    write: false,
    plugins: [serverOnly],
    logLevel: 'warning',
  });
  const written = new Set();
  for (const file of result.outputFiles) {
    writeAtomically(file.path, file.contents);
    written.add(file.path);
  }
  // Chunks of earlier builds that nothing imports any more.
  const chunks = join(dist, 'chunks');
  mkdirSync(chunks, { recursive: true });
  for (const name of readdirSync(chunks, { withFileTypes: true })) {
    const path = join(chunks, name.name);
    if (name.isFile() && !written.has(path) && !name.name.endsWith('.tmp')) rmSync(path, { force: true });
  }
  // Files only: not the packages (node_modules) nor the server-only stand-ins (`server-only:<name>`).
  const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.includes('node_modules') && !p.includes(':'));
  writeAtomically(stampFile, JSON.stringify({ builtAt: Date.now(), inputs: inputs.map((p) => resolve(root, p)) }, null, 1));
  return inputs;
}

/** Emits the declaration files with the repository's TypeScript (dist/types/...). */
export function buildTypes() {
  rmSync(join(dist, 'types'), { recursive: true, force: true });
  const tsc = join(root, '..', 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`tsc exited with ${run.status}`);
}

/** True when dist/ is missing or a source file changed after the last build. */
export function isStale() {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
  } catch {
    return true;
  }
  for (const input of stamp.inputs) {
    try {
      if (statSync(input).mtimeMs > stamp.builtAt) return true;
    } catch {
      return true; // a source file went away
    }
  }
  // A new command module is imported by a changed registry, which the loop above already caught.
  return false;
}

/** Rebuilds the JavaScript when it is stale (a checkout of the repository only). */
export async function ensureBuilt() {
  if (isStale()) await buildJs();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const jsOnly = process.argv.includes('--js');
  try {
    const inputs = await buildJs();
    if (!jsOnly) buildTypes();
    console.error(`client: built ${relative(process.cwd(), dist) || '.'} from ${inputs.length} source files`);
  } catch (err) {
    // As `prepare` (--js), a failed build must not fail everyone's `npm install`: the bin rebuilds
    // on its first run and reports the error there. A full build (pack) must fail.
    console.error(`client: build failed: ${err.message}`);
    if (!jsOnly) process.exit(1);
  }
}
