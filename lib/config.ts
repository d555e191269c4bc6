/**
 * The deploy-time configuration of decision-replay, read from the CDK context (`cdk.json` or
 * `-c key=value`) and validated once at synth, so a typo fails `cdk synth` with a message that
 * names the key instead of producing a stack that misbehaves at run time.
 *
 * Full `zod` is fine here: lib/ runs in the CDK app, it is never bundled into a Lambda.
 */
import type { Node } from 'constructs';
import { z } from 'zod';
import { TITAN_EMBED_V2_MODEL_ID } from '../functions/adapters/bedrock/titan-model.js';
import { SIMILARITY_PROVIDERS } from '../functions/adapters/similarity-provider.js';
import { scheduledExecutionInput, type ScheduledExecutionInput } from '../functions/api/batch-tasks.js';
import { parseBatchRequest } from '../functions/core/batch.js';
import { SCHEDULE_NAME, SCHEDULE_NAME_RULE } from '../functions/core/schedule-name.js';
import { S3_BUCKET_NAME } from '../functions/core/id-manifest.js';
import { REPLAY_MODES } from '../functions/core/replay.js';
import { DomainError } from '../functions/core/errors.js';
import { scheduleExpressionProblem } from '../functions/local/scheduler.js';

/**
 * The embedding model behind `similarityProvider: "bedrock-titan"`, taken from the adapter that
 * calls it, so the IAM grant and the call cannot name different models.
 */
export const TITAN_EMBEDDING_MODEL_ID: string = TITAN_EMBED_V2_MODEL_ID;

/** Similarity providers (DESIGN §4), as the handlers accept them in SIMILARITY_PROVIDER. */
export { SIMILARITY_PROVIDERS };

/** Replay modes (DESIGN §5), as the replay engine defines them. */
export { REPLAY_MODES };

/**
 * EventBridge schedule expressions: `rate(1 day)`, `rate(15 minutes)`, `cron(0 3 * * ? *)`.
 * A rate needs a singular unit for 1 and a plural one otherwise (EventBridge rejects `rate(2 day)`).
 */
const RATE = /^rate\((?:1 (?:minute|hour|day)|(?:[2-9]|[1-9]\d+) (?:minutes|hours|days))\)$/;
const CRON = /^cron\((?:\S+ ){5}\S+\)$/;

const ScheduleSchema = z.strictObject({
  /** Unique, used in construct ids and as `scheduleName` in the execution input. */
  name: z.string().regex(SCHEDULE_NAME, SCHEDULE_NAME_RULE),
  schedule: z
    .string()
    .refine((s) => RATE.test(s) || CRON.test(s), 'must be "rate(<n> <unit>)" or "cron(<6 fields>)"')
    // Each cron field read as EventBridge reads it (the local scheduler's parser), so a bad field is
    // named at synth rather than refused by CloudFormation at deploy or misread by `npm start`.
    .superRefine((s, ctx) => {
      const problem = CRON.test(s) ? scheduleExpressionProblem(s) : undefined;
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
  selector: z.strictObject({
    functionName: z.string().min(1),
    /** The window ends when the schedule fires; the plan step resolves it then. */
    lastHours: z.number().int().positive().max(24 * 366),
  }),
  mode: z.enum(REPLAY_MODES).optional(),
  maxConcurrency: z.number().int().min(1).max(1000).optional(),
  policyName: z.string().min(1).optional(),
  tolerance: z.number().min(0).max(1).optional(),
});

/** One scheduled regression replay. */
export type ScheduleConfig = z.infer<typeof ScheduleSchema>;

/** The execution input for one configured schedule, as the plan step reads it. */
export const scheduledBatchInput = (schedule: ScheduleConfig): ScheduledExecutionInput => scheduledExecutionInput(schedule);

/**
 * The plan step parses a schedule's request with the same function `POST /batches` uses; running it
 * here turns a request it would reject at 3 a.m. (e.g. a tolerance with mode Strict) into a synth error.
 */
function checkScheduleRequests(schedules: readonly ScheduleConfig[], ctx: z.RefinementCtx): void {
  schedules.forEach((schedule, index) => {
    try {
      parseBatchRequest(scheduledBatchInput(schedule).request);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      ctx.addIssue({ code: 'custom', path: [index], message: `the batch request of "${schedule.name}" would be rejected when it fires: ${error.message}` });
    }
  });
}

/** Lambda function ARN, optionally qualified with a version or alias. */
const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9_$-]+)?$/;
/** A Bedrock model id (`amazon.titan-embed-text-v2:0`) or a full Bedrock ARN (inference profiles). */
const BEDROCK_MODEL = /^(?:arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d{0,12}:[a-z-]+\/\S+|[A-Za-z0-9][A-Za-z0-9._:-]{0,199})$/;

export const AppConfigSchema = z.strictObject({
  schedules: z
    .array(ScheduleSchema)
    .default([])
    .refine((list) => new Set(list.map((s) => s.name)).size === list.length, 'schedule names must be unique')
    .superRefine(checkScheduleRequests),
  similarityProvider: z.enum(SIMILARITY_PROVIDERS).default('lexical'),
  executorFunctionArns: z.array(z.string().regex(LAMBDA_ARN, 'must be a Lambda function ARN')).default([]),
  bedrockModelIds: z.array(z.string().regex(BEDROCK_MODEL, 'must be a Bedrock model id or ARN')).default([]),
  allowPrivateNetworkExecutors: z.boolean().default(false),
  /**
   * The name prefix of the Secrets Manager secrets executors' `secretHeaders` may name: the replaying
   * functions may read exactly `secret:<prefix>*` of this account and region. A "folder" ending in
   * `/`, never empty (an empty prefix would grant every secret of the account).
   */
  executorSecretNamePrefix: z
    .string()
    .regex(/^[A-Za-z0-9_+=.@-][A-Za-z0-9/_+=.@-]{0,254}\/$/, 'must be a secret name prefix ending in "/", e.g. "decision-replay/executors/"')
    .default('decision-replay/executors/'),
  throttling: z
    .strictObject({
      rateLimit: z.number().positive().max(10_000),
      burstLimit: z.number().int().positive().max(5_000),
    })
    .default({ rateLimit: 50, burstLimit: 100 }),
  /**
   * Ship source maps and apply them to stack traces (`--enable-source-maps`). Off by default: it
   * costs every cold start the parse of the whole map (lib/function-defaults.ts); turn it on to debug.
   */
  sourceMaps: z.boolean().default(false),
  /** Where alarm notifications go: an e-mail address subscribed to the alarm topic (optional). */
  alarmEmail: z.email('must be an e-mail address').optional(),
  /** Minutes per audit digest window; windows are aligned to the epoch, so it must divide a day. */
  digestIntervalMinutes: z
    .number()
    .int()
    .min(1)
    .max(1440)
    .refine((n) => 1440 % n === 0, 'must divide 1440 (windows are aligned to the day)')
    .default(60),
  /** Days each digest is locked in the audit bucket (Object Lock COMPLIANCE). EU AI Act Art. 12/19: at least six months. */
  auditRetentionDays: z.number().int().min(1).max(36_500).default(400),
  /**
   * Buckets (names, in this account or granting it read access) whose objects `POST /batches` may
   * name as `snapshotManifest`, besides `uploads/` of the stack's manifest bucket. The batches
   * function gets s3:GetObject on each bucket's objects and nothing else.
   */
  idManifestBuckets: z
    .array(z.string().regex(S3_BUCKET_NAME, 'must be an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)'))
    .default([])
    .refine((list) => new Set(list).size === list.length, 'bucket names must be unique'),
  /**
   * The name of the EventBridge bus `PolicyViolation` events go to, which your own rules are written
   * against. Bus names are unique per account and region: give another name to deploy a second copy
   * of the stack beside the first.
   */
  eventBusName: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,256}$/, 'must be 1-256 letters, digits, ".", "-" and "_"')
    .refine((name) => name !== 'default', 'must not be "default" (the account\'s default bus; violations get a bus of their own)')
    .default('decision-replay'),
  /** DynamoDB stream batches: 1..10,000 records (the event source mapping's limit). */
  streamBatchSize: z.number().int().min(1).max(10_000).default(100),
});

/** Validated configuration, defaults applied. */
export type AppConfig = z.infer<typeof AppConfigSchema>;

/** The context keys this app reads; anything else in the context belongs to the CDK. */
export const CONTEXT_KEYS = Object.keys(AppConfigSchema.shape) as ReadonlyArray<keyof AppConfig>;

/** Raised at synth for a context that does not validate; the message names every bad key. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/**
 * `-c key=value` on the command line always yields a string; `cdk.json` yields JSON values.
 * Accept both: a string that parses as JSON is used parsed, any other string stays a string.
 */
function fromContext(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Validates a plain object of context values (defaults applied). Throws {@link ConfigError}. */
export function parseConfig(raw: Record<string, unknown>): AppConfig {
  const input: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    if (raw[key] !== undefined) input[key] = fromContext(raw[key]);
  }
  const result = AppConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(`Invalid decision-replay context (cdk.json "context" or -c):\n${z.prettifyError(result.error)}`, {
      cause: result.error,
    });
  }
  return result.data;
}

/** Reads and validates this app's keys from a construct's context. Throws {@link ConfigError}. */
export function loadConfig(node: Node): AppConfig {
  const raw: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) raw[key] = node.tryGetContext(key);
  return parseConfig(raw);
}
