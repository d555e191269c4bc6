// The esbuild build of a function's asset, with the plugins lib/function-bundle.ts needs. Plain
// JavaScript run as a process of its own: esbuild runs plugins only in its asynchronous API, and
// CDK's local bundling (lib/function-defaults.ts) is synchronous, so lib/function-bundle.ts runs
// this file with spawnSync. Given the build options as JSON on stdin, it builds and writes the
// metafile as JSON on stdout.
import { Buffer } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/**
 * The AWS SDK's schema modules (`schemas/schemas_0.js` of each client) describe every operation
 * and structure of a service as array literals, with traits in object literals whose keys are
 * computed from module constants: `{ [_hH]: "x-amz-meta" }`, where `const _hH = "httpHeader";`.
 * esbuild cannot prove that a computed key has no side effect (a key's conversion to a string may
 * run code), so it keeps every such schema, and the strings it names, whether or not a command
 * uses it: the whole service model (S3: ~50 KiB, Lambda: ~45 KiB minified) ships for one command.
 * Replacing each computed key whose name is a string constant of the same module by that string
 * literal changes nothing at run time (the same property, with the same value) and lets esbuild
 * drop the schemas no command of the bundle reaches. Only keys naming a top-level
 * `const X = "...";` of the very file are rewritten; anything else is left as it is.
 *
 * @type {import('esbuild').Plugin}
 */
export const sdkSchemaKeysPlugin = {
  name: 'sdk-schema-literal-keys',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]@aws-sdk[\\/].+[\\/]schemas[\\/]schemas_\d+\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      return { contents: literalSchemaKeys(source), loader: 'js' };
    });
  },
};

/**
 * `source` with each computed object key `[name]:` whose `name` is a top-level string constant of
 * `source` (`const name = "…";` on a line of its own) replaced by that string literal.
 *
 * @param {string} source
 * @returns {string}
 */
export function literalSchemaKeys(source) {
  /** @type {Map<string, string>} */
  const strings = new Map();
  for (const m of source.matchAll(/^const ([A-Za-z_$][\w$]*) = ("(?:[^"\\\n]|\\.)*");$/gm)) strings.set(m[1], m[2]);
  return source.replace(/\[([A-Za-z_$][\w$]*)\]:/g, (key, name) => {
    const literal = strings.get(name);
    return literal === undefined ? key : `${literal}:`;
  });
}

/** The module the functions' SDK clients take their credentials from on Lambda. */
export const LAMBDA_CREDENTIAL_PROVIDER = fileURLToPath(new globalThis.URL('../functions/adapters/aws/lambda-credential-provider.ts', import.meta.url));

/**
 * Every AWS SDK client's runtime configuration imports the SDK's default credential chain
 * (`@aws-sdk/credential-provider-node`); in a function's asset that import resolves to
 * functions/adapters/aws/lambda-credential-provider.ts, which says why: on Lambda the chain's first
 * link (the environment) always answers, and its other links would be ~90 KiB of chunks no cold
 * start can load.
 *
 * @type {import('esbuild').Plugin}
 */
export const lambdaCredentialsPlugin = {
  name: 'lambda-credential-provider',
  setup(b) {
    b.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: LAMBDA_CREDENTIAL_PROVIDER }));
  },
};

/** The module the Bedrock Runtime client takes its bearer-token providers from on Lambda. */
export const LAMBDA_TOKEN_PROVIDER = fileURLToPath(new globalThis.URL('../functions/adapters/aws/lambda-token-provider.ts', import.meta.url));

/**
 * The Bedrock Runtime client's runtime configuration imports `@aws-sdk/token-providers` for bearer
 * auth; in a function's asset that import resolves to functions/adapters/aws/lambda-token-provider.ts
 * (which says why), and only that module's own import reaches the SDK's.
 *
 * @type {import('esbuild').Plugin}
 */
export const lambdaTokenProviderPlugin = {
  name: 'lambda-token-provider',
  setup(b) {
    b.onResolve({ filter: /^@aws-sdk\/token-providers$/ }, (args) => (args.importer === LAMBDA_TOKEN_PROVIDER ? undefined : { path: LAMBDA_TOKEN_PROVIDER }));
  },
};

/**
 * Each AWS SDK client imports its whole package.json to read one field, `version` (its user agent
 * names it): esbuild bundles the JSON as one object, description, scripts and dependency lists
 * included (2 – 4 KiB a client). The build hands those imports `name` and `version` only; the
 * packages' code reads nothing else of them (a test checks that).
 *
 * @type {import('esbuild').Plugin}
 */
export const sdkPackageInfoPlugin = {
  name: 'sdk-package-info',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/ }, async (args) => {
      const { name, version } = JSON.parse(await readFile(args.path, 'utf8'));
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

/**
 * @datadog/sketches-js requires its compiled protobuf definitions (10 KiB) only inside
 * `toProto` / `fromProto`, which this project never calls; that module in turn requires
 * `protobufjs`, which is not installed (lib/function-bundle.ts NEVER_LOADED_MODULES). Left out of
 * the asset like protobufjs: a call would fail the same way, on a module that is not there.
 *
 * @type {import('esbuild').Plugin}
 */
export const sketchProtoPlugin = {
  name: 'sketches-proto-never-loaded',
  setup(b) {
    b.onResolve({ filter: /^(\.\.?\/)+proto\/compiled$/ }, (args) =>
      /[\\/]node_modules[\\/]@datadog[\\/]sketches-js[\\/]/.test(args.importer) ? { path: '@datadog/sketches-js/dist/ddsketch/proto/compiled', external: true } : undefined,
    );
  },
};

/** The plugins every function's asset is built with. */
export const functionBundlePlugins = [sdkSchemaKeysPlugin, lambdaCredentialsPlugin, lambdaTokenProviderPlugin, sdkPackageInfoPlugin, sketchProtoPlugin];

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const options = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const result = await build({ ...options, plugins: functionBundlePlugins });
  process.stdout.write(JSON.stringify(result.metafile));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
