/**
 * The local host renders the batch ASL on a worker thread (so aws-cdk-lib does not stay in its
 * heap); what it gets must be exactly what CDK deploys.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderBatchAsl } from '../../lib/batch-definition.js';
import { batchAsl } from '../../functions/local/batch-asl.js';

describe('batchAsl', () => {
  it('is the definition renderBatchAsl() renders, with the same function ARNs', async () => {
    const offThread = await batchAsl();
    expect(offThread).toEqual(renderBatchAsl());
  });

  it('renders once per process', async () => {
    expect(batchAsl()).toBe(batchAsl());
  });

  it('leaves no folder behind in the temp dir (one render per npm start)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'asl-tmp-'));
    const before = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      renderBatchAsl();
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
