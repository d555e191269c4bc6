/**
 * The real local host as its own process, started with the node flags and script of `npm start`
 * (read from package.json), for benchmarks that measure it from outside: its memory, or its
 * latency against its own dynalite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** `npm start`'s node arguments (its script is `node <args>`). */
export function startArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = pkg.scripts.start.trim().split(/\s+/);
  if (command !== 'node') throw new Error(`npm start runs '${command ?? ''}', not node: the benchmarks cannot start it the same way`);
  return args;
}

export interface HostProcess {
  child: ChildProcess;
  pid: number;
  /** The host's HTTP API. */
  url: string;
  /** Its DynamoDB endpoint (dynalite). */
  dynamoEndpoint: string;
  tableName: string;
  stop(): Promise<void>;
}

/**
 * Starts the host on free ports. `dataDir` undefined: `--in-memory`. `nodeOptions`: extra node flags
 * (e.g. `--cpu-prof`); `env`: extra environment.
 */
export async function startHostProcess(options: { dataDir?: string; tableName: string; nodeOptions?: readonly string[]; env?: NodeJS.ProcessEnv }): Promise<HostProcess> {
  const args = [...(options.nodeOptions ?? []), ...startArgs(), ...(options.dataDir === undefined ? ['--in-memory'] : [])];
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...options.env, PORT: '0', DYNAMODB_PORT: '0', S3_PORT: '0', TABLE_NAME: options.tableName, ...(options.dataDir !== undefined && { DATA_DIR: options.dataDir }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[host] ${d.toString()}`));
  const { url, dynamoEndpoint } = await new Promise<{ url: string; dynamoEndpoint: string }>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const api = /decision-replay listening on (http:\/\/\S+)/.exec(out);
      const dynamo = /DynamoDB API \(dynalite\) on (http:\/\/[^\s,]+)/.exec(out);
      if (api?.[1] && dynamo?.[1]) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve({ url: api[1], dynamoEndpoint: dynamo[1] });
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`host exited with ${code} before listening: ${out}`)));
  });
  return {
    child,
    pid: child.pid as number,
    url,
    dynamoEndpoint,
    tableName: options.tableName,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
