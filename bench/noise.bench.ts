/**
 * Noise-aware Tolerant mode on the noisy demo model (issue 15), through the local host.
 *
 * 500 decisions are recorded from the noisy demo model v1 (`/demo/credit-noisy/v1`): 475 debt-free
 * applicants, whom v2 decides exactly as v1 did, and 25 (5 %) with debt whom v2's heavier
 * debt-to-income weight truly flips (approve → review, review → decline). Every answer carries
 * noise: a fresh request id and timestamp, a reworded rationale, a score jittered by ±0.001.
 * The function's executor is v2. A noise profile is learned from a sample of 50 snapshots
 * (`POST /functions/{fn}/noise-profile`), then the same 500 snapshots are replayed in two batches:
 *
 * - plain Tolerant (tolerance 0.8): how many of the 475 unchanged decisions it flags (false
 *   positives), and how many of the 25 flips it reports;
 * - noise-aware Tolerant (`noiseProfile: "latest"`): target 100 % of the flips reported and at most
 *   1 % of the others flagged.
 *
 * The applicants are drawn from a seeded PRNG; the model's noise is random on every call (it is
 * noise), so the false-positive figures can move a little from run to run.
 */
import { decideCredit, type Applicant } from '../functions/local/demo-model.js';
import { startLocalHost } from '../functions/local/host.js';
import { BenchClient } from './http-client.js';
import { seededRandom } from '../functions/core/significance.js';
import { printFigures } from './report.js';

const TOTAL = 500;
const FLIPS = 25;
const SAMPLE = 50;
const FN = 'noisy_loan';

interface BatchResultItem {
  snapshotId: string;
  status: string;
  outputsMatch: boolean;
  mismatchedPaths: string[];
}

function applicants(): { applicant: Applicant; flips: boolean }[] {
  const rnd = seededRandom(15);
  const out: { applicant: Applicant; flips: boolean }[] = [];
  while (out.filter((a) => !a.flips).length < TOTAL - FLIPS) {
    out.push({ applicant: { income: 25_000 + Math.floor(rnd() * 60_000), age: 25 + Math.floor(rnd() * 40) }, flips: false });
  }
  while (out.filter((a) => a.flips).length < FLIPS) {
    const applicant = { income: 30_000 + Math.floor(rnd() * 50_000), age: 25 + Math.floor(rnd() * 40), debt: Math.floor(rnd() * 40_000) };
    if (decideCredit('v1', applicant).decision !== decideCredit('v2', applicant).decision) out.push({ applicant, flips: true });
  }
  // Interleave the flips among the others, as they would come.
  return out.map((a) => ({ a, k: rnd() })).sort((x, y) => x.k - y.k).map(({ a }) => a);
}

export default async function (): Promise<void> {
  const host = await startLocalHost({ port: 0, dynamoPort: 0, tableName: 'bench-noise', logger: { error: (m, ...e) => console.error(m, ...e), info: () => undefined } });
  const http = new BenchClient(host.url);
  const json = <T>(method: string, path: string, body?: unknown): Promise<T> => http.json(method, path, body) as Promise<T>;
  try {
    const flipped = new Set<string>();
    for (const { applicant, flips } of applicants()) {
      const inputs = [{ name: 'applicant', value: applicant, type: 'object' }];
      const answer = await json<{ outputs: unknown[] }>('POST', '/demo/credit-noisy/v1', { functionName: FN, inputs });
      const snapshot = await json<{ snapshotId: string }>('POST', '/snapshots', { functionName: FN, inputs, outputs: answer.outputs, modelParameters: { modelName: 'demo-credit-noisy', modelVersion: 'v1' } });
      if (flips) flipped.add(snapshot.snapshotId);
    }
    await json('PUT', `/functions/${FN}/executor`, { type: 'http', url: `${host.url}/demo/credit-noisy/v2` });

    const waitFor = async (batchId: string): Promise<number> => {
      const started = performance.now();
      for (;;) {
        const b = await json<{ status: string; failureReason?: string }>('GET', `/batches/${batchId}`);
        if (b.status === 'SUCCEEDED') return performance.now() - started;
        if (b.status !== 'RUNNING') throw new Error(`batch ${batchId} ${b.status}: ${b.failureReason ?? ''}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const results = async (batchId: string): Promise<BatchResultItem[]> => {
      const items: BatchResultItem[] = [];
      let cursor: string | undefined;
      do {
        const page = await json<{ items: BatchResultItem[]; nextCursor?: string }>('GET', `/batches/${batchId}/results?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      return items;
    };

    const learning = await json<{ batchId: string }>('POST', `/functions/${FN}/noise-profile`, { sampleSize: SAMPLE });
    const learnMs = await waitFor(learning.batchId);
    const profile = await json<{ version: number; pairs: number; fields: { path: string; class: string; spreadPercent?: number; spreadAbsolute?: number; similarityFloor?: number }[] }>('GET', `/functions/${FN}/noise-profile`);

    const score = async (body: Record<string, unknown>) => {
      const batch = await json<{ batchId: string }>('POST', '/batches', { selector: { functionName: FN, limit: TOTAL }, mode: 'Tolerant', maxConcurrency: 10, ...body });
      const ms = await waitFor(batch.batchId);
      const items = await results(batch.batchId);
      const errors = items.filter((r) => r.status === 'Error').length;
      const flagged = items.filter((r) => r.status !== 'Error' && !r.outputsMatch);
      const truePositives = flagged.filter((r) => flipped.has(r.snapshotId)).length;
      const falsePositives = flagged.filter((r) => !flipped.has(r.snapshotId));
      const paths = new Map<string, number>();
      for (const r of falsePositives) for (const p of r.mismatchedPaths) paths.set(p, (paths.get(p) ?? 0) + 1);
      return { ms, errors, total: items.length, truePositives, falsePositives: falsePositives.length, paths };
    };
    const plain = await score({});
    const aware = await score({ noiseProfile: 'latest' });

    const others = TOTAL - FLIPS;
    console.log(`\nnoise profile v${profile.version} from ${profile.pairs} pairs (${(learnMs / 1000).toFixed(1)} s): ${profile.fields.map((f) => `${f.path} ${f.class}${f.spreadPercent !== undefined ? ` ±${f.spreadPercent.toFixed(4)}%` : ''}${f.spreadAbsolute !== undefined ? ` ±${f.spreadAbsolute}` : ''}${f.similarityFloor !== undefined ? ` floor ${f.similarityFloor.toFixed(3)}` : ''}`).join('; ')}`);
    console.log(`plain Tolerant flagged ${plain.falsePositives} of ${others} unchanged decisions, on: ${[...plain.paths].map(([p, n]) => `${p} ×${n}`).join(', ') || '—'}`);
    console.log(`noise-aware Tolerant flagged ${aware.falsePositives} of ${others} unchanged decisions${aware.paths.size ? `, on: ${[...aware.paths].map(([p, n]) => `${p} ×${n}`).join(', ')}` : ''}; errors: plain ${plain.errors}, noise-aware ${aware.errors}`);
    printFigures(`Noise-aware Tolerant on the noisy demo model (${TOTAL} replays, ${FLIPS} true flips; batches of ${(plain.ms / 1000).toFixed(1)} s and ${(aware.ms / 1000).toFixed(1)} s)`, [
      { figure: 'plain Tolerant: true flips reported', ours: plain.truePositives, baseline: FLIPS, unit: 'replays', ratio: plain.truePositives / FLIPS },
      { figure: 'plain Tolerant: unchanged decisions flagged (false positives)', ours: plain.falsePositives, baseline: others, unit: 'replays', ratio: plain.falsePositives / others },
      { figure: 'noise-aware Tolerant: true flips reported', ours: aware.truePositives, baseline: FLIPS, unit: 'replays', ratio: aware.truePositives / FLIPS, target: '>= 1' },
      { figure: 'noise-aware Tolerant: unchanged decisions flagged (false positives)', ours: aware.falsePositives, baseline: others, unit: 'replays', ratio: aware.falsePositives / others, target: '<= 0.01' },
    ]);
  } finally {
    http.close();
    await host.close();
  }
}
