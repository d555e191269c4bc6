/**
 * A fixture of test/infra/function-bundle.test.ts: a module whose only `import()` sits in code
 * that tree shaking drops, as the AWS SDK's browser user-agent parser once did. esbuild still
 * emits the imported module as a chunk, which nothing can load.
 */
const _neverCalled = () => import('./target.js');

export const handler = async (): Promise<string> => 'ok';
