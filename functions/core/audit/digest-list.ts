/**
 * The wire shapes of `GET /audit/digests`: each stored digest with its signature, and the
 * digester's chain head. Here in the core, beside nothing that handles HTTP, because the client
 * package ships their types: its declarations must not reach into the API's handler code (whose
 * types import `aws-lambda`, a package its users do not have).
 */
import * as z from 'zod/mini';

/** One stored digest as `GET /audit/digests` lists it: its exact bytes, its signature (base64). */
export const StoredDigestSchema = z.strictObject({
  windowStart: z.string(),
  /** The digest's exact bytes (UTF-8 canonical JSON): what the signature covers. */
  digest: z.string(),
  /** DER-encoded ECDSA P-256 signature over SHA-256 of `digest`, base64. */
  signature: z.nullable(z.string()),
  manifestObject: z.nullable(z.string()),
});
export type StoredDigest = z.infer<typeof StoredDigestSchema>;

/** The digester's chain head: the first and the newest window it sealed, and that digest's SHA-256. */
export const ChainHeadSchema = z.strictObject({
  chainStart: z.string(),
  windowStart: z.string(),
  windowEnd: z.string(),
  digestHash: z.string(),
});

export const StoredDigestListSchema = z.strictObject({
  items: z.array(StoredDigestSchema),
  /** Minutes per window (`digestIntervalMinutes`): what a verifier needs to walk the windows. */
  intervalMinutes: z.int(),
  /**
   * Where the digester's chain has got to, kept apart from the digests (absent before the first
   * digest): a verifier outside the service checks every window from its chainStart on, so digests
   * removed from the store are named even when none is left around them.
   */
  chainHead: z.optional(ChainHeadSchema),
});
