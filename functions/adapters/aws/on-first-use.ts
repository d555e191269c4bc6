/**
 * A value built on first use and shared by every later use: for adapters whose SDK client a
 * function needs on some requests only, loaded through `import()` so that it is a chunk of its own
 * in the Lambda bundle (lib/function-bundle.ts) instead of code every cold start compiles. A build
 * that fails (it cannot, short of a broken deployment) is retried by the next use, not cached.
 */
export function onFirstUse<T>(build: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= build().catch((err: unknown) => {
      value = undefined;
      throw err;
    });
    return value;
  };
}
