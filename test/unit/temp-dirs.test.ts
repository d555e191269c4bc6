/** The tests' temporary folders (test/support/temp-dirs.ts): made empty, and removed with what they hold. */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../support/temp-dirs.js';

describe('tempDir', () => {
  it('makes a new empty folder in the OS temp folder, named by its prefix, and removeTempDirs removes it with its content', () => {
    const a = tempDir('temp-dirs-test-');
    const b = tempDir('temp-dirs-test-');
    mkdirSync(join(a, 'nested'));
    writeFileSync(join(a, 'nested', 'file.txt'), 'x');

    expect(a).not.toBe(b);
    expect(dirname(a)).toBe(tmpdir());
    expect(basename(b)).toMatch(/^temp-dirs-test-.{6}$/);
    expect(readdirSync(b)).toEqual([]);

    removeTempDirs();

    expect(existsSync(a)).toBe(false);
    expect(existsSync(b)).toBe(false);
  });
});
