/**
 * The digest signer on AWS: an asymmetric KMS key (ECC_NIST_P256, ECDSA_SHA_256). The message is
 * hashed here and sent as a DIGEST (KMS's RAW form takes at most 4 KB); KMS answers a DER-encoded
 * ECDSA signature over that SHA-256 — verifiable with the public key alone, by openssl or node:crypto.
 */
import { createHash } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { DigestSigner } from '../../core/audit/ports.js';

export class KmsDigestSigner implements DigestSigner {
  private pem: Promise<string> | undefined;

  constructor(
    private readonly kms: KMSClient,
    private readonly keyId: string,
  ) {}

  async sign(bytes: Buffer): Promise<Buffer> {
    const res = await this.kms.send(
      new SignCommand({ KeyId: this.keyId, Message: createHash('sha256').update(bytes).digest(), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }),
    );
    if (!res.Signature) throw new Error(`KMS returned no signature for key ${this.keyId}`);
    return Buffer.from(res.Signature);
  }

  /** The key's public half, read once per container. */
  publicKeyPem(): Promise<string> {
    this.pem ??= this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyId })).then((res) => {
      if (!res.PublicKey) throw new Error(`KMS returned no public key for ${this.keyId}`);
      const b64 = Buffer.from(res.PublicKey).toString('base64');
      return `-----BEGIN PUBLIC KEY-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END PUBLIC KEY-----\n`;
    });
    this.pem.catch(() => {
      this.pem = undefined;
    });
    return this.pem;
  }
}
