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

/**
 * A user's text in a log message (a policy rule's name in the PolicyViolation line) or field: ESC
 * sequences, a line feed that would forge a line, C1 controls and bidirectional overrides are
 * printed escaped, never obeyed by the operator's terminal.
 */
describe('logLine with a user-supplied name', () => {
  const EVIL = 'r\u001b[2J\n{fake line}\u202eevil\u009b31m';
  /** Every character a terminal acts on instead of showing. */
  const CONTROLS = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/u;

  it('escapes it in the message, so the line is one line and the terminal is not cleared', () => {
    const line = logLine(`PolicyViolation: snapshot 01M (f) broke policy p v1: ${EVIL}`);
    expect(line).toBe('PolicyViolation: snapshot 01M (f) broke policy p v1: r\\u001b[2J\\n{fake line}\\u202eevil\\u009b31m');
    expect(line).not.toMatch(CONTROLS);
  });

  it('escapes it in a string field and inside a JSON field, which still parses to the same value', () => {
    expect(logLine('schedule', [EVIL])).not.toMatch(CONTROLS);
    const line = logLine('executor error', [{ functionName: EVIL }]);
    expect(line).not.toMatch(CONTROLS);
    expect(JSON.parse(line.slice('executor error '.length))).toEqual({ functionName: EVIL });
  });

  it("keeps an Error's stack on indented lines and escapes its message, so no line of it reads as a log line", () => {
    const err = new Error(`rule ${EVIL} failed`);
    const text = logLine('stream handler failed', [err]);
    const lines = text.split('\n');
    expect(lines[0]).toBe('stream handler failed Error: rule r\\u001b[2J\\n{fake line}\\u202eevil\\u009b31m failed');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines.slice(1)) expect(l).toMatch(/^ |^\}$/);
    expect(text.replace(/\n/g, '')).not.toMatch(CONTROLS);
  });
});
