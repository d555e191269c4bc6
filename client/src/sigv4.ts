/**
 * SigV4 request signing for API Gateway (`execute-api`), with `@smithy/signature-v4` — the signer
 * the AWS SDK itself uses — and, unless credentials are given, the default AWS credential chain
 * (environment, shared config and SSO, web identity, container and instance metadata). Loaded only
 * when a request is signed, so plain-HTTP use never pays for it.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** AWS credentials (as the SDK's `AwsCredentialIdentity`). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** Credentials, or a function that provides them (e.g. one of `@aws-sdk/credential-providers`). */
export type CredentialsOption = AwsCredentials | (() => Promise<AwsCredentials>);

/** SHA-256 and HMAC-SHA256 from node:crypto, in the `Checksum` shape the signer takes. */
class NodeSha256 {
  private hash: Hash | Hmac;
  private readonly secret: Uint8Array | undefined;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.secret = secret === undefined ? undefined : bytes(secret);
    this.hash = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** The parts of an HTTP request that SigV4 covers. */
export interface SignableRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
}

export interface SignerOptions {
  region: string;
  service?: string;
  credentials?: CredentialsOption;
  /** For tests: the signing time. */
  signingDate?: () => Date;
}

/** Returns a function that adds `authorization`, `x-amz-date` (and the session token) to a request's headers. */
export function createSigner(options: SignerOptions): (request: SignableRequest) => Promise<Record<string, string>> {
  const credentials = options.credentials ?? defaultCredentialChain();
  const signer = new SignatureV4({ service: options.service ?? 'execute-api', region: options.region, credentials, sha256: NodeSha256, applyChecksum: false, uriEscapePath: true });
  return async (request) => {
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of request.url.searchParams) {
      const prior = query[k];
      query[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
    }
    const signed = await signer.sign(
      {
        method: request.method,
        protocol: request.url.protocol,
        hostname: request.url.hostname,
        ...(request.url.port !== '' && { port: Number(request.url.port) }),
        // Already URI-encoded once, as the SDK's serializers hand it over; the signer encodes it again
        // (SigV4's canonical path for every service but S3).
        path: request.url.pathname,
        query,
        headers: { ...request.headers, host: request.url.host },
        ...(request.body !== undefined && { body: request.body }),
      },
      options.signingDate ? { signingDate: options.signingDate() } : {},
    );
    const { host: _host, ...headers } = signed.headers as Record<string, string>;
    return headers;
  };
}

/** The default AWS credential chain, loaded and resolved on first use, then cached until near expiry. */
function defaultCredentialChain(): () => Promise<AwsCredentials> {
  let provider: Promise<() => Promise<AwsCredentials>> | undefined;
  return async () => {
    provider ??= import('@aws-sdk/credential-provider-node').then((m) => m.defaultProvider());
    return (await provider)();
  };
}
