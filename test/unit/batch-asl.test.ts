/**
 * The local host renders the batch ASL on a worker thread (so aws-cdk-lib does not stay in its
 * heap); what it gets must be exactly what CDK deploys.
 */
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
});
