/**
 * The Lambda executor and its client, as one module: both load with the first replay that runs a
 * `lambda` executor. One `import()` target rather than one per module, because esbuild makes a
 * chunk of every distinct set of import() targets that share code, and each chunk a cold start
 * loads is a module of its own to read, compile and link (lib/function-bundle.ts).
 */
export { createLambdaClient } from './lambda-client.js';
export { LambdaExecutor } from '../executors/lambda-executor.js';
