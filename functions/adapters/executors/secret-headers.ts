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

/**
 * The prefix an environment variable's name must have for the local host to send it as a secret
 * header (`EXECUTOR_SECRET_ENV_PREFIX`). The local counterpart of AWS's `executorSecretNamePrefix`.
 */
export const DEFAULT_SECRET_ENV_PREFIX = 'DECISION_REPLAY_SECRET_';

/**
 * Variables of the local host's environment, named `env:NAME`, whose name starts with `prefix`;
 * read at each call, so a changed value applies at once. Only prefixed names: anyone who can call
 * the local API can register an executor, and without the prefix could name any variable of the
 * host (`AWS_SECRET_ACCESS_KEY`, a token in the shell's environment) and have it sent to a URL of
 * their choosing. Asked at registration and again at each call (a configuration stored before the
 * prefix applied sends nothing).
 */
export function environmentHeaders(env: NodeJS.ProcessEnv = process.env, prefix: string = DEFAULT_SECRET_ENV_PREFIX): SecretHeaderSource {
  const read = environmentReader(env);
  return {
    refuses(ref) {
      if (!ref.startsWith('env:')) return 'the local host has no Secrets Manager: name an environment variable of the host as env:NAME';
      const name = ref.slice(4);
      if (!name.startsWith(prefix) || name.length === prefix.length) {
        return `the local host sends only environment variables whose name starts with ${prefix} (EXECUTOR_SECRET_ENV_PREFIX), so that a caller of the API cannot have another variable of the host sent to a URL of their choosing: start the host with ${prefix}${name.startsWith(prefix) ? 'NAME' : name}=… and name env:${prefix}${name.startsWith(prefix) ? 'NAME' : name}`;
      }
      return undefined;
    },
    read,
  };
}
