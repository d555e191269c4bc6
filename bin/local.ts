/**
 * `npm start`: decision-replay on one machine, no AWS account needed.
 *
 *   PORT (3000)  DYNAMODB_PORT (8000)  S3_PORT (4568)  DATA_DIR (.data)  TABLE_NAME (decision-replay)
 *   MANIFEST_BUCKET (decision-replay-manifests)
 *   DYNAMODB_TRANSPORT (direct): how the host's own client reaches dynalite, `direct` or `socket`
 *   --in-memory  keep nothing on disk
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { startLocalHost } = await import('../functions/local/host.js');
const { existsSync, readFileSync, statSync } = await import('node:fs');
const { parseConfig } = await import('../lib/config.js');
const { logLine } = await import('../functions/local/log-line.js');

/** The same schedules the CDK app deploys: cdk.json's context, validated by the same schema. */
function loadAppConfig() {
  const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as { context?: Record<string, unknown> };
  try {
    return parseConfig(cdkJson.context ?? {});
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  // Digits only: Number() would also take ' 80', '1e3' or '0x10' and listen somewhere unexpected.
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`${name} must be a port number (0-65535), got '${raw}'`);
    process.exit(2);
  }
  return n;
}

/**
 * The ports fetch (Node's, and every browser's) refuses to connect to: the Fetch standard's "bad
 * ports". An API there could be reached by neither the CLI, the SDK, the demo executor nor a report
 * opened in a browser.
 */
const FETCH_BAD_PORTS = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161,
  179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060,
  5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

function apiPort(): number {
  const n = port('PORT', 3000);
  if (FETCH_BAD_PORTS.has(n)) {
    console.error(`PORT ${n} is one fetch and browsers refuse to connect to (a "bad port" of the Fetch standard): the CLI, the SDK and the reports could not reach the API there; pick another`);
    process.exit(2);
  }
  return n;
}

const args = process.argv.slice(2);
for (const a of args) {
  if (a !== '--in-memory') {
    console.error(`unknown option ${a}; usage: npm start [-- --in-memory]`);
    process.exit(2);
  }
}
const inMemory = args.includes('--in-memory');
const dataDir = inMemory ? undefined : (process.env.DATA_DIR || '.data');
if (dataDir !== undefined && existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
  console.error(`DATA_DIR must be a folder, got '${dataDir}', which is a file`);
  process.exit(2);
}
if (dataDir !== undefined) {
  // Made here, so that a folder that cannot be made is named (Node's recursive mkdir, which the
  // host's stores use under it, would spin without end on one under /proc).
  const { makeDirectory } = await import('../functions/adapters/make-directory.js');
  try {
    await makeDirectory(dataDir);
  } catch (err) {
    console.error(`DATA_DIR '${dataDir}' cannot be created: ${(err as Error).message}`);
    process.exit(2);
  }
}

const tableName = process.env.TABLE_NAME || 'decision-replay';
if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(tableName)) {
  console.error(`TABLE_NAME must be 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.', got '${tableName}'`);
  process.exit(2);
}

// S3's bucket naming rules: the local bucket takes any name, a deployed one would not.
const { S3_BUCKET_NAME } = await import('../functions/core/id-manifest.js');
const manifestBucket = process.env.MANIFEST_BUCKET || 'decision-replay-manifests';
if (!S3_BUCKET_NAME.test(manifestBucket) || manifestBucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(manifestBucket)) {
  console.error(`MANIFEST_BUCKET must be an S3 bucket name (3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit, not an IP address), got '${manifestBucket}'`);
  process.exit(2);
}

// The two settings the functions read themselves: checked here too, so that a bad value is a
// setting named before anything starts (exit 2) rather than a failed start. Empty means unset, as
// for every other setting.
const { SIMILARITY_PROVIDERS } = await import('../functions/adapters/similarity-provider.js');
for (const [name, allowed] of [
  ['SIMILARITY_PROVIDER', SIMILARITY_PROVIDERS],
  ['EXECUTOR_ALLOW_PRIVATE_NETWORKS', ['true', 'false']],
] as const) {
  const value = process.env[name];
  if (value === '') delete process.env[name];
  else if (value !== undefined && !(allowed as readonly string[]).includes(value)) {
    console.error(`${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got '${value}'`);
    process.exit(2);
  }
}

const transport = process.env.DYNAMODB_TRANSPORT || 'direct';
if (transport !== 'direct' && transport !== 'socket') {
  console.error(`DYNAMODB_TRANSPORT must be 'direct' or 'socket', got '${transport}'`);
  process.exit(2);
}

const appConfig = loadAppConfig();
let host: Awaited<ReturnType<typeof startLocalHost>>;
try {
  host = await startLocalHost({
    port: apiPort(),
    dynamoPort: port('DYNAMODB_PORT', 8000),
    s3Port: port('S3_PORT', 4568),
    manifestBucket,
    tableName,
    dynamoTransport: transport,
    schedules: appConfig.schedules,
    idManifestBuckets: appConfig.idManifestBuckets,
    digestIntervalMinutes: appConfig.digestIntervalMinutes,
    // Within the 10 s a shutdown gets below, so a part that hangs is named before the exit.
    closeTimeoutMs: 3_000,
    // The functions' log calls, one line each with their fields (replayId, status, codes, …).
    logger: {
      info: (message: string, ...extra: unknown[]) => console.log(logLine(message, extra)),
      warn: (message: string, ...extra: unknown[]) => console.error(logLine(message, extra)),
      error: (message: string, ...extra: unknown[]) => console.error(logLine(message, extra)),
    },
    ...(dataDir !== undefined && { dataDir }),
  });
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') console.error(`cannot start: port in use (${e.message}); set PORT / DYNAMODB_PORT / S3_PORT`);
  // One line saying what is wrong (each part names its file or setting), not a stack trace.
  else console.error(`cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
console.log(`DynamoDB API (dynalite) on ${host.dynamoEndpoint}, table ${host.tableName}, ${dataDir === undefined ? 'in memory' : `data in ${dataDir}/`}`);
console.log(`S3 API (s3rver) on ${host.s3Endpoint}, bucket ${host.manifestBucket}${appConfig.idManifestBuckets.length > 0 ? ` (+ ${appConfig.idManifestBuckets.join(', ')} for id manifests)` : ''}${dataDir === undefined ? ' (temporary folder, removed on exit)' : `, data in ${dataDir}/s3/`}`);
console.log(`decision-replay listening on ${host.url}`);

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  const timer = setTimeout(() => process.exit(1), 10_000);
  timer.unref();
  try {
    await host.close();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

// npm does not pass SIGTERM on to the script it runs: when `npm start` is stopped by its PID, this
// process is re-parented. Shut down then too, rather than keep the ports bound with no owner.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop('parent process exited');
}, 500).unref();
