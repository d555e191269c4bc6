/**
 * One construct holding every Lambda default of the project, so the nine functions cannot drift
 * apart in runtime, architecture, bundling, logging or tracing.
 */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, Duration, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { LambdaSpec } from '../functions/api/manifest.js';
import { OPTIONAL_CLIENT_SWITCHES } from '../functions/adapters/optional-clients.js';
import { buildFunctionBundle, ENTRY_FILE, type FunctionBundleOptions } from './function-bundle.js';
import type { ILocalBundling } from 'aws-cdk-lib';

/** The project's root: esbuild resolves the handlers' imports from here. */
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The runtime every function runs on; its bundles target it. */
const RUNTIME = Runtime.NODEJS_24_X;

/** The Powertools service name of a function: its logs' `service` and its metrics' `service` dimension. */
export const serviceNameOf = (name: string): string => `decision-replay-${name}`;

/** What a function is for; sizes its memory and timeout. Mirrors `LAMBDAS[name].kind`. */
export type FunctionKind = 'api' | 'task' | 'stream';

/**
 * Memory and timeout per kind.
 * - api: below the HTTP API's 30 s integration timeout, so the function's own timeout fires (and is
 *   logged) before API Gateway gives up on it.
 * - task: a batch step replays one snapshot (executor call included) or reads a batch's results;
 *   kept well under the 5-minute limit of the EXPRESS child executions of the distributed Map.
 * - stream: one stream batch of snapshots, each checked against its policies.
 * 1,024 MB for tasks buys CPU for the stats sketch and the parallel executor calls.
 */
export const KIND_DEFAULTS: Readonly<Record<FunctionKind, { memorySize: number; timeout: Duration }>> = {
  api: { memorySize: 512, timeout: Duration.seconds(25) },
  task: { memorySize: 1024, timeout: Duration.minutes(2) },
  stream: { memorySize: 512, timeout: Duration.minutes(1) },
};

export { ESM_REQUIRE_BANNER, NEVER_LOADED_MODULES, stackEsbuildOptions } from './function-bundle.js';

/** What of the deployment's configuration decides which optional clients a bundle carries. */
export interface OptionalClientConfig {
  readonly executorFunctionArns: readonly string[];
  readonly bedrockModelIds: readonly string[];
  readonly similarityProvider: string;
}

/**
 * The esbuild `define`s that leave out of a function's bundle the AWS clients its deployment gives
 * it nothing to call with (functions/adapters/optional-clients.ts): the Lambda client without
 * `executorFunctionArns`, the Bedrock Runtime client without `bedrockModelIds` or Titan similarity.
 * The same configuration grants the IAM actions, so a bundled client is always one the role may use.
 */
export function optionalClientDefines(spec: Pick<LambdaSpec, 'executors' | 'similarity'>, config: OptionalClientConfig): Record<string, string> {
  const on = {
    lambdaExecutors: spec.executors && config.executorFunctionArns.length > 0,
    bedrockExecutors: spec.executors && config.bedrockModelIds.length > 0,
    bedrockSimilarity: spec.similarity && config.similarityProvider === 'bedrock-titan',
  };
  const defines: Record<string, string> = {};
  for (const [client, name] of Object.entries(OPTIONAL_CLIENT_SWITCHES)) {
    if (!on[client as keyof typeof on]) defines[`process.env.${name}`] = JSON.stringify('off');
  }
  return defines;
}

/**
 * Builds a function's asset on this machine (lib/function-bundle.ts). Its options are a field, not
 * only captured by `tryBundle`: CDK caches bundles by their serialized bundling options, and a
 * function would not tell one handler's build from another's.
 */
export class LocalFunctionBundler implements ILocalBundling {
  constructor(public readonly options: FunctionBundleOptions) {}

  tryBundle(outputDir: string): boolean {
    buildFunctionBundle({ ...this.options, entry: join(PROJECT_ROOT, this.options.entry) }, outputDir);
    return true;
  }
}

export interface DecisionFunctionProps {
  /** Entry file (`functions/handlers/<name>.handler.ts`); it exports `handler`. */
  readonly entry: string;
  /** Logical name from the manifest; also the Powertools service name suffix. */
  readonly name: string;
  readonly kind: FunctionKind;
  readonly description?: string;
  /** Extra environment; the defaults (service name, log level; source maps when on) are always set. */
  readonly environment?: Record<string, string>;
  /** Overrides the kind's memory (MB). */
  readonly memorySize?: number;
  /** Overrides the kind's timeout. */
  readonly timeout?: Duration;
  /** Powertools log level. Default INFO. */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Log retention. Default one month: operational logs; the audit trail is the table. */
  readonly logRetention?: RetentionDays;
  /** Build-time constants ({@link optionalClientDefines}). */
  readonly define?: Record<string, string>;
  /**
   * Source maps: emitted with the bundle and applied to stack traces (`--enable-source-maps`).
   * Default off: Node parses a bundle's whole map (~1.1 MB for 700 KB of code) when it loads it,
   * which cost +12 % CPU at every cold start here; stack traces then name minified functions.
   */
  readonly sourceMaps?: boolean;
}

/**
 * A Node.js Lambda with the project's defaults: current Node runtime on arm64, an ESM bundle with
 * code splitting built by the local esbuild (no Docker; lib/function-bundle.ts), minified, with the AWS SDK bundled (one tree-shaken bundle
 * imports faster than the runtime's SDK; AWS recommends it for cold starts, and the version that
 * runs is the one tested) but only the clients the deployment lets it call, source maps on request,
 * its own log group with retention (JSON log format), X-Ray tracing.
 *
 * The role is created here with only what the function itself needs (write to its own log group,
 * plus what CDK adds for tracing), instead of the AWSLambdaBasicExecutionRole managed policy, which
 * would allow writing to every log group in the account.
 */
export class DecisionFunction extends NodejsFunction {
  /** The build-time constants its bundle was built with (which optional clients it leaves out). */
  public readonly bundleDefines: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: DecisionFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the decision-replay ${props.name} function`,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const sizing = KIND_DEFAULTS[props.kind];

    const define = props.define ?? {};
    const sourceMaps = props.sourceMaps === true;
    super(scope, id, {
      // The asset is the directory lib/function-bundle.ts builds (entry + chunks), the very build the
      // bundles benchmark measures; NodejsFunction's own bundling writes one file and cannot split.
      code: Code.fromAsset(PROJECT_ROOT, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: {
          // Never used: local bundling always succeeds or throws (no Docker on this project's hosts).
          image: RUNTIME.bundlingImage,
          local: new LocalFunctionBundler({ entry: relative(PROJECT_ROOT, props.entry), define, target: 'node24', sourceMaps }),
        },
      }),
      handler: `${ENTRY_FILE.replace(/\.mjs$/, '')}.handler`,
      description: props.description,
      runtime: RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? sizing.memorySize,
      timeout: props.timeout ?? sizing.timeout,
      tracing: Tracing.ACTIVE,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      role,
      environment: {
        POWERTOOLS_SERVICE_NAME: serviceNameOf(props.name),
        LOG_LEVEL: props.logLevel ?? 'INFO',
        ...(sourceMaps && { NODE_OPTIONS: '--enable-source-maps' }),
        ...props.environment,
      },
    });

    this.bundleDefines = { ...props.define };

    // Tracing ACTIVE adds xray:PutTraceSegments/PutTelemetryRecords on "*" to this role: X-Ray has
    // no resource-level permissions, so "*" is the only possible resource for these two actions.
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) supports no resource-level permissions; ' +
        'test/infra asserts that every other statement of this role names its resources.',
    });
  }
}
