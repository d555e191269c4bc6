/**
 * Temporary folders for tests, removed after the test file that made them: test/support/setup.ts
 * (run before every file) calls {@link removeTempDirs} in an afterAll, whether the tests passed or
 * not. A test that makes a folder with mkdtemp and forgets it leaves it in the OS temp folder for
 * good: thousands had piled up there from the suite's runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** A new empty folder in the OS temp folder, named `<prefix>XXXXXX`; removed after this test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every folder {@link tempDir} made in this process so far. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
