/**
 * Lambda bundles (issue: foundation, benchmark b): every handler bundled the way the CDK stack
 * ships it (esbuild, minified ESM, AWS SDK bundled in, the same mainFields and require banner)
 * against a minimal bundle holding only DynamoDBClient + DocumentClient + GetCommand, built and
 * timed in the same run. Size ratio target ≤ 2; process start + import ratio target ≤ 1.2
 * (paired runs, A B A B …, median of the per-pair ratios).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER, NEVER_LOADED_MODULES } from '../lib/function-defaults.js';
import { LAMBDAS, type EnvVarName } from '../functions/api/manifest.js';
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

const MINIMAL = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
export const handler = async (event) => (await doc.send(new GetCommand({ TableName: process.env.TABLE_NAME, Key: { pk: event.id, sk: 'SNAP' } }))).Item;
`;

async function bundle(entry: string, outfile: string, stdin?: string): Promise<number> {
  await build({
    ...(stdin ? { stdin: { contents: stdin, resolveDir: resolve('.'), loader: 'js' } } : { entryPoints: [entry] }),
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    // The stack targets the Lambda runtime (Node 24); node20 here so the bundles also run on this machine.
    target: 'node20',
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    minify: true,
    external: [...NEVER_LOADED_MODULES],
    logLevel: 'error',
  });
  return statSync(outfile).size;
}

/** Wall time of `node <file>`: process start, module load and module-scope composition. */
function startMs(file: string): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [file], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${file} failed to start: ${r.stderr.toString().slice(0, 500)}`);
  return ms;
}

export default async function bundlesBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dr-bundles-'));
  try {
    const minimalFile = join(dir, 'minimal.mjs');
    const minimalSize = await bundle('', minimalFile, MINIMAL);
    const sizes: Figure[] = [];
    const starts: Figure[] = [];
    for (const name of Object.keys(LAMBDAS)) {
      const file = join(dir, `${name}.mjs`);
      const size = await bundle(`functions/handlers/${name}.handler.ts`, file);
      sizes.push({ figure: `${name} bundle size ÷ minimal`, ours: size / 1024, baseline: minimalSize / 1024, unit: 'KiB', ratio: size / minimalSize, target: '<= 2' });
      startMs(file);
      startMs(minimalFile);
      const a: number[] = [];
      const b: number[] = [];
      const ratios: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        const ta = startMs(file);
        const tb = startMs(minimalFile);
        a.push(ta);
        b.push(tb);
        ratios.push(ta / tb);
      }
      starts.push({ figure: `${name} start + import ÷ minimal`, ours: median(a), baseline: median(b), unit: 'ms', ratio: median(ratios), target: '<= 1.2' });
    }
    writeFileSync(join(dir, 'done'), '');
    printFigures(`Lambda bundles: size (minimal DynamoDB Get bundle ${(minimalSize / 1024).toFixed(0)} KiB)`, sizes);
    printFigures(`Lambda bundles: process start + import, median of ${ROUNDS} paired runs`, starts);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
