/**
 * Lambda bundles (issue: foundation, benchmark b; issue 10 cold start): every handler's asset built
 * by the very function the CDK stack deploys with (lib/function-bundle.ts `buildFunctionBundle`:
 * esbuild, minified ESM with code splitting, AWS SDK bundled, the same mainFields and require
 * banner, and the defines that leave out the clients the deployment cannot use) against a minimal
 * bundle holding only DynamoDBClient + DocumentClient + GetCommand, built with the project's plain
 * esbuild options (`stackEsbuildOptions`: one file, it has nothing to split, and none of the
 * function build's transforms, lib/function-bundle-build.mjs, so the baseline stays the bundle the
 * target names) and timed in the same run.
 *
 * - Size, target ≤ 2× the minimal bundle, for the default configuration (cdk.json as shipped: no
 *   executor Lambdas, no Bedrock models, lexical similarity). Two figures per function, both
 *   printed: what a cold start loads (the entry and the chunks it imports statically) and the
 *   whole deployed asset (every chunk, including those only some requests load). The functions
 *   that can carry the optional Lambda / Bedrock Runtime clients get a second row with every
 *   client in (a deployment that configures them all), so that cost is shown, not hidden.
 * - Process start + import (`node index.mjs`: start, module load, module-scope composition),
 *   target ≤ 1.2: paired runs, A B A B …, the median of the per-pair ratios. Each run also reports
 *   its own CPU time (user + system, read at exit): wall time is what the target is about, but on
 *   a shared machine it mostly measures waiting for a core, while CPU time does not.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { optionalClientDefines, type OptionalClientConfig } from '../lib/function-defaults.js';
import { buildFunctionBundle, bundleWeight, ENTRY_FILE, functionBundleOptions, pruneUnreachableChunks, stackEsbuildOptions } from '../lib/function-bundle.js';
import { functionBundlePlugins } from '../lib/function-bundle-build.mjs';
import { AppConfigSchema } from '../lib/config.js';
import { LAMBDAS, lambdaSpec, type EnvVarName, type LambdaName } from '../functions/api/manifest.js';
import { median, printFigures, type Figure } from './report.js';

const ROUNDS = Number(process.env.BENCH_BUNDLE_ROUNDS ?? 15);
/** `BENCH_BUNDLE_FUNCTIONS=replay,batches` times only those (while working on them); all by default. */
const ONLY = process.env.BENCH_BUNDLE_FUNCTIONS?.split(',');

/** A value for every variable a handler may read (typed by the manifest, so a new one cannot be forgotten). */
const FUNCTION_ENV: Record<EnvVarName, string> = {
  TABLE_NAME: 'bench',
  STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:bench',
  EVENT_BUS_NAME: 'bench',
  SIMILARITY_PROVIDER: 'lexical',
  EXECUTOR_ALLOW_PRIVATE_NETWORKS: 'false',
  EXECUTOR_SECRET_ARN_PREFIX: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:decision-replay/executors/',
  CURSOR_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:bench',
  AUDIT_BUCKET: 'bench',
  AUDIT_KEY_ID: 'arn:aws:kms:us-east-1:000000000000:key/bench',
  DIGEST_INTERVAL_MINUTES: '60',
  ID_MANIFEST_BUCKETS: '',
  MANIFEST_BUCKET: 'bench',
};

const ENV = {
  ...process.env,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  ...FUNCTION_ENV,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** The configuration cdk.json ships with (every default). */
const DEFAULT_CONFIG: OptionalClientConfig = AppConfigSchema.parse({});
/** A configuration that lets the executor and similarity functions use every optional client. */
const ALL_CLIENTS_CONFIG: OptionalClientConfig = {
  executorFunctionArns: ['arn:aws:lambda:us-east-1:000000000000:function:bench'],
  bedrockModelIds: ['amazon.nova-lite-v1:0'],
  similarityProvider: 'bedrock-titan',
};

const MINIMAL = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
export const handler = async (event) => (await doc.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: { pk: event.id, sk: 'SNAP' } }))).Item;
`;

/** The stack targets the Lambda runtime (Node 24); node20 here so the bundles also run on this machine. */
const TARGET = 'node20';

async function minimalBundle(outfile: string): Promise<number> {
  await build({ ...stackEsbuildOptions(), stdin: { contents: MINIMAL, resolveDir: resolve('.'), loader: 'js' }, outfile, target: TARGET, logLevel: 'error' });
  return statSync(outfile).size;
}

/** Reports the process's own CPU time when it exits; loaded into both sides of every pair alike. */
const CPU_REPORTER = `data:text/javascript,process.on('exit',()=>process.stderr.write('\\n__cpu '+JSON.stringify(process.cpuUsage())))`;

/** Wall and CPU milliseconds of `node <file>`: process start, module load and module-scope composition. */
function start(file: string): { wall: number; cpu: number } {
  const t = performance.now();
  const r = spawnSync(process.execPath, ['--import', CPU_REPORTER, file], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = performance.now() - t;
  const stderr = r.stderr.toString();
  const cpu = /__cpu (\{.*\})/.exec(stderr)?.[1];
  if (r.status !== 0 || cpu === undefined) throw new Error(`${file} failed to start: ${stderr.slice(0, 500)}`);
  const { user, system } = JSON.parse(cpu) as { user: number; system: number };
  return { wall, cpu: (user + system) / 1000 };
}

interface Variant {
  label: string;
  name: LambdaName;
  define: Record<string, string>;
}

export default async function bundlesBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dr-bundles-'));
  try {
    const minimalFile = join(dir, 'minimal.mjs');
    const minimalSize = await minimalBundle(minimalFile);
    // For the record, not the ratio: the minimal code split like the functions. Part of what the
    // functions' split saves at start is the SDK's own (credential providers a Lambda never uses
    // sit behind import() in the SDK); the baseline stays the one-file bundle the target names.
    const minimalSplit = join(dir, 'minimal-split');
    mkdirSync(minimalSplit);
    writeFileSync(join(minimalSplit, 'minimal.mjs'), MINIMAL);
    const splitOut = join(minimalSplit, 'out');
    const split = await build({ ...functionBundleOptions({ entry: join(minimalSplit, 'minimal.mjs'), target: TARGET }, splitOut), nodePaths: [resolve('node_modules')], plugins: functionBundlePlugins });
    const minimalSplitWeight = bundleWeight(pruneUnreachableChunks(split.metafile ?? { inputs: {}, outputs: {} }, splitOut), splitOut);
    const variants: Variant[] = [];
    for (const name of Object.keys(LAMBDAS) as LambdaName[]) {
      if (ONLY !== undefined && !ONLY.includes(name)) continue;
      const spec = lambdaSpec(name);
      variants.push({ label: name, name, define: optionalClientDefines(spec, DEFAULT_CONFIG) });
      if (spec.executors || spec.similarity) variants.push({ label: `${name} (all clients)`, name, define: optionalClientDefines(spec, ALL_CLIENTS_CONFIG) });
    }
    const sizes: Figure[] = [];
    const totals: Figure[] = [];
    const starts: Figure[] = [];
    const cpus: Figure[] = [];
    for (const [i, v] of variants.entries()) {
      const outdir = join(dir, `${i}-${v.name}`);
      const weight = bundleWeight(buildFunctionBundle({ entry: `functions/handlers/${v.name}.handler.ts`, define: v.define, target: TARGET }, outdir), outdir);
      const file = join(outdir, ENTRY_FILE);
      sizes.push({ figure: `${v.label} loaded at start (${weight.startFiles.length} of ${weight.files.length} files) ÷ minimal`, ours: weight.startBytes / 1024, baseline: minimalSize / 1024, unit: 'KiB', ratio: weight.startBytes / minimalSize, target: '<= 2' });
      totals.push({ figure: `${v.label} deployed (all ${weight.files.length} files) ÷ minimal`, ours: weight.totalBytes / 1024, baseline: minimalSize / 1024, unit: 'KiB', ratio: weight.totalBytes / minimalSize, target: '<= 2' });
      start(file);
      start(minimalFile);
      const a: { wall: number; cpu: number }[] = [];
      const b: { wall: number; cpu: number }[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        a.push(start(file));
        b.push(start(minimalFile));
      }
      const wallRatio = median(a.map((x, k) => x.wall / (b[k]?.wall ?? NaN)));
      const cpuRatio = median(a.map((x, k) => x.cpu / (b[k]?.cpu ?? NaN)));
      starts.push({ figure: `${v.label} start + import ÷ minimal`, ours: median(a.map((x) => x.wall)), baseline: median(b.map((x) => x.wall)), unit: 'ms', ratio: wallRatio, target: '<= 1.2' });
      cpus.push({ figure: `${v.label} start + import CPU ÷ minimal`, ours: median(a.map((x) => x.cpu)), baseline: median(b.map((x) => x.cpu)), unit: 'ms', ratio: cpuRatio, target: '<= 1.2' });
    }
    sizes.push({ figure: `(for the record) the minimal code split the same way, loaded at start ÷ minimal`, ours: minimalSplitWeight.startBytes / 1024, baseline: minimalSize / 1024, unit: 'KiB', ratio: minimalSplitWeight.startBytes / minimalSize });
    printFigures(`Lambda bundles: bytes a cold start loads (entry + static chunks; minimal DynamoDB Get bundle ${(minimalSize / 1024).toFixed(0)} KiB; default cdk.json unless "all clients")`, sizes);
    printFigures(`Lambda bundles: whole deployed asset (entry + every chunk, loaded or not)`, totals);
    printFigures(`Lambda bundles: process start + import, wall time, median of ${ROUNDS} paired runs`, starts);
    printFigures(`Lambda bundles: process start + import, CPU time (user + system) of the same runs`, cpus);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
