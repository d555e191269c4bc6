/**
 * Lambda bundles (issue: foundation, benchmark b; issue 10 cold start): every handler bundled the
 * way the CDK stack ships it (lib/function-defaults.ts `stackEsbuildOptions`: esbuild, minified
 * ESM, AWS SDK bundled, the same mainFields and require banner, and the defines that leave out the
 * clients the deployment cannot use) against a minimal bundle holding only DynamoDBClient +
 * DocumentClient + GetCommand, built and timed in the same run with the same options.
 *
 * - Size ratio, target ≤ 2, for the default configuration (cdk.json as shipped: no executor
 *   Lambdas, no Bedrock models, lexical similarity). The functions that can carry the optional
 *   Lambda / Bedrock Runtime clients get a second row with every client in (a deployment that
 *   configures them all), so that cost is shown, not hidden.
 * - Process start + import (`node <bundle>`: start, module load, module-scope composition), target
 *   ≤ 1.2: paired runs, A B A B …, the median of the per-pair ratios. Each run also reports its own
 *   CPU time (user + system, read at exit): wall time is what the target is about, but on a shared
 *   machine it mostly measures waiting for a core, while CPU time does not.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { optionalClientDefines, stackEsbuildOptions, type OptionalClientConfig } from '../lib/function-defaults.js';
import { AppConfigSchema } from '../lib/config.js';
import { LAMBDAS, lambdaSpec, type EnvVarName, type LambdaName } from '../functions/api/manifest.js';
import { median, printFigures, type Figure } from './report.js';

const ROUNDS = Number(process.env.BENCH_BUNDLE_ROUNDS ?? 15);

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

async function bundle(entry: string, outfile: string, define: Record<string, string>, stdin?: string): Promise<number> {
  await build({
    ...stackEsbuildOptions(define),
    ...(stdin ? { stdin: { contents: stdin, resolveDir: resolve('.'), loader: 'js' } } : { entryPoints: [entry] }),
    outfile,
    // The stack targets the Lambda runtime (Node 24); node20 here so the bundles also run on this machine.
    target: 'node20',
    logLevel: 'error',
  });
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
    const minimalSize = await bundle('', minimalFile, {}, MINIMAL);
    const variants: Variant[] = [];
    for (const name of Object.keys(LAMBDAS) as LambdaName[]) {
      const spec = lambdaSpec(name);
      variants.push({ label: name, name, define: optionalClientDefines(spec, DEFAULT_CONFIG) });
      if (spec.executors || spec.similarity) variants.push({ label: `${name} (all clients)`, name, define: optionalClientDefines(spec, ALL_CLIENTS_CONFIG) });
    }
    const sizes: Figure[] = [];
    const starts: Figure[] = [];
    const cpus: Figure[] = [];
    for (const [i, v] of variants.entries()) {
      const file = join(dir, `${i}-${v.name}.mjs`);
      const size = await bundle(`functions/handlers/${v.name}.handler.ts`, file, v.define);
      sizes.push({ figure: `${v.label} bundle size ÷ minimal`, ours: size / 1024, baseline: minimalSize / 1024, unit: 'KiB', ratio: size / minimalSize, target: '<= 2' });
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
    printFigures(`Lambda bundles: size (minimal DynamoDB Get bundle ${(minimalSize / 1024).toFixed(0)} KiB; default cdk.json unless "all clients")`, sizes);
    printFigures(`Lambda bundles: process start + import, wall time, median of ${ROUNDS} paired runs`, starts);
    printFigures(`Lambda bundles: process start + import, CPU time (user + system) of the same runs`, cpus);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
