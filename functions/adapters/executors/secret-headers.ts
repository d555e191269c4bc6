/**
 * The sources of secret header values (`secretHeaders`, DESIGN §5): Secrets Manager on AWS, limited
 * to the secrets the replaying functions are granted (an ARN prefix the stack sets), and the host's
 * environment locally (`env:NAME`). Values are read at call time (Secrets Manager through a 60 s
 * cache, so a rotation is picked up within a minute) and never stored, logged or answered.
 */
import type { SecretHeaderSource } from '../../core/executor.js';
import { environmentReader, secretsManagerReader, type SecretReader } from '../secrets.js';

/**
 * Secrets Manager secrets whose ARN starts with `arnPrefix`, sent only to https URLs (the stack's
 * `EXECUTOR_SECRET_ARN_PREFIX`, e.g. `arn:aws:secretsmanager:eu-west-1:123456789012:secret:decision-replay/executors/`):
 * exactly what the replaying functions' IAM policy lets them read. Refusing others at registration
 * means an API caller cannot point a header at another secret of the account (the cursor key, a
 * database password) and have it sent to a URL of their choosing; IAM would refuse it anyway.
 */
export function secretsManagerHeaders(arnPrefix: string, read: SecretReader = secretsManagerReader()): SecretHeaderSource {
  return {
    refuses(ref, target) {
      if (ref.startsWith('env:')) return `${ref} is read only by the local host (npm start); on AWS name a Secrets Manager secret ARN starting with ${arnPrefix}`;
      if (!ref.startsWith(arnPrefix)) return `this deployment reads secret headers only from secrets whose ARN starts with ${arnPrefix} (what the replaying functions are granted)`;
      // A Lambda outside any VPC reaches executors over the internet: a credential goes over TLS only.
      if (target.protocol !== 'https:') return `secret headers are sent only over https on AWS; ${target.protocol}// would send the value in clear text`;
      return undefined;
    },
    read,
  };
}

/** Variables of the local host's environment, named `env:NAME`; read at each call, so a changed value applies at once. */
export function environmentHeaders(env: NodeJS.ProcessEnv = process.env): SecretHeaderSource {
  const read = environmentReader(env);
  return {
    refuses(ref) {
      if (!ref.startsWith('env:')) return 'the local host has no Secrets Manager: name an environment variable of the host as env:NAME';
      return undefined;
    },
    read,
  };
}
