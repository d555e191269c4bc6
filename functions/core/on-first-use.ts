/**
 * A value built on first use and shared by every later use; a build that fails is retried by the
 * next use, not cached. Used for code some requests need only, loaded through `import()` so that it
 * is a chunk of its own in the Lambda bundle (lib/function-bundle.ts) instead of code every cold
 * start compiles (SDK clients, RE2, the JSON Schema validator), and for the cursor secret.
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
