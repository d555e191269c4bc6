/**
 * The AWS adapters of the audit seal, with the SDK mocked (aws-sdk-client-mock): what the KMS
 * signer and the S3 audit store send, how they read the answers, and how they fail.
 */
import { createHash, createPublicKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, KMSInvalidStateException, SignCommand } from '@aws-sdk/client-kms';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { KmsDigestSigner } from '../../functions/adapters/audit/kms-signer.js';
import { S3AuditStore } from '../../functions/adapters/audit/s3-audit-store.js';
import { verifyDigestSignature } from '../../functions/core/audit/digest.js';
import { AuditObjectExistsError } from '../../functions/core/audit/ports.js';

const LOCAL = { region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } as const;
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const BUCKET = 'audit-digests-bucket';

describe('KmsDigestSigner (mocked KMS)', () => {
  const kms = mockClient(KMSClient);
  const client = new KMSClient(LOCAL);
  // A real P-256 key pair stands in for the KMS key, so the signature the mock returns is one
  // node:crypto must verify: the adapter passes KMS's DER signature through unchanged.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spkiDer = publicKey.export({ type: 'spki', format: 'der' });

  beforeEach(() => kms.reset());
  afterAll(() => kms.restore());

  it('sends the SHA-256 of the digest as MessageType DIGEST with ECDSA_SHA_256, and returns the DER signature KMS answers', async () => {
    const bytes = Buffer.from('{"format":"decision-replay-digest/1","recordCount":3}');
    // KMS signs the 32-byte digest it is given without hashing it again; node:crypto has no such
    // pre-hashed ECDSA call, so the fake signs the message whose SHA-256 it received.
    const messages = new Map([[createHash('sha256').update(bytes).digest('hex'), bytes]]);
    kms.on(SignCommand).callsFake((input: { Message: Uint8Array }) => {
      const message = messages.get(Buffer.from(input.Message).toString('hex'));
      if (!message) throw new Error('the fake KMS was sent something other than the SHA-256 of the digest');
      return { Signature: nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'der' }), KeyId: KEY_ARN, SigningAlgorithm: 'ECDSA_SHA_256' };
    });
    const signer = new KmsDigestSigner(client, KEY_ARN);

    const signature = await signer.sign(bytes);

    const calls = kms.commandCalls(SignCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]?.args[0].input;
    expect(input).toMatchObject({ KeyId: KEY_ARN, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(Buffer.from(input?.Message as Uint8Array).equals(createHash('sha256').update(bytes).digest())).toBe(true);
    // What the digest's verifier (and `openssl dgst -sha256 -verify`) checks: ECDSA over SHA-256 of the bytes.
    expect(verifyDigestSignature(bytes, signature, publicKey)).toBe(true);
    expect(verifyDigestSignature(Buffer.concat([bytes, Buffer.from(' ')]), signature, publicKey)).toBe(false);
  });

  it('fails naming the key when KMS answers without a signature', async () => {
    kms.on(SignCommand).resolves({ KeyId: KEY_ARN });
    await expect(new KmsDigestSigner(client, KEY_ARN).sign(Buffer.from('x'))).rejects.toThrow(`KMS returned no signature for key ${KEY_ARN}`);
  });

  it('lets a KMS refusal (a disabled key) through to the digester, which then writes nothing', async () => {
    kms.on(SignCommand).rejects(new KMSInvalidStateException({ message: 'key is disabled', $metadata: {} }));
    await expect(new KmsDigestSigner(client, KEY_ARN).sign(Buffer.from('x'))).rejects.toBeInstanceOf(KMSInvalidStateException);
  });

  it('turns the DER public key into a PEM node:crypto reads, and asks KMS once per container', async () => {
    kms.on(GetPublicKeyCommand).resolves({ KeyId: KEY_ARN, PublicKey: new Uint8Array(spkiDer), KeySpec: 'ECC_NIST_P256', SigningAlgorithms: ['ECDSA_SHA_256'] });
    const signer = new KmsDigestSigner(client, KEY_ARN);

    const pem = await signer.publicKeyPem();
    await signer.publicKeyPem();

    expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END PUBLIC KEY-----\n$/);
    expect(createPublicKey(pem).export({ type: 'spki', format: 'der' }).equals(spkiDer)).toBe(true);
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
    expect(kms.commandCalls(GetPublicKeyCommand)[0]?.args[0].input).toEqual({ KeyId: KEY_ARN });
  });

  it('asks again after a failed public-key read instead of caching the failure', async () => {
    kms.on(GetPublicKeyCommand).rejectsOnce(new Error('throttled')).resolves({ KeyId: KEY_ARN, PublicKey: new Uint8Array(spkiDer) });
    const signer = new KmsDigestSigner(client, KEY_ARN);

    await expect(signer.publicKeyPem()).rejects.toThrow('throttled');
    await expect(signer.publicKeyPem()).resolves.toContain('BEGIN PUBLIC KEY');
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(2);
  });

  it('fails naming the key when KMS answers without a public key', async () => {
    kms.on(GetPublicKeyCommand).resolves({ KeyId: KEY_ARN });
    await expect(new KmsDigestSigner(client, KEY_ARN).publicKeyPem()).rejects.toThrow(`KMS returned no public key for ${KEY_ARN}`);
  });
});

/** The part of an SDK stream body the store reads. */
function body(text: string) {
  return { transformToByteArray: async () => new Uint8Array(Buffer.from(text)) };
}

describe('S3AuditStore (mocked S3)', () => {
  const s3 = mockClient(S3Client);
  const client = new S3Client(LOCAL);
  const store = new S3AuditStore(client, BUCKET);
  const W = '2026-11-30T10:00:00.000Z';
  const parts = { digest: Buffer.from('{"digest":1}'), signature: Buffer.from([0x30, 0x44, 1, 2]), manifest: Buffer.from('{"id":"a"}\n'), manifestObject: `manifests/${W}.jsonl` };

  beforeEach(() => s3.reset());
  afterAll(() => s3.restore());

  it('writes the manifest, then the signature, then the digest last and only if absent, each with a SHA-256 checksum (Object Lock requires one)', async () => {
    s3.on(PutObjectCommand).resolves({});

    await store.putDigest(W, parts);

    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Key)).toEqual([`manifests/${W}.jsonl`, `digests/${W}.sig`, `digests/${W}.json`]);
    for (const p of puts) {
      expect(p.Bucket).toBe(BUCKET);
      expect(p.ChecksumAlgorithm).toBe('SHA256');
      // Retention comes from the bucket's default Object Lock rule (COMPLIANCE, auditRetentionDays):
      // the store sends no per-object mode or date, so nothing it writes can ask for a weaker lock.
      expect(p.ObjectLockMode).toBeUndefined();
      expect(p.ObjectLockRetainUntilDate).toBeUndefined();
      expect(p.ObjectLockLegalHoldStatus).toBeUndefined();
    }
    expect(puts[0]).toMatchObject({ ContentType: 'application/x-ndjson', Body: parts.manifest });
    expect(puts[1]).toMatchObject({ ContentType: 'application/octet-stream', Body: parts.signature });
    expect(puts[2]).toMatchObject({ ContentType: 'application/json', Body: parts.digest, IfNoneMatch: '*' });
    expect(puts[0]?.IfNoneMatch).toBeUndefined();
  });

  it('answers AuditObjectExistsError when the digest exists already (412 Precondition Failed)', async () => {
    s3.on(PutObjectCommand, { Key: `digests/${W}.json` }).rejects(new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'At least one of the pre-conditions you specified did not hold' }));
    s3.on(PutObjectCommand, { Key: `manifests/${W}.jsonl` }).resolves({});
    s3.on(PutObjectCommand, { Key: `digests/${W}.sig` }).resolves({});

    const err = await store.putDigest(W, parts).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(AuditObjectExistsError);
    expect((err as AuditObjectExistsError).objectName).toBe(`digests/${W}.json`);
  });

  it('lets any other S3 failure through (an Object Lock or KMS refusal is not "already sealed")', async () => {
    s3.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }));
    const err = await store.putDigest(W, parts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3ServiceException);
    expect(err).not.toBeInstanceOf(AuditObjectExistsError);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
  });

  it('reads an object as bytes, and a missing one as undefined', async () => {
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: `digests/${W}.json` }).resolves({ Body: body('{"digest":1}') } as never);
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: 'digests/gone.json' }).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));

    expect((await store.getObject(`digests/${W}.json`))?.toString()).toBe('{"digest":1}');
    expect(await store.getObject('digests/gone.json')).toBeUndefined();
  });

  it('reads a byte range with the object size from Content-Range; a start past the end is no bytes and the size from a HEAD', async () => {
    const key = `manifests/${W}.jsonl`;
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: key, Range: 'bytes=10-19' }).resolves({ Body: body('0123456789'), ContentRange: 'bytes 10-19/5000' } as never);
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: key, Range: 'bytes=5000-5099' }).rejects(new S3ServiceException({ name: 'InvalidRange', $fault: 'client', $metadata: { httpStatusCode: 416 }, message: 'The requested range is not satisfiable' }));
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: key }).resolves({ ContentLength: 5000 });
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: 'manifests/gone.jsonl' }).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));

    const piece = await store.getObjectRange(key, 10, 19);
    expect(piece?.bytes.toString()).toBe('0123456789');
    expect(piece?.size).toBe(5000);
    expect(await store.getObjectRange(key, 5000, 5099)).toEqual({ bytes: Buffer.alloc(0), size: 5000 });
    expect(await store.getObjectRange('manifests/gone.jsonl', 0, 9)).toBeUndefined();
  });

  it('does not hide a read failure as a missing object', async () => {
    s3.on(GetObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }));
    await expect(store.getObject(`digests/${W}.json`)).rejects.toThrow('Access Denied');
  });

  it('lists digests page after page from just before `from`, keeps only .json digests in [from, to), and stops at `to`', async () => {
    s3.on(ListObjectsV2Command, { ContinuationToken: undefined }).resolves({
      Contents: [{ Key: 'digests/2026-11-30T09:00:00.000Z.json' }, { Key: `digests/${W}.json` }, { Key: `digests/${W}.sig` }],
      NextContinuationToken: 'page-2',
    });
    s3.on(ListObjectsV2Command, { ContinuationToken: 'page-2' }).resolves({
      Contents: [{ Key: 'digests/2026-11-30T11:00:00.000Z.json' }, { Key: 'digests/2026-11-30T12:00:00.000Z.json' }, { Key: 'digests/2026-11-30T13:00:00.000Z.json' }],
      NextContinuationToken: 'page-3',
    });

    const starts = await store.listDigests(W, '2026-11-30T12:00:00.000Z');

    expect(starts).toEqual([W, '2026-11-30T11:00:00.000Z']);
    const calls = s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ Bucket: BUCKET, Prefix: 'digests/', StartAfter: `digests/${W.slice(0, -1)}` });
    // StartAfter only on the first page: the continuation token carries the position after it.
    expect(calls[1]).toMatchObject({ ContinuationToken: 'page-2' });
    expect(calls[1]?.StartAfter).toBeUndefined();
  });

  it('finds the latest digest in the last year first, and falls back to the whole bucket', async () => {
    s3.on(ListObjectsV2Command).callsFake((input: { StartAfter?: string }) =>
      input.StartAfter !== undefined ? { Contents: [] } : { Contents: [{ Key: 'digests/2020-01-01T00:00:00.000Z.json' }, { Key: 'digests/2020-01-01T01:00:00.000Z.json' }] },
    );

    expect(await store.latestDigest()).toBe('2020-01-01T01:00:00.000Z');
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(2);
  });
});
