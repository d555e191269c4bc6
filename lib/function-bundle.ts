/**
 * How a function's code is built: esbuild with code splitting, one ESM entry (`index.mjs`) and the
 * chunks it imports (`chunks/`). The stack deploys exactly this directory as the function's asset,
 * and the bundles benchmark builds and times exactly this directory, so the figures are about what
 * runs on AWS.
 *
 * Why splitting: a cold start pays to compile and evaluate every byte of the modules it loads. Code
 * that only some requests need — RE2 for Regex rules, the JSON Schema validator, the Step Functions
 * client of a batch start or cancel, DDSketch for a cancelled batch's statistics, the Secrets
 * Manager client of a cursor — is reached through `import()`, so esbuild puts it in a chunk of its
 * own that Node loads the first time a request needs it, not at start. Everything else (what every
 * invocation of the function runs) stays in the entry and the chunks it imports statically.
 *
 * Two things keep the deployed asset to what the function can run: the AWS SDK's schema modules
 * are transformed so that esbuild can drop the schemas of operations no command of the function
 * uses (./function-bundle-build.mjs), and chunks that nothing imports are removed
 * ({@link pruneUnreachableChunks}).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Metafile } from 'esbuild';

/**
 * ESM bundles that contain CommonJS code (parts of the AWS SDK's dependency tree) call `require`,
 * which ESM does not define; esbuild's shim then throws "Dynamic require is not supported". The
 * banner defines it from `import.meta.url`. The alias avoids clashing with any bundled binding.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __decisionReplayCreateRequire } from 'node:module'; const require = __decisionReplayCreateRequire(import.meta.url);";

/**
 * Everything is bundled, the AWS SDK included. The one exception is never installed and never
 * loaded: @datadog/sketches-js requires protobufjs only inside toProto/fromProto (lazily, via the
 * banner's `require`), which this project does not call; it is not among its dependencies.
 */
export const NEVER_LOADED_MODULES: readonly string[] = ['protobufjs/minimal'];

/**
 * The esbuild options every function's bundle is built with (lib/function-bundle.ts adds code
 * splitting, the output layout and the target): ESM, minified, packages' ESM builds first, the
 * require banner, the never-loaded modules external, the given defines.
 */
export function stackEsbuildOptions(define: Record<string, string> = {}): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    minify: true,
    external: [...NEVER_LOADED_MODULES],
    define,
  };
}

/** The file of the entry in a function's asset; the Lambda handler is `index.handler`. */
export const ENTRY_FILE = 'index.mjs';

export interface FunctionBundleOptions {
  /** The handler entry (`functions/handlers/<name>.handler.ts`). */
  readonly entry: string;
  /** Build-time constants (optional clients). */
  readonly define?: Record<string, string>;
  /** esbuild target: the stack targets its runtime; the benchmark this machine's Node. */
  readonly target: string;
  readonly sourceMaps?: boolean;
}

/** The esbuild options of a function's asset directory (written to `outdir`). */
export function functionBundleOptions(options: FunctionBundleOptions, outdir: string): BuildOptions {
  return {
    ...stackEsbuildOptions(options.define ?? {}),
    entryPoints: { index: options.entry },
    outdir,
    splitting: true,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    target: options.target,
    sourcemap: options.sourceMaps === true,
    // Only the project's own code in the map; the SDK's sources would double the asset.
    sourcesContent: false,
    metafile: true,
    logLevel: 'error',
  };
}

/** The build process (esbuild runs plugins only asynchronously; CDK's local bundling is synchronous). */
const BUILD_SCRIPT = fileURLToPath(new URL('./function-bundle-build.mjs', import.meta.url));

/**
 * Builds a function's asset directory into `outdir` (synchronously: CDK's local bundling is), with
 * the plugins of ./function-bundle-build.mjs, then removes the chunks nothing in it can load.
 */
export function buildFunctionBundle(options: FunctionBundleOptions, outdir: string): Metafile {
  const run = spawnSync(process.execPath, [BUILD_SCRIPT], { input: JSON.stringify(functionBundleOptions(options, outdir)), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`esbuild failed for ${options.entry}: ${run.stderr || run.error?.message || `exit ${String(run.status)}`}`);
  return dropUnusedRequireBanners(pruneUnreachableChunks(JSON.parse(run.stdout) as Metafile, outdir), outdir);
}

/**
 * {@link buildFunctionBundle} without blocking the caller: the same build process, input and
 * clean-up, so that several functions can build at once (the bundle tests build a dozen).
 */
export async function buildFunctionBundleAsync(options: FunctionBundleOptions, outdir: string): Promise<Metafile> {
  const child = spawn(process.execPath, [BUILD_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const status = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
    child.stdin.end(JSON.stringify(functionBundleOptions(options, outdir)));
  });
  if (status !== 0) throw new Error(`esbuild failed for ${options.entry}: ${stderr || `exit ${String(status)}`}`);
  return dropUnusedRequireBanners(pruneUnreachableChunks(JSON.parse(stdout) as Metafile, outdir), outdir);
}

/**
 * Removes the require banner ({@link ESM_REQUIRE_BANNER}) from the files of a built asset that do
 * not use `require`. esbuild writes the banner at the top of every file it emits, and only the code
 * that esbuild's CommonJS shim runs in (and, where it sits, the shim itself) refers to `require`:
 * dozens of chunks a function has carried it for nothing. The banner is replaced by nothing on its
 * own line, so the lines (and a source map's mappings) stay where they were. A file that mentions
 * the word `require` anywhere else keeps it.
 */
export function dropUnusedRequireBanners(metafile: Metafile, outdir: string): Metafile {
  const outputs: Metafile['outputs'] = {};
  for (const [path, out] of Object.entries(metafile.outputs)) {
    const file = join(outdir, relative(outdir, path));
    if (!file.endsWith('.mjs')) {
      outputs[path] = out;
      continue;
    }
    const text = readFileSync(file, 'utf8');
    if (!text.startsWith(ESM_REQUIRE_BANNER) || /\brequire\b/.test(text.slice(ESM_REQUIRE_BANNER.length))) {
      outputs[path] = out;
      continue;
    }
    const trimmed = text.slice(ESM_REQUIRE_BANNER.length);
    writeFileSync(file, trimmed);
    outputs[path] = { ...out, bytes: Buffer.byteLength(trimmed) };
  }
  return { inputs: metafile.inputs, outputs };
}

/**
 * Removes the chunks of a built asset that no code in it imports. With code splitting, esbuild
 * makes every `import()` target of every module it visits an entry of its own before tree shaking,
 * and keeps that chunk even when tree shaking then drops the only code that imported it: the AWS
 * SDK's browser user-agent parser (bowser, 35 KiB) ships in every function that way. Such a chunk
 * can never load, and Lambda would store and download it with every cold start of a new
 * environment. Reachability is followed over every import of the outputs (static and dynamic)
 * from the entry; a removed file's name must appear in no file that stays, or the build fails.
 */
export function pruneUnreachableChunks(metafile: Metafile, outdir: string): Metafile {
  const outputs = new Map(Object.entries(metafile.outputs).map(([path, out]) => [relative(outdir, path), { path, out }]));
  const reached = new Set<string>();
  const pending = [ENTRY_FILE];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (reached.has(file)) continue;
    const output = outputs.get(file);
    if (output === undefined) throw new Error(`${file} is not an output of this build`);
    reached.add(file);
    for (const imp of output.out.imports) if (!imp.external) pending.push(relative(outdir, imp.path));
  }
  const unreached = [...outputs.keys()].filter((f) => f.endsWith('.mjs') && !reached.has(f));
  if (unreached.length === 0) return metafile;
  const kept = [...reached].map((f) => readFileSync(join(outdir, f), 'utf8'));
  const keptOutputs: Metafile['outputs'] = {};
  for (const [file, { path, out }] of outputs) {
    const owner = file.endsWith('.map') ? file.slice(0, -'.map'.length) : file;
    if (!unreached.includes(owner)) {
      keptOutputs[path] = out;
      continue;
    }
    if (owner === file && kept.some((text) => text.includes(basename(file)))) throw new Error(`${file} is named by a file that stays, though no import of it was recorded`);
    rmSync(join(outdir, file));
  }
  return { inputs: metafile.inputs, outputs: keptOutputs };
}

/** What a function's asset weighs: all of it, and what a cold start loads before the handler runs. */
export interface BundleWeight {
  /** Every `.mjs` file of the asset (entry and all chunks): what is deployed. */
  totalBytes: number;
  /** The entry and the chunks it imports statically, transitively: what Node loads at start. */
  startBytes: number;
  /** The files loaded at start, relative to the asset directory. */
  startFiles: string[];
  /** Every `.mjs` file of the asset. */
  files: string[];
}

/**
 * Weighs a built asset directory from its metafile: `import-statement` edges are loaded with the
 * entry; `dynamic-import` edges only when that code runs.
 */
export function bundleWeight(metafile: Metafile, outdir: string): BundleWeight {
  const outputs = new Map(Object.entries(metafile.outputs).map(([path, out]) => [relative(outdir, path), out]));
  const files = [...outputs.keys()].filter((f) => f.endsWith('.mjs'));
  const loaded = new Set<string>();
  const visit = (file: string): void => {
    if (loaded.has(file)) return;
    const out = outputs.get(file);
    if (out === undefined) throw new Error(`${file} is not an output of this build`);
    loaded.add(file);
    for (const imp of out.imports) if (imp.kind === 'import-statement' && !imp.external) visit(relative(outdir, imp.path));
  };
  visit(ENTRY_FILE);
  const size = (f: string): number => statSync(join(outdir, f)).size;
  return {
    totalBytes: files.reduce((sum, f) => sum + size(f), 0),
    startBytes: [...loaded].reduce((sum, f) => sum + size(f), 0),
    startFiles: [...loaded].sort(),
    files: files.sort(),
  };
}
