/**
 * The functions' code (lib/function-bundle.ts): what a cold start loads is the entry and the chunks
 * it imports statically, and the libraries only some requests need are in chunks of their own; the
 * stack deploys exactly the directory the bundles benchmark builds and times.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack, type CfnResource } from 'aws-cdk-lib';
import { build as esbuild, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaSpec, type LambdaName } from '../../functions/api/manifest.js';
import { AppConfigSchema } from '../../lib/config.js';
import { compactErrorClasses, literalSchemaKeys, sdkErrorClassesPlugin, SKETCH_UNREACHABLE_MODULES, withoutSketchModules } from '../../lib/function-bundle-build.mjs';
import { sketchFigures } from '../support/sketch.entry.js';
import { bundleWeight, buildFunctionBundleAsync, ENTRY_FILE, functionBundleOptions, type FunctionBundleOptions } from '../../lib/function-bundle.js';
import { DecisionFunction, optionalClientDefines } from '../../lib/function-defaults.js';
import { apiEvent } from '../support/lambda-events.js';
import { tempDir as testTempDir } from '../support/temp-dirs.js';

/** Every folder of this file's builds is in one, removed after the file (test/support/setup.ts). */
const root = testTempDir('dr-fn-bundle-');
const tempDir = (): string => mkdtempSync(join(root, 'out-'));

const DEFAULTS = AppConfigSchema.parse({});
const ALL_CLIENTS = AppConfigSchema.parse({ executorFunctionArns: ['arn:aws:lambda:us-east-1:123456789012:function:f'], bedrockModelIds: ['amazon.nova-lite-v1:0'], similarityProvider: 'bedrock-titan' });

/**
 * Builds run as processes of their own (lib/function-bundle.ts), as many at once as the machine has
 * cores (at least two, at most four: each holds the SDK's sources in memory). A build is ~4 s of
 * CPU, and over a dozen of them one after another were most of this file's time, while one build
 * leaves part of a core idle (esbuild and the build's plugins wait on each other).
 */
const BUILDS_AT_ONCE = Math.min(4, Math.max(2, availableParallelism()));
let building = 0;
let over = false;
const queued: (() => void)[] = [];
async function inTurn<T>(job: () => Promise<T>): Promise<T> {
  while (!over && building >= BUILDS_AT_ONCE) await new Promise<void>((resolve) => queued.push(resolve));
  if (over) throw new Error('not built: the tests of this file are over');
  building += 1;
  try {
    return await job();
  } finally {
    building -= 1;
    queued.shift()?.();
  }
}

/** Each bundle (by its options), built once for the whole file, where it was written and its metafile. */
const bundles = new Map<string, Promise<{ outdir: string; metafile: Metafile }>>();
function bundle(options: FunctionBundleOptions): Promise<{ outdir: string; metafile: Metafile }> {
  const key = JSON.stringify(options);
  let result = bundles.get(key);
  if (result === undefined) {
    result = inTurn(async () => {
      const outdir = tempDir();
      return { outdir, metafile: await buildFunctionBundleAsync(options, outdir) };
    });
    // Started ahead of the test that awaits it: that test sees a failure, not the process.
    result.catch(() => undefined);
    bundles.set(key, result);
  }
  return result;
}

// When the tests are over (all of them, or the few a filter picked), builds still waiting never start
// and those running finish before the folders are removed: a build would write its folder again.
afterAll(async () => {
  over = true;
  for (const wake of queued.splice(0)) wake();
  await Promise.allSettled(bundles.values());
});

const functionOptions = (name: LambdaName, config = DEFAULTS, target = 'node20'): FunctionBundleOptions => ({ entry: `functions/handlers/${name}.handler.ts`, define: optionalClientDefines(lambdaSpec(name), config), target });

/** A built bundle: the packages (and own modules) in the files a cold start loads and in all files, and where it was written. */
interface Built {
  atStart: string[];
  all: string[];
  outdir: string;
}

async function built(name: LambdaName, config = DEFAULTS): Promise<Built> {
  const { outdir, metafile } = await bundle(functionOptions(name, config));
  const weight = bundleWeight(metafile, outdir);
  const inputsOf = (files: string[]) =>
    Object.entries(metafile.outputs)
      .filter(([path]) => files.includes(relative(outdir, path)))
      .flatMap(([, out]) => Object.entries(out.inputs).filter(([, i]) => i.bytesInOutput > 0).map(([path]) => path));
  return { atStart: inputsOf(weight.startFiles), all: inputsOf(weight.files), outdir };
}
const has = (inputs: string[], pkg: string) => inputs.some((p) => p.includes(`node_modules/${pkg}/`));

const SDK_WIRE: FunctionBundleOptions = { entry: 'test/support/sdk-wire.entry.ts', target: 'node20' };
const SKETCH: FunctionBundleOptions = { entry: 'test/support/sketch.entry.ts', target: 'node20' };
const DEAD_IMPORT: FunctionBundleOptions = { entry: 'test/support/dead-import/entry.ts', target: 'node20' };
const DEPLOYED = ['openapi', 'snapshots'] as const;

// Every build the tests below await, started at once in the order they need them: each test waits
// only for what is not built yet, while the next builds go on.
beforeAll(() => {
  for (const [name, config] of [
    ...(['replay', 'batches', 'audit', 'digester', 'batch-plan', 'batch-stats', 'execution-end', 'reports', 'snapshots', 'validation', 'batch-replay', 'on-write'] as const).map((name) => [name, DEFAULTS] as const),
    ['replay', ALL_CLIENTS],
    ['batch-replay', ALL_CLIENTS],
  ] as const) {
    void bundle(functionOptions(name, config));
  }
  for (const options of [DEAD_IMPORT, SKETCH, SDK_WIRE, ...DEPLOYED.map((name) => functionOptions(name, DEFAULTS, 'node24'))]) void bundle(options);
});

// Several tests here wait for up to ten functions' bundles, ~3–9 s each on CI's 2 cores while other files run.
describe('a function bundle', { timeout: 120_000 }, () => {
  it('leaves RE2 and the JSON Schema validator out of what replay loads at start, and ships them as chunks', async () => {
    const replay = await built('replay');

    for (const pkg of ['re2js', '@cfworker/json-schema']) {
      expect(has(replay.atStart, pkg), pkg).toBe(false);
      expect(has(replay.all, pkg), pkg).toBe(true);
    }
    expect(has(replay.atStart, '@aws-sdk/client-dynamodb')).toBe(true);
  });

  it('leaves the S3 and Step Functions clients out of what batches loads at start (they serve POST /batches and cancel)', async () => {
    const batches = await built('batches');

    for (const pkg of ['@aws-sdk/client-s3', '@aws-sdk/client-sfn']) {
      expect(has(batches.atStart, pkg), pkg).toBe(false);
      expect(has(batches.all, pkg), pkg).toBe(true);
    }
  });

  it('leaves S3 and KMS out of what the audit API loads at start (each serves some routes), and keeps both in the digester (every run seals)', async () => {
    const audit = await built('audit');
    const digester = await built('digester');

    for (const pkg of ['@aws-sdk/client-s3', '@aws-sdk/client-kms']) {
      expect(has(audit.atStart, pkg), pkg).toBe(false);
      expect(has(audit.all, pkg), pkg).toBe(true);
      expect(has(digester.atStart, pkg), pkg).toBe(true);
    }
  });

  it('ships RE2 and the JSON Schema validator only in the functions that check or evaluate policy rules', async () => {
    // A batch's start, plan and statistics name a stored policy or none: they never run a comparator.
    for (const name of ['batches', 'batch-plan', 'batch-stats', 'execution-end', 'reports', 'snapshots'] as const) {
      const fn = await built(name);
      for (const pkg of ['re2js', '@cfworker/json-schema']) expect(has(fn.all, pkg), `${name}: ${pkg}`).toBe(false);
      expect(fn.all.some((p) => p.endsWith('functions/core/comparators.ts')), name).toBe(false);
    }
    for (const name of ['validation', 'replay', 'batch-replay', 'on-write'] as const) expect(has((await built(name)).all, 're2js'), name).toBe(true);
  });

  it('builds no replay-result or policy schemas, and no executor configuration, in the functions that start, plan or total batches', async () => {
    for (const name of ['batches', 'batch-plan', 'batch-stats'] as const) {
      const fn = await built(name);
      for (const module of ['functions/core/replay-model.ts', 'functions/core/policy-model.ts']) expect(fn.all.some((p) => p.endsWith(module)), `${name}: ${module}`).toBe(false);
      expect(fn.atStart.some((p) => p.endsWith('functions/core/replay-request.ts')) || name === 'batch-stats', name).toBe(true);
    }
    expect((await built('batch-plan')).all.some((p) => p.endsWith('functions/core/executor-config.ts'))).toBe(false);
  });

  it('carries none of the SDK credential chain links that cannot apply on Lambda (the environment answers there)', async () => {
    for (const [name, config] of [['snapshots', DEFAULTS], ['batches', DEFAULTS], ['audit', DEFAULTS], ['replay', ALL_CLIENTS]] as const) {
      const fn = await built(name, config);
      // With every client, replay carries Bedrock Runtime, whose bearer-token fallback reads SSO token files.
      for (const pkg of ['@aws-sdk/credential-provider-node', '@aws-sdk/credential-provider-sso', '@aws-sdk/credential-provider-ini', '@aws-sdk/credential-provider-process', '@aws-sdk/credential-provider-web-identity', '@aws-sdk/credential-provider-login', '@aws-sdk/nested-clients']) {
        expect(has(fn.all, pkg), `${name}: ${pkg}`).toBe(false);
      }
      expect(has(fn.all, '@aws-sdk/credential-provider-env'), name).toBe(true);
      expect(fn.all.some((p) => p.endsWith('functions/adapters/aws/lambda-credential-provider.ts')), name).toBe(true);
    }
    expect(has((await built('replay', ALL_CLIENTS)).all, '@aws-sdk/client-bedrock-runtime')).toBe(true);
  });

  it('carries none of the SDK\'s event stream code, which no command the functions send uses (test/unit/lambda-event-streams.test.ts)', async () => {
    // replay with every client: Lambda and Bedrock Runtime; batch-plan and audit: S3 (all three clients build event stream configuration).
    for (const [name, config] of [['replay', ALL_CLIENTS], ['batch-replay', ALL_CLIENTS], ['batch-plan', DEFAULTS], ['audit', DEFAULTS]] as const) {
      const fn = await built(name, config);
      expect(fn.all.some((p) => p.includes('@smithy/core/dist-es/submodules/event-streams/')), name).toBe(false);
      expect(has(fn.all, '@aws-sdk/eventstream-handler-node'), name).toBe(false);
      expect(fn.all.some((p) => p.endsWith('functions/adapters/aws/lambda-event-streams.ts')), name).toBe(true);
    }
    expect(has((await built('replay', ALL_CLIENTS)).all, '@aws-sdk/client-lambda')).toBe(true);
    expect(has((await built('audit')).all, '@aws-sdk/client-s3')).toBe(true);
  });

  it('loads at start none of the SDK code that only its lazily loaded clients use, though barrels re-export it beside what the start needs', async () => {
    const replay = await built('replay', ALL_CLIENTS);
    const batches = await built('batches');
    const file = (inputs: string[], path: string) => inputs.some((p) => p.endsWith(path));

    // Bedrock Runtime's HTTP/2 handler sits in the barrel DynamoDB takes its HTTP/1 handler from.
    expect(file(replay.atStart, '@smithy/node-http-handler/dist-es/node-http2-handler.js')).toBe(false);
    expect(file(replay.all, '@smithy/node-http-handler/dist-es/node-http2-handler.js')).toBe(true);
    // S3's REST-XML protocol sits in the protocol barrel DynamoDB takes its JSON protocol from.
    expect(file(batches.atStart, '@aws-sdk/core/dist-es/submodules/protocols/xml/AwsRestXmlProtocol.js')).toBe(false);
    expect(file(batches.all, '@aws-sdk/core/dist-es/submodules/protocols/xml/AwsRestXmlProtocol.js')).toBe(true);
    expect(file(batches.atStart, '@aws-sdk/core/dist-es/submodules/protocols/json/AwsJson1_0Protocol.js')).toBe(true);
  });

  it('keeps the S3 client in what batch-plan loads at start: every invocation writes a manifest', async () => {
    expect(has((await built('batch-plan')).atStart, '@aws-sdk/client-s3')).toBe(true);
  });

  it('ships no chunk that nothing in it imports (esbuild emits the target of an import() that tree shaking dropped)', async () => {
    const { outdir, metafile } = await bundle(DEAD_IMPORT);
    const files = readdirSync(outdir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => relative(outdir, join(d.parentPath, d.name)));

    expect(Object.keys(metafile.inputs)).toContain('test/support/dead-import/target.ts');
    expect(files).toEqual([ENTRY_FILE]);
    expect(Object.keys(metafile.outputs).map((p) => relative(outdir, p))).toEqual([ENTRY_FILE]);
  });

  it('fails a build that esbuild cannot finish, naming the entry and esbuild\'s error (built without blocking, as above)', async () => {
    const build = buildFunctionBundleAsync({ entry: 'functions/handlers/no-such.handler.ts', target: 'node20' }, tempDir());

    await expect(build).rejects.toThrow(/esbuild failed for functions\/handlers\/no-such\.handler\.ts: [\s\S]*Could not resolve/);
  });

  it('ships, in every function, only files that another file of it imports', async () => {
    for (const name of ['snapshots', 'batches', 'audit'] as const) {
      const { outdir } = await built(name);
      const files = readdirSync(outdir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => relative(outdir, join(d.parentPath, d.name)));
      const texts = files.map((f) => readFileSync(join(outdir, f), 'utf8'));
      for (const file of files.filter((f) => f !== ENTRY_FILE)) expect(texts.some((text) => text.includes(`/${file.split('/').pop() ?? file}"`)), `${name}: ${file}`).toBe(true);
    }
  });
});

describe('the SDK transforms of the build', { timeout: 120_000 }, () => {
  it('reads nothing of an SDK package.json but its version, so the build hands the packages name and version only', () => {
    const files = readdirSync('node_modules/@aws-sdk', { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith('.js') && /[\\/]dist-es([\\/]|$)/.test(d.parentPath))
      .map((d) => join(d.parentPath, d.name));
    let imports = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/^import (\w+) from "(?:\.\.\/)+package\.json";$/gm)) {
        imports += 1;
        const uses = [...text.matchAll(new RegExp(`\\b${m[1] ?? ''}\\b(.?\\w*)`, 'g'))].map((u) => u[1]).slice(1);
        expect(uses.every((use) => use === '.version'), `${file}: ${uses.join(', ')}`).toBe(true);
      }
    }
    expect(imports).toBeGreaterThan(5);
  });

  it('leaves the sketch library\'s never-loaded protobuf definitions out, and the statistics as they were', async () => {
    const { outdir, metafile } = await bundle(SKETCH);

    const run = spawnSync(process.execPath, [join(outdir, ENTRY_FILE)], { encoding: 'utf8' });

    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(JSON.stringify(sketchFigures())));
    expect(Object.keys(metafile.inputs).some((p) => p.includes('sketches-js/dist/ddsketch/proto/'))).toBe(false);
    for (const name of Object.values(SKETCH_UNREACHABLE_MODULES).flat()) expect(Object.keys(metafile.inputs).some((p) => p.endsWith(`/${name}.js`)), name).toBe(false);
  });

  it('leaves out the sketch library\'s modules no function can reach: each is referred to only where a function cannot get', () => {
    const dist = 'node_modules/@datadog/sketches-js/dist/ddsketch';
    const names = Object.values(SKETCH_UNREACHABLE_MODULES).flat();
    const mentioning = readdirSync(dist, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith('.js'))
      .map((d) => relative(dist, join(d.parentPath, d.name)))
      .filter((f) => names.some((n) => readFileSync(join(dist, f), 'utf8').includes(n)))
      .sort();
    const keyMapping = readFileSync(join(dist, 'mapping/KeyMapping.js'), 'utf8');
    const fromProto = /KeyMapping\.fromProto = function[\s\S]*?\n {4}\};/.exec(keyMapping)?.[0] ?? '';
    const sketch = readFileSync(join(dist, 'DDSketch.js'), 'utf8');
    const highestSketch = /var LogCollapsingHighestDenseDDSketch = [\s\S]*?\nexports\.LogCollapsingHighestDenseDDSketch = LogCollapsingHighestDenseDDSketch;/.exec(sketch)?.[0] ?? '';
    const sketchImports = readdirSync('functions', { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && d.name.endsWith('.ts'))
      .flatMap((d) => [...readFileSync(join(d.parentPath, d.name), 'utf8').matchAll(/import\s*\{([^}]*)\}\s*from\s*'@datadog\/sketches-js[^']*'/g)].flatMap((m) => (m[1] ?? '').split(',').map((x) => x.trim())));

    // Beyond the modules themselves and the index files that name them:
    expect(mentioning).toEqual(['DDSketch.js', 'mapping/CubicallyInterpolatedMapping.js', 'mapping/KeyMapping.js', 'mapping/LinearlyInterpolatedMapping.js', 'mapping/index.js', 'store/CollapsingHighestDenseStore.js', 'store/index.js']);
    // the interpolated mappings only in fromProto, after the protobuf definitions it requires (not in any asset) ...
    expect(keyMapping.split(/LinearlyInterpolatedMapping|CubicallyInterpolatedMapping/).length - 1).toBe(fromProto.split(/LinearlyInterpolatedMapping|CubicallyInterpolatedMapping/).length - 1);
    expect(fromProto.indexOf("require('../proto/compiled')")).toBeGreaterThan(0);
    expect(fromProto.indexOf("require('../proto/compiled')")).toBeLessThan(fromProto.indexOf('LinearlyInterpolatedMapping'));
    // ... and the highest-collapsing store only in the sketch class the functions do not import.
    expect(sketch.split('CollapsingHighestDenseStore').length).toBe(highestSketch.split('CollapsingHighestDenseStore').length);
    expect(new Set(sketchImports)).toEqual(new Set(['LogCollapsingLowestDenseDDSketch']));
    for (const [file, dropped] of Object.entries(SKETCH_UNREACHABLE_MODULES)) expect(withoutSketchModules(readFileSync(join(dist, file), 'utf8'), dropped), file).toBeDefined();
  });

  it('writes every installed client\'s error classes as calls that make the same classes: statics, own properties in order, prototypes, instanceof', async () => {
    const clients = readdirSync('node_modules/@aws-sdk').filter((d) => d.startsWith('client-'));
    const files = clients.map((c) => join(process.cwd(), 'node_modules/@aws-sdk', c, 'dist-es/models/errors.js'));
    const dir = tempDir();
    const entry = join(dir, 'entry.mjs');
    writeFileSync(
      entry,
      [
        ...files.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};`),
        `const modules = [${files.map((_f, i) => `m${i}`).join(', ')}];`,
        // Every field the constructor copies reads `opts[field]`: a proxy answers each with its name.
        `const opts = () => new Proxy({ message: 'm', $metadata: { httpStatusCode: 400 } }, { get: (t, k) => (k in t ? t[k] : typeof k === 'string' ? 'value of ' + k : undefined) });`,
        `const flags = (d) => [d.writable, d.enumerable, d.configurable, typeof d.value === 'function' || (typeof d.value === 'object' && d.value !== null && !Array.isArray(d.value) && Object.keys(d.value).length > 0 && k !== '$retryable') ? typeof d.value : d.value];`,
        `var k;`,
        `const describe = (C) => {`,
        `  const a = new C(opts()), b = new C(opts());`,
        `  const own = Reflect.ownKeys(a).filter((key) => key !== 'stack').map((key) => { k = key; return [String(key), flags(Object.getOwnPropertyDescriptor(a, key))]; });`,
        `  const statics = Object.getOwnPropertyNames(C).map((key) => { k = key; const d = Object.getOwnPropertyDescriptor(C, key); return [key, key === 'prototype' ? [d.writable, d.enumerable, d.configurable] : flags(d)]; });`,
        `  const base = Object.getPrototypeOf(C);`,
        `  return { name: C.name, length: C.length, statics, own, protoKeys: Reflect.ownKeys(C.prototype), ofSelf: a instanceof C, ofBase: a instanceof base, ofError: a instanceof Error, baseOfSelf: new base({ name: C.name, $fault: 'client', $metadata: {} }) instanceof C, freshRetryable: a.$retryable === undefined || a.$retryable !== b.$retryable };`,
        `};`,
        `const out = modules.map((m) => Object.entries(m).map(([name, C]) => [name, describe(C)]));`,
        `process.stdout.write(JSON.stringify(out));`,
      ].join('\n'),
    );
    const run = async (plugins: typeof sdkErrorClassesPlugin[], outfile: string) => {
      // keepNames: esbuild renames classes whose names collide across modules (ValidationException).
      await esbuild({ entryPoints: [entry], outfile, bundle: true, keepNames: true, platform: 'node', format: 'esm', mainFields: ['module', 'main'], plugins, logLevel: 'error' });
      return spawnSync(process.execPath, [outfile], { encoding: 'utf8' });
    };

    const [ours, theirs] = [await run([sdkErrorClassesPlugin], join(dir, 'ours.mjs')), await run([], join(dir, 'theirs.mjs'))];

    expect(clients.length).toBeGreaterThanOrEqual(8);
    for (const file of files) expect(compactErrorClasses(readFileSync(file, 'utf8')), file).toBeDefined();
    expect(ours.status, ours.stderr).toBe(0);
    expect(theirs.status, theirs.stderr).toBe(0);
    const described = JSON.parse(ours.stdout) as [string, { ofSelf: boolean; own: [string, unknown[]][] }][][];
    expect(described.flat().length).toBeGreaterThan(200);
    expect(described.flat().every(([, d]) => d.ofSelf)).toBe(true);
    expect(ours.stdout).toBe(theirs.stdout);
    expect(readFileSync(join(dir, 'ours.mjs'), 'utf8').length).toBeLessThan(0.8 * readFileSync(join(dir, 'theirs.mjs'), 'utf8').length);
  });

  it('leaves an errors module that is not exactly in the generated shape as it is', () => {
    const generated = readFileSync('node_modules/@aws-sdk/client-lambda/dist-es/models/errors.js', 'utf8');

    expect(compactErrorClasses(generated)).toContain('const namespace = "com.amazonaws.lambda";');
    expect(compactErrorClasses(generated)).toContain('export const TooManyRequestsException = /* @__PURE__ */ errorClass(__BaseException, namespace, "TooManyRequestsException", 0, ["retryAfterSeconds","Type","Reason"]);');
    expect(compactErrorClasses(generated.replace('this.Reason = opts.Reason;', 'this.Reason = opts.Reason ?? "x";'))).toBeUndefined();
    expect(compactErrorClasses(`${generated}export const extra = 1;\n`)).toBeUndefined();
  });

  it('rewrites computed keys that name a string constant of the module, and nothing else', () => {
    const source = ['const _h = "http";', 'const _e = "error";', 'let _x = "no";', 'export var A$ = [9, n0, { [_h]: ["POST", "/"], [_e]: _c, [_x]: 1, [other]: 2 }];', 'const s = "[_h]: in a string";'].join('\n');

    expect(literalSchemaKeys(source).split('\n')[3]).toBe('export var A$ = [9, n0, { "http": ["POST", "/"], "error": _c, [_x]: 1, [other]: 2 }];');
  });

  it('leaves what the clients send and what they make of the answers as they were (credentials from the environment included, service errors as their classes), and drops the schemas no command uses', async () => {
    const plain = tempDir();
    // The same options without the build's plugins and clean-up.
    const plainMeta = (await esbuild(functionBundleOptions(SDK_WIRE, plain))).metafile;
    const { outdir: transformed, metafile: transformedMeta } = await bundle(SDK_WIRE);
    const env = { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_ACCESS_KEY_ID: 'AKIDFROMENV', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'session' };
    const run = (dir: string) => spawnSync(process.execPath, [join(dir, ENTRY_FILE)], { encoding: 'utf8', env });

    const [ours, theirs] = [run(transformed), run(plain)];

    expect(ours.status, ours.stderr).toBe(0);
    expect(theirs.status, theirs.stderr).toBe(0);
    const printed = JSON.parse(ours.stdout) as { requests: unknown[]; results: unknown[] };
    expect(printed.requests).toHaveLength(20);
    expect(printed.requests.at(12)).toMatchObject({ signedBy: 'AKIDFROMENV', headers: { 'x-amz-security-token': 'session' } });
    expect(JSON.stringify(printed.results)).toContain('"name":"NoSuchKey"');
    // Service errors arrive with their names, classes and modelled fields (Lambda, Bedrock, DynamoDB, Secrets Manager).
    const errors = (printed.results as { error?: { name: string; own: Record<string, unknown>; classes: Record<string, boolean> } }[]).slice(13).map((r) => r.error);
    expect(errors.map((e) => e?.name)).toEqual(['TooManyRequestsException', 'ThrottlingException', 'ModelErrorException', 'ConditionalCheckFailedException', 'ReplicatedWriteConflictException', 'ResourceNotFoundException', 'SomeFutureException']);
    expect(errors[0]).toMatchObject({ own: { retryAfterSeconds: '7', Reason: 'ConcurrentInvocationLimitExceeded' }, classes: { TooManyRequestsException: true, LambdaServiceException: true, LambdaResourceNotFound: false } });
    expect(errors[1]?.classes).toMatchObject({ ThrottlingException: true, BedrockRuntimeServiceException: true, ModelErrorException: false });
    expect(errors[3]).toMatchObject({ own: { Item: { pk: { S: 'SNAP#1' } } }, classes: { ConditionalCheckFailedException: true, DynamoDBServiceException: true } });
    expect(errors[4]).toMatchObject({ retryable: {}, classes: { ReplicatedWriteConflictException: true } });
    expect(errors[5]?.classes).toMatchObject({ SecretNotFound: true, LambdaResourceNotFound: false });
    expect(errors[6]?.classes).toMatchObject({ LambdaServiceException: true, TooManyRequestsException: false });
    expect(ours.stdout).toBe(theirs.stdout);
    if (plainMeta === undefined) throw new Error('no metafile');
    expect(bundleWeight(transformedMeta, transformed).totalBytes).toBeLessThan(0.85 * bundleWeight(plainMeta, plain).totalBytes);
  });
});

describe('a built function', { timeout: 120_000 }, () => {
  it('loads a chunk when a request first needs it: validation refuses a bad Regex pattern with RE2 loaded from its chunk', async () => {
    const { outdir } = await built('validation');
    const event = apiEvent('PUT /policies/{name}', '/policies/p', { pathParameters: { name: 'p' }, body: { rules: [{ name: 'rx', field: 'outputs.a', comparator: 'Regex', pattern: '(x+)\\1' }] } });
    // A process of its own, as on Lambda: only the asset directory, no node_modules next to it
    // (the script that calls the handler sits apart, and the asset stays as built for other tests).
    const invoke = join(tempDir(), 'invoke.mjs');
    writeFileSync(invoke, `const { handler } = await import(${JSON.stringify(pathToFileURL(join(outdir, ENTRY_FILE)).href)}); process.stdout.write(JSON.stringify(await handler(${JSON.stringify(event)})));`);
    const run = spawnSync(process.execPath, [invoke], {
      cwd: outdir,
      env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', TABLE_NAME: 'unused', SIMILARITY_PROVIDER: 'lexical', CURSOR_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:c' },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const response = JSON.parse(run.stdout) as { statusCode: number; body: string };
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('invalid regular expression for the linear-time (RE2) engine');
  });
});

describe('the stack', { timeout: 120_000 }, () => {
  it('deploys, per function, exactly the directory lib/function-bundle.ts builds for it', async () => {
    const app = new App({ outdir: tempDir(), context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, 'Bundles');
    const names = DEPLOYED;
    const fns = names.map(
      (name) =>
        new DecisionFunction(stack, name, {
          entry: join(process.cwd(), `functions/handlers/${name}.handler.ts`),
          name,
          kind: 'api',
          define: optionalClientDefines(lambdaSpec(name), DEFAULTS),
        }),
    );
    const assembly = app.synth();
    const template = assembly.getStackByName('Bundles').template as { Resources: Record<string, { Type: string; Metadata?: Record<string, string>; Properties: { Handler?: string } }> };
    const lambdas = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(lambdas).toHaveLength(2);
    const assetDirs = lambdas.map((r) => join(assembly.directory, r.Metadata?.['aws:asset:path'] ?? ''));
    expect(new Set(assetDirs).size).toBe(2);

    for (const [i, name] of names.entries()) {
      const resource = template.Resources[stack.getLogicalId(fns[i]?.node.defaultChild as CfnResource)];
      const deployed = join(assembly.directory, resource?.Metadata?.['aws:asset:path'] ?? 'missing');
      // Built apart from the synth (lib/function-bundle.ts, without blocking, with the stack's target).
      const { outdir: expected } = await bundle(functionOptions(name, DEFAULTS, 'node24'));
      const files = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => relative(dir, join(d.parentPath, d.name))).sort();
      expect(files(deployed), name).toEqual(files(expected));
      expect(files(deployed)).toContain(ENTRY_FILE);
      for (const f of files(expected)) expect(readFileSync(join(deployed, f)).equals(readFileSync(join(expected, f))), `${name}/${f}`).toBe(true);
    }
    for (const r of lambdas) expect(r.Properties.Handler).toBe('index.handler');
  });
});
