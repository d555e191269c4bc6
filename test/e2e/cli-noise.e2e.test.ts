/**
 * `decision-replay noise learn|show` and the replay flags `--noise-profile` / `--dependency-mode`
 * against the in-memory local host, with the noisy and tool-using demo models.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NoiseProfile } from '../../functions/core/noise.js';
import type { ReplayResult } from '../../functions/core/replay.js';
import type { Snapshot } from '../../functions/core/snapshot.js';
import { cli } from '../support/cli.js';
import { startTestHost, type TestHost } from '../support/host.js';
import { requestJson } from '../support/http.js';

const FN = 'cli_noisy';

describe('decision-replay noise commands (local host)', () => {
  let t: TestHost;
  let env: Record<string, string>;
  let snapshotId = '';

  async function record(functionName: string, model: string, applicant: Record<string, number>): Promise<Snapshot> {
    const inputs = [{ name: 'applicant', value: applicant }];
    const answer = await requestJson<{ outputs: unknown; dependencies?: unknown }>(t.url, 'POST', `/demo/${model}/v1`, { functionName, inputs });
    const res = await requestJson<Snapshot>(t.url, 'POST', '/snapshots', { functionName, inputs, outputs: answer.body.outputs, ...(answer.body.dependencies !== undefined && { dependencies: answer.body.dependencies }) });
    return res.body;
  }

  beforeAll(async () => {
    t = await startTestHost();
    env = { DECISION_REPLAY_URL: t.url };
    for (let i = 0; i < 12; i++) snapshotId = (await record(FN, 'credit-noisy', { income: 40_000 + i * 2_500, age: 30 + i })).snapshotId;
    await requestJson(t.url, 'PUT', `/functions/${FN}/executor`, { type: 'http', url: `${t.url}/demo/credit-noisy/v1` });
  });
  afterAll(async () => {
    await t.close();
  });

  it('learns a profile, following its batch, and shows it by version', async () => {
    const learned = await cli(['noise', 'learn', FN, '--sample-size', '12', '--poll-interval', '20'], { env });
    expect(learned.code, learned.stderr).toBe(0);
    const profile = JSON.parse(learned.stdout) as NoiseProfile;
    expect(profile).toMatchObject({ functionName: FN, version: 1, pairs: 12 });
    expect(profile.fields.find((f) => f.path === 'outputs.requestId')?.class).toBe('always-different');

    const shown = await cli(['noise', 'show', FN, '--version', '1'], { env });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual(profile);
    const table = await cli(['noise', 'show', FN], { env, tty: true });
    expect(table.stdout).toContain('always-different');
  });

  it('replays with --noise-profile latest (exit 0) where plain Tolerant fails on the noise (exit 1)', async () => {
    const plain = await cli(['replay', snapshotId], { env });
    expect(plain.code).toBe(1);
    const aware = await cli(['replay', snapshotId, '--noise-profile', 'latest'], { env });
    expect(aware.code, aware.stdout).toBe(0);
    expect((JSON.parse(aware.stdout) as ReplayResult).noiseProfile).toEqual({ functionName: FN, version: 1 });
  });

  it('replays a tool-using decision with --dependency-mode recorded and live', async () => {
    const snap = await record('cli_tools', 'credit-tools', { income: 52_000, age: 41, debt: 30_000 });
    await requestJson(t.url, 'PUT', '/functions/cli_tools/executor', { type: 'http', url: `${t.url}/demo/credit-tools/v1` });
    const recorded = await cli(['replay', snap.snapshotId, '--mode', 'Strict', '--dependency-mode', 'recorded'], { env });
    expect(recorded.code).toBe(0);
    const live = await cli(['replay', snap.snapshotId, '--mode', 'Strict', '--dependency-mode', 'live'], { env });
    expect(live.code).toBe(1);
    expect((JSON.parse(live.stdout) as ReplayResult).dependencies?.mode).toBe('live');
  });

  it('exits 2 on bad flags and 3 when there is nothing to learn from', async () => {
    expect((await cli(['noise', 'learn', FN, '--sample-size', '1'], { env })).code).toBe(2);
    expect((await cli(['replay', snapshotId, '--noise-profile', 'soon'], { env })).code).toBe(2);
    expect((await cli(['replay', snapshotId, '--dependency-mode', 'cached'], { env })).code).toBe(2);
    const none = await cli(['noise', 'show', 'nobody'], { env });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('no noise profile');
  });
});
