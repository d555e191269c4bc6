/**
 * The local host's digest signer: a P-256 key pair generated on first start into
 * `DATA_DIR/audit/keys/` (private key mode 0600), or one per process in memory. It signs exactly
 * as AWS KMS does with ECDSA_SHA_256: a DER-encoded ECDSA signature over SHA-256 of the message.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DigestSigner } from '../../core/audit/ports.js';

export const PRIVATE_KEY_FILE = 'signing-key.pem';
export const PUBLIC_KEY_FILE = 'public-key.pem';

export class LocalDigestSigner implements DigestSigner {
  private constructor(
    private readonly privateKey: KeyObject,
    private readonly publicPem: string,
  ) {}

  /** A fresh key pair held in memory only. */
  static inMemory(): LocalDigestSigner {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    return new LocalDigestSigner(privateKey, publicKey.export({ type: 'spki', format: 'pem' }).toString());
  }

  /** The key pair in `dir`, generated there (private key 0600) on first use. */
  static inDirectory(dir: string): LocalDigestSigner {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const privatePath = join(dir, PRIVATE_KEY_FILE);
    if (!existsSync(privatePath)) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      writeFileSync(join(dir, PUBLIC_KEY_FILE), publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
    }
    chmodSync(privatePath, 0o600);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(readFileSync(privatePath));
    } catch (err) {
      // Not replaced: the digests sealed so far were signed with it.
      throw new Error(`${privatePath} does not hold the audit signing key (a PEM private key): ${(err as Error).message}`, { cause: err });
    }
    return new LocalDigestSigner(privateKey, createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString());
  }

  async sign(bytes: Buffer): Promise<Buffer> {
    return sign('sha256', bytes, { key: this.privateKey, dsaEncoding: 'der' });
  }

  async publicKeyPem(): Promise<string> {
    return this.publicPem;
  }
}
