/**
 * `decision-replay noise learn` prints the profile its own learning batch stored. Learning batches
 * of one function that run at once each store a version; the CLI read "the latest" once its batch
 * had succeeded, so three concurrent `noise learn` printed the same profile (version 5, of another
 * batch) three times. A fake service answers as the host does when two other batches stored
 * versions around this one's.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const FN = 'noisy_loan';
const MINE = '01M8XDTNDEC382HZSPFJBRT6PQ';
const EARLIER = '01M8XDTNCV3P5312WWYG0H7BWR';
const LATER = '01M8XDTP41K4DR3H83Y8PPHEXE';

function profile(version: number, batchId: string, pairs: number) {
  return {
    functionName: FN,
    executor: 'http POST http://127.0.0.1:3000/demo/credit-noisy/v1',
    modelVersions: ['v1'],
    similarityProvider: 'lexical',
    sampleSize: pairs,
    pairs,
    numericSafetyFactor: 3,
    fields: [{ path: 'outputs.requestId', pairs, differed: pairs, class: 'always-different' }],
    batchId,
    createdAt: '2026-12-03T07:45:14.286Z',
    version,
  };
}

function batch(batchId: string) {
  return {
    batchId,
    status: 'SUCCEEDED',
    total: 3,
    completed: 3,
    maxConcurrency: 10,
    request: { selector: { functionName: FN, limit: 3 }, mode: 'Tolerant' },
    trigger: 'api',
    createdAt: '2026-12-03T07:45:13.627Z',
    noiseProfile: { functionName: FN, sampleSize: 3 },
    completedAt: '2026-12-03T07:45:14.286Z',
  };
}

describe('decision-replay noise learn', () => {
  let server: Server;
  let endpoint: string;
  /** The versions the fake service holds, oldest first. */
  let versions: ReturnType<typeof profile>[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST' && url.pathname === `/functions/${FN}/noise-profile`) {
          return send(202, { batchId: MINE, status: 'RUNNING', total: 3, functionName: FN, sampleSize: 3, batch: `/batches/${MINE}`, profile: `/functions/${FN}/noise-profile` });
        }
        if (req.method === 'GET' && url.pathname === `/batches/${MINE}`) return send(200, batch(MINE));
        if (req.method === 'GET' && url.pathname === `/functions/${FN}/noise-profile`) {
          const asked = url.searchParams.get('version');
          const found = asked === null ? versions[versions.length - 1] : versions.find((p) => p.version === Number(asked));
          return found ? send(200, found) : send(404, { error: { code: 'NOISE_PROFILE_NOT_FOUND', message: `function '${FN}' has no noise profile version ${asked}` } });
        }
        send(404, { error: { code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` } });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('prints the version its batch stored, not a newer one another learning batch stored meanwhile', async () => {
    versions = [profile(1, EARLIER, 5), profile(2, MINE, 3), profile(3, LATER, 12)];
    const run = await runCli(['noise', 'learn', FN, '--sample-size', '3', '--endpoint', endpoint]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(profile(2, MINE, 3));
  });

  it('prints the latest when its batch stored the latest', async () => {
    versions = [profile(1, EARLIER, 5), profile(2, MINE, 3)];
    const run = await runCli(['noise', 'learn', FN, '--sample-size', '3', '--endpoint', endpoint]);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(profile(2, MINE, 3));
  });

  it('fails (exit 3) rather than print another batch profile when none is the one its batch stored', async () => {
    versions = [profile(1, EARLIER, 5), profile(2, LATER, 12)];
    const run = await runCli(['noise', 'learn', FN, '--sample-size', '3', '--endpoint', endpoint]);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`learning batch ${MINE} succeeded, but no version of the noise profile of '${FN}' is the one it stored`);
  });
});
