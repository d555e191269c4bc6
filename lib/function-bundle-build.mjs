// The esbuild build of a function's asset, with the plugins lib/function-bundle.ts needs. Plain
// JavaScript run as a process of its own: esbuild runs plugins only in its asynchronous API, and
// CDK's local bundling (lib/function-defaults.ts) is synchronous, so lib/function-bundle.ts runs
// this file with spawnSync. Given the build options as JSON on stdin, it builds and writes the
// metafile as JSON on stdout.
import { Buffer } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
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

/**
 * An esbuild filter matching exactly one of `names`: filters are regular expressions, and written
 * by hand they repeat the name they match (a `.` in it would match any character).
 *
 * @param {...string} names
 * @returns {RegExp}
 */
function exactly(...names) {
  return new RegExp(`^(?:${names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`);
}

/**
 * A plugin resolving every import of `modules` to `path`, a module of this repo that stands in for
 * them in a function's asset, except the imports `path` itself makes: a substitute that still needs
 * part of the module it replaces (lambda-token-provider.ts) reaches the real one, not itself.
 *
 * @param {{ name: string; modules: readonly string[]; path: string }} substitute
 * @returns {import('esbuild').Plugin}
 */
function substituteModule({ name, modules, path }) {
  return {
    name,
    setup(b) {
      b.onResolve({ filter: exactly(...modules) }, (args) => (args.importer === path ? undefined : { path }));
    },
  };
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
export const lambdaCredentialsPlugin = substituteModule({ name: 'lambda-credential-provider', modules: ['@aws-sdk/credential-provider-node'], path: LAMBDA_CREDENTIAL_PROVIDER });

/** The module the Bedrock Runtime client takes its bearer-token providers from on Lambda. */
export const LAMBDA_TOKEN_PROVIDER = fileURLToPath(new globalThis.URL('../functions/adapters/aws/lambda-token-provider.ts', import.meta.url));

/**
 * The Bedrock Runtime client's runtime configuration imports `@aws-sdk/token-providers` for bearer
 * auth; in a function's asset that import resolves to functions/adapters/aws/lambda-token-provider.ts
 * (which says why), and only that module's own import reaches the SDK's.
 *
 * @type {import('esbuild').Plugin}
 */
export const lambdaTokenProviderPlugin = substituteModule({ name: 'lambda-token-provider', modules: ['@aws-sdk/token-providers'], path: LAMBDA_TOKEN_PROVIDER });

/** The module the functions' SDK clients take their (unused) event stream configuration from on Lambda. */
export const LAMBDA_EVENT_STREAMS = fileURLToPath(new globalThis.URL('../functions/adapters/aws/lambda-event-streams.ts', import.meta.url));

/**
 * The Lambda, Bedrock Runtime and S3 clients build an event stream marshaller and payload handler
 * when constructed, though only commands with an event-stream member use them, and no command the
 * functions send has one; in a function's asset `@smithy/core/event-streams` and
 * `@aws-sdk/eventstream-handler-node` resolve to functions/adapters/aws/lambda-event-streams.ts,
 * which says why (and throws a named error if one is ever used). Resolved before the barrel
 * rewrite looks at them, so no import of the SDK's event stream files is left.
 *
 * @type {import('esbuild').Plugin}
 */
export const lambdaEventStreamsPlugin = substituteModule({
  name: 'lambda-event-streams',
  modules: ['@smithy/core/event-streams', '@aws-sdk/eventstream-handler-node'],
  path: LAMBDA_EVENT_STREAMS,
});

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

/**
 * Parts of @datadog/sketches-js (CommonJS, so esbuild keeps every module its index files require)
 * that no function can reach, each with the only code that refers to it:
 * - `LinearlyInterpolatedMapping`, `CubicallyInterpolatedMapping`: `KeyMapping.fromProto`, after
 *   it requires the protobuf definitions that are not in the asset ({@link sketchProtoPlugin}), so
 *   it fails before it gets there;
 * - `CollapsingHighestDenseStore`: `LogCollapsingHighestDenseDDSketch`, which the functions do not
 *   use (functions/core/stats.ts takes `LogCollapsingLowestDenseDDSketch`; a test keeps it so).
 * The index files name them as before, with a getter that throws a named error instead of the
 * module (5 KiB in every function that keeps statistics).
 *
 * @type {Record<string, readonly string[]>}
 */
export const SKETCH_UNREACHABLE_MODULES = {
  'mapping/index.js': ['LinearlyInterpolatedMapping', 'CubicallyInterpolatedMapping'],
  'store/index.js': ['CollapsingHighestDenseStore'],
};

/**
 * `source` (a CommonJS index: `var X_1 = require("./X");` then an `exports.X` getter on its own
 * line) with each of `names` no longer required: its getter throws. `undefined` when a name is not
 * in exactly that form.
 *
 * @param {string} source
 * @param {readonly string[]} names
 * @returns {string | undefined}
 */
export function withoutSketchModules(source, names) {
  let out = source;
  for (const name of names) {
    const req = `var ${name}_1 = require("./${name}");\n`;
    const getter = `Object.defineProperty(exports, "${name}", { enumerable: true, get: function () { return ${name}_1.${name}; } });`;
    if (out.split(req).length !== 2 || out.split(getter).length !== 2) return undefined;
    out = out
      .replace(req, '')
      .replace(getter, `Object.defineProperty(exports, "${name}", { enumerable: true, get: function () { throw new Error("${name} is not in this function bundle (no function can reach it: lib/function-bundle-build.mjs)"); } });`);
  }
  return out;
}

/**
 * Leaves {@link SKETCH_UNREACHABLE_MODULES} out of a function's asset (a change of the library's
 * form fails the build rather than keep them silently).
 *
 * @type {import('esbuild').Plugin}
 */
export const sketchUnreachablePlugin = {
  name: 'sketches-unreachable-modules',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]@datadog[\\/]sketches-js[\\/]dist[\\/]ddsketch[\\/](?:mapping|store)[\\/]index\.js$/ }, async (args) => {
      const key = Object.keys(SKETCH_UNREACHABLE_MODULES).find((k) => args.path.replaceAll('\\', '/').endsWith(`/ddsketch/${k}`));
      if (key === undefined) return undefined;
      const source = await readFile(args.path, 'utf8');
      const out = withoutSketchModules(source, SKETCH_UNREACHABLE_MODULES[key]);
      if (out === undefined) throw new Error(`${args.path} is no longer in the form lib/function-bundle-build.mjs expects`);
      return { contents: out, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * The AWS SDK's modules import from barrels (`@smithy/core/protocols`, `@smithy/node-http-handler`,
 * a client's `./commands`), modules that only re-export others. esbuild tree-shakes statements, but
 * it places whole files in chunks by which entries can reach them through imports, and a barrel
 * makes every file it re-exports reachable from every module that imports it. So a function's
 * start chunks carried code only its lazily loaded clients use: DynamoDB's runtime configuration
 * imports `NodeHttpHandler` from the barrel that also re-exports the HTTP/2 handler of Bedrock's,
 * and the protocol barrel holds the REST-JSON, REST-XML and Query protocols with DynamoDB's JSON
 * one. This rewrites each named import of an SDK module from a barrel into imports from the files
 * that define the names (what bundlers call optimizing package imports): the same bindings, and
 * the packages declare no side effects, so only which files are reachable from where changes. An
 * import whose names cannot all be traced to a defining file is left as it is.
 *
 * @type {import('esbuild').Plugin}
 */
export const sdkBarrelImportsPlugin = {
  name: 'sdk-barrel-imports',
  setup(b) {
    /** @type {Map<string, Promise<Map<string, { file: string; name: string }>>>} */
    const exportsCache = new Map();
    /** The names a module exports, each traced through re-exports to the file that defines it. */
    const exportsOf = (file) => {
      let cached = exportsCache.get(file);
      if (cached === undefined) {
        cached = traceExports(file);
        exportsCache.set(file, cached);
      }
      return cached;
    };
    const resolveFrom = async (spec, importer) => {
      const r = await b.resolve(spec, { kind: 'import-statement', resolveDir: dirname(importer) });
      return r.errors.length > 0 || r.external || !/\.m?js$/.test(r.path) ? undefined : r.path;
    };
    async function traceExports(file) {
      /** @type {Map<string, { file: string; name: string }>} */
      const names = new Map();
      let source;
      try {
        source = await readFile(file, 'utf8');
      } catch {
        return names;
      }
      for (const m of source.matchAll(/^export (?:const|let|var|function\*?|async function|class) ([A-Za-z_$][\w$]*)/gm)) names.set(m[1], { file, name: m[1] });
      for (const m of source.matchAll(/^export \{([^}]*)\} from "([^"]+)";$/gm)) {
        const target = await resolveFrom(m[2], file);
        if (target === undefined) continue;
        const targetNames = await exportsOf(target);
        for (const item of m[1].split(',').map((x) => x.trim()).filter(Boolean)) {
          const [original, exported = original] = item.split(/\s+as\s+/);
          names.set(exported, targetNames.get(original) ?? { file: target, name: original });
        }
      }
      for (const m of source.matchAll(/^export \* from "([^"]+)";$/gm)) {
        const target = await resolveFrom(m[1], file);
        if (target === undefined) continue;
        for (const [name, where] of await exportsOf(target)) if (!names.has(name) && name !== 'default') names.set(name, where);
      }
      return names;
    }
    b.onLoad({ filter: /[\\/]node_modules[\\/]@(?:aws-sdk|smithy)[\\/].+[\\/]dist-es[\\/].+\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const imports = [...source.matchAll(/^import \{([^}]*)\} from "([^"]+)";$/gm)];
      if (imports.length === 0) return undefined;
      let out = source;
      for (const m of imports) {
        const target = await resolveFrom(m[2], args.path);
        if (target === undefined) continue;
        const targetNames = await exportsOf(target);
        const items = m[1].split(',').map((x) => x.trim()).filter(Boolean).map((item) => {
          const [imported, local = imported] = item.split(/\s+as\s+/);
          return { imported, local, where: targetNames.get(imported) };
        });
        if (items.some((i) => i.where === undefined) || items.every((i) => i.where?.file === target)) continue;
        const rewritten = items.map((i) => `import { ${i.where.name} as ${i.local} } from ${JSON.stringify(i.where.file)};`).join(' ');
        out = out.replace(m[0], rewritten);
      }
      return out === source ? undefined : { contents: out, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/** The module {@link sdkErrorClassesPlugin} makes each client's error classes with. */
export const SDK_ERROR_CLASS_MODULE = 'decision-replay:sdk-error-class';

/**
 * The source of {@link SDK_ERROR_CLASS_MODULE}: `errorClass(Base, namespace, name, server, fields,
 * retryable)` is the class the SDK's code generator writes for one modelled error (`server`: 1
 * for a server fault, 0 for a client one; `retryable`: a function making the `$retryable` value,
 * or nothing),
 *
 *     export class Name extends Base {
 *         static shapeId = "namespace#Name";
 *         name = "Name";
 *         $fault = "client";
 *         $retryable = {};          (only some errors)
 *         Field1;
 *         constructor(opts) {
 *             super({ name: "Name", $fault: "client", ...opts });
 *             Object.setPrototypeOf(this, Name.prototype);
 *             this.Field1 = opts.Field1;
 *         }
 *     }
 *
 * made by one function: the same static `shapeId`, the same own properties defined in the same
 * order (class fields are defined, not assigned, hence `defineProperty`), a fresh `$retryable`
 * object per instance, and the class's `name` (which the SDK's `instanceof` falls back on).
 */
export const SDK_ERROR_CLASS_SOURCE = `const field = (o, k, value) => Object.defineProperty(o, k, { value, writable: true, enumerable: true, configurable: true });
export function errorClass(Base, namespace, name, server, fields, retryable) {
  const fault = server ? "server" : "client";
  const C = class extends Base {
    constructor(opts) {
      super({ name, $fault: fault, ...opts });
      field(this, "name", name);
      field(this, "$fault", fault);
      if (retryable) field(this, "$retryable", retryable());
      for (const f of fields) field(this, f, undefined);
      Object.setPrototypeOf(this, C.prototype);
      for (const f of fields) this[f] = opts[f];
    }
  };
  field(C, "shapeId", namespace + "#" + name);
  Object.defineProperty(C, "name", { value: name, configurable: true });
  return C;
}
`;

/**
 * `source` (a client's `models/errors.js`) with each generated error class written as one call of
 * {@link SDK_ERROR_CLASS_SOURCE}'s `errorClass`, or `undefined` when any part of the file is not
 * exactly the generated shape (then it is left as it is). The Lambda client's 56 classes are
 * ~17 KiB minified, each spelling its name three times, its namespace and its constructor in
 * full; as calls naming the file's one namespace once they are ~3 KiB.
 *
 * @param {string} source
 * @returns {string | undefined}
 */
export function compactErrorClasses(source) {
  const head = /^(import \{ \w+ as __BaseException \} from "[^"]+";\n)/.exec(source);
  if (head === null) return undefined;
  const classPattern =
    /export class (\w+) extends __BaseException \{\n {4}static shapeId = "([\w.]+)#\1";\n {4}name = "\1";\n {4}\$fault = "(client|server)";\n(?: {4}\$retryable = (\{[^\n]*\});\n)?((?: {4}\w+;\n)*) {4}constructor\(opts\) \{\n {8}super\(\{\n {12}name: "\1",\n {12}\$fault: "\3",\n {12}\.\.\.opts,\n {8}\}\);\n {8}Object\.setPrototypeOf\(this, \1\.prototype\);\n((?: {8}this\.\w+ = opts\.\w+;\n)*) {4}\}\n\}\n/y;
  const calls = [];
  /** @type {Set<string>} */
  const namespaces = new Set();
  classPattern.lastIndex = head[1].length;
  while (classPattern.lastIndex < source.length) {
    const m = classPattern.exec(source);
    if (m === null) return undefined;
    const [, name, namespace, fault, retryable, declared, assigned] = m;
    const fields = [...declared.matchAll(/^ {4}(\w+);$/gm)].map((f) => f[1]);
    const assignments = [...assigned.matchAll(/^ {8}this\.(\w+) = opts\.(\w+);$/gm)];
    if (assignments.length !== fields.length || assignments.some((a, i) => a[1] !== fields[i] || a[2] !== fields[i])) return undefined;
    namespaces.add(namespace);
    const args = [JSON.stringify(name), fault === 'server' ? '1' : '0', JSON.stringify(fields), ...(retryable === undefined ? [] : [`() => (${retryable})`])];
    calls.push(`export const ${name} = /* @__PURE__ */ errorClass(__BaseException, namespace, ${args.join(', ')});`);
  }
  // One namespace a file (the service's), written once.
  if (namespaces.size !== 1) return undefined;
  return `${head[1]}import { errorClass } from ${JSON.stringify(SDK_ERROR_CLASS_MODULE)};\nconst namespace = ${JSON.stringify([...namespaces][0])};\n${calls.join('\n')}\n`;
}

/**
 * Each AWS SDK client defines a class per modelled error (`models/errors.js`) and registers every
 * one, so that an error answer is thrown as its class with its modelled fields. A function's asset
 * keeps them all (the registry references them), and they are the largest part of the clients it
 * uses after their schemas: the Lambda client's 56 classes are 17 KiB for `Invoke`. The build
 * writes each generated class as one call of a shared function that makes the same class
 * ({@link SDK_ERROR_CLASS_SOURCE}); a file not exactly in the generated shape is left as it is.
 *
 * @type {import('esbuild').Plugin}
 */
export const sdkErrorClassesPlugin = {
  name: 'sdk-error-classes',
  setup(b) {
    b.onResolve({ filter: exactly(SDK_ERROR_CLASS_MODULE) }, (args) => ({ path: args.path, namespace: 'sdk-error-class' }));
    b.onLoad({ filter: /.*/, namespace: 'sdk-error-class' }, () => ({ contents: SDK_ERROR_CLASS_SOURCE, loader: 'js' }));
    b.onLoad({ filter: /[\\/]node_modules[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]models[\\/]errors\.js$/ }, async (args) => {
      const compact = compactErrorClasses(await readFile(args.path, 'utf8'));
      return compact === undefined ? undefined : { contents: compact, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/** The plugins every function's asset is built with. */
export const functionBundlePlugins = [sdkSchemaKeysPlugin, lambdaCredentialsPlugin, lambdaTokenProviderPlugin, lambdaEventStreamsPlugin, sdkPackageInfoPlugin, sketchProtoPlugin, sketchUnreachablePlugin, sdkErrorClassesPlugin, sdkBarrelImportsPlugin];

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
