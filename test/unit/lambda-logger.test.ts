/**
 * The Lambdas' logger (Powertools, JSON lines): a user's text in a message or field may not reach
 * `aws logs tail` or the CloudWatch console as a C1 control or a bidirectional override
 * (JSON.stringify escapes C0 controls only).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../functions/adapters/aws/clients.js';

describe('createLogger', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes no terminal control raw: C0 escaped by JSON, C1 and bidirectional controls spelled out', () => {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const EVIL = 'r\u001b[2J\n{fake line}\u202eevil\u009b31m';

    createLogger().info(`PolicyViolation: rule ${EVIL}`, { ruleName: EVIL, error: new Error(EVIL) });

    const text = written.join('');
    expect(text).not.toMatch(/[\p{Cc}\p{Bidi_Control}\u2028\u2029](?!$)/u);
    expect(text.trimEnd().split('\n')).toHaveLength(1);
    const line = JSON.parse(text) as { message: string; ruleName: string; error: { message: string } };
    const shown = 'r\u001b[2J\n{fake line}\\u202eevil\\u009b31m';
    expect(line).toMatchObject({ message: `PolicyViolation: rule ${shown}`, ruleName: shown, error: { message: shown } });
  });
});
