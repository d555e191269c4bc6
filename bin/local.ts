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

const tableName = process.env.TABLE_NAME || 'decision-replay';
if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(tableName)) {
  console.error(`TABLE_NAME must be 3-255 characters of a-z, A-Z, 0-9, '_', '-' and '.', got '${tableName}'`);
  process.exit(2);
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
    port: port('PORT', 3000),
    dynamoPort: port('DYNAMODB_PORT', 8000),
    s3Port: port('S3_PORT', 4568),
    manifestBucket: process.env.MANIFEST_BUCKET || 'decision-replay-manifests',
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
