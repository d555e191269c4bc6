// Runs before every test file.
import { afterAll } from 'vitest';
import '../../functions/local/polyfills.js';
import { removeTempDirs } from './temp-dirs.js';

// The folders the file's tests made with tempDir(), once its tests (and their own afterAll) are done.
afterAll(removeTempDirs);
