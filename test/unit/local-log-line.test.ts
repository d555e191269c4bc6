/**
 * `npm start` prints each log call of the functions as one line with its fields (functions/local/log-line.ts):
 * before, an INFO line such as `replay outcome` was printed as its bare message, without the ids,
 * status and codes the README's log table says it carries.
 */
import { describe, expect, it } from 'vitest';
import { logLine } from '../../functions/local/log-line.js';

describe('logLine', () => {
  it('prints the message and each field object as compact JSON on the same line', () => {
    expect(logLine('replay outcome', [{ replayId: 'r1', status: 'Failed', policyViolations: 0 }])).toBe('replay outcome {"replayId":"r1","status":"Failed","policyViolations":0}');
    expect(logLine('schedule x fired')).toBe('schedule x fired');
  });

  it('keeps control characters of a field escaped, so a function name cannot drive the terminal', () => {
    expect(logLine('executor error', [{ functionName: 'f\u001b[2Jx\nnext' }])).toBe('executor error {"functionName":"f\\u001b[2Jx\\nnext"}');
  });

  it('shows an Error inside a field with its stack, and a field JSON cannot hold on one line', () => {
    const err = new Error('boom');
    const line = logLine('unhandled error', [{ requestId: 'q1', error: err }]);
    expect(line.startsWith('unhandled error {"requestId":"q1","error":"Error: boom\\n    at ')).toBe(true);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cyclicLine = logLine('odd', [cyclic]);
    expect(cyclicLine).toContain('odd ');
    expect(cyclicLine).not.toContain('\n');
  });
});
