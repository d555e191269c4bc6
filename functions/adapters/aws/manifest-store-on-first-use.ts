/**
 * Batch manifests in S3 for a function that needs them on some requests only. No static import of
 * the S3 client here: a module that imports it, even unused, keeps it in the code a cold start loads.
 */
import type { ManifestStoreFactory } from '../../handlers/clients.js';
import { onFirstUse } from '../../core/on-first-use.js';

/**
 * The manifest store of a function that needs it on some requests only: `batches` writes a manifest
 * when a batch is started and reads one when a request names a `snapshotManifest`, while most of
 * its calls read progress and results. The
 * S3 client, its commands and the store (~150 KiB of bundle: S3's schemas, checksums, XML) load on
 * the first write or read.
 */
export const awsManifestStoreOnFirstUse: ManifestStoreFactory = (bucket) => {
  const store = onFirstUse(async () => {
    const [{ createS3Client }, { S3ManifestStore }] = await Promise.all([import('../sdk/s3-client.js'), import('../s3/manifest-store.js')]);
    return new S3ManifestStore(createS3Client(), bucket);
  });
  return {
    write: async (key, ids) => (await store()).write(key, ids),
    async *read(ref) {
      yield* (await store()).read(ref);
    },
    async *readSource(loc, maxBytes) {
      yield* (await store()).readSource(loc, maxBytes);
    },
  };
};
