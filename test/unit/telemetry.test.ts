/**
 * Telemetry gathers data points per metric, unit and exact dimension set and publishes each group
 * as few EMF lines (Powertools' own serialization, read back as lines here): at most 100 values a
 * line, at the end of every invocation (also one that fails), after at most FLUSH_AFTER_MS, and
 * before a data point of a later minute.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FLUSH_AFTER_MS, MAX_VALUES_PER_LINE, type MetricName, type Telemetry, type TelemetryUnit } from '../../functions/adapters/telemetry.js';
import { LAMBDA_NAMES, lambdaSpec, type LambdaName } from '../../functions/api/manifest.js';
import { lambdaEnv, type ENV_VARS } from '../../functions/config.js';
import { withMetricsPublished } from '../../functions/handlers/clients.js';
import { LocalMetricsStore, localTelemetry } from '../../functions/local/metrics.js';
import { apiEvent } from '../support/lambda-events.js';

interface EmfLine {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

/** The local store, keeping each EMF line as Powertools wrote it. */
class RecordingStore extends LocalMetricsStore {
  readonly emf: EmfLine[] = [];
  override ingest(line: string): void {
    this.emf.push(JSON.parse(line) as EmfLine);
    super.ingest(line);
  }
}

function captured(service = 'svc') {
  const store = new RecordingStore();
  return { store, telemetry: localTelemetry(service, store) };
}

/** A line's one metric: its name, unit, dimensions (name → value) and values. */
function read(line: EmfLine) {
  const [directive] = line._aws.CloudWatchMetrics;
  expect(line._aws.CloudWatchMetrics).toHaveLength(1);
  expect(directive?.Metrics).toHaveLength(1);
  const metric = directive?.Metrics[0];
  const name = metric?.Name ?? '';
  const raw = line[name];
  const dimensions = Object.fromEntries((directive?.Dimensions ?? []).flat().map((d) => [d, line[d]]));
  // Nothing but the metric, its dimensions and the EMF envelope is in the line.
  expect(Object.keys(line).sort()).toEqual(['_aws', name, ...Object.keys(dimensions)].sort());
  return { name, unit: metric?.Unit, dimensions, values: (Array.isArray(raw) ? raw : [raw]) as number[] };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('powertoolsTelemetry (local capture)', () => {
  it('publishes N data points of one group in ceil(N/100) lines, with every value, and dimensions that stay with their own group', () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-02T10:00:05.000Z') });
    const { store, telemetry } = captured();
    type Point = [MetricName, TelemetryUnit, number, Record<string, string> | undefined];
    const groups: Record<string, Point[]> = { okSuccess: [], failed: [], latencyOk: [], latencyError: [], tampered: [] };
    for (let i = 0; i < 250; i++) {
      groups.okSuccess?.push(['Replays', 'Count', 1, { status: 'Success', mode: 'Tolerant' }]);
      groups.latencyOk?.push(['ExecutorLatency', 'Milliseconds', 200 + (i % 17), { executorType: 'http', outcome: 'ok' }]);
      if (i % 10 === 0) groups.failed?.push(['Replays', 'Count', 1, { status: 'Failed', mode: 'Tolerant' }]);
      if (i % 50 === 0) groups.latencyError?.push(['ExecutorLatency', 'Milliseconds', 5000 + i, { executorType: 'http', outcome: 'error' }]);
      if (i % 100 === 0) groups.tampered?.push(['TamperedSnapshots', 'Count', 1, undefined]);
    }
    // Recorded interleaved, as a batch records them.
    const longest = Math.max(...Object.values(groups).map((g) => g.length));
    for (let i = 0; i < longest; i++) {
      for (const g of Object.values(groups)) {
        const point = g[i];
        if (point !== undefined) telemetry.record(...point);
      }
    }
    const before = store.emf.length;
    telemetry.flush();

    // 100 values of a group make a line at once (two of okSuccess and of latencyOk by then).
    expect(before).toBe(4);
    const lines = store.emf.map(read);
    const expected = Object.values(groups).map((g) => ({
      name: g[0]?.[0],
      unit: g[0]?.[1],
      dimensions: { service: 'svc', ...g[0]?.[3] },
      values: g.map((p) => p[2]),
    }));
    for (const group of expected) {
      const own = lines.filter((l) => l.name === group.name && JSON.stringify(l.dimensions) === JSON.stringify(group.dimensions));
      expect(own.length, JSON.stringify(group.dimensions)).toBe(Math.ceil(group.values.length / MAX_VALUES_PER_LINE));
      expect(own.every((l) => l.unit === group.unit && l.values.length <= MAX_VALUES_PER_LINE)).toBe(true);
      expect(own.flatMap((l) => l.values)).toEqual(group.values);
    }
    // Every line belongs to one of the groups: no line mixes dimensions of two.
    expect(lines.length).toBe(expected.reduce((n, g) => n + Math.ceil(g.values.length / MAX_VALUES_PER_LINE), 0));
    expect(store.lines).toBe(lines.length);
    // The local window reads the same totals as one line per data point gave.
    const series = (name: string, dims: Record<string, string>) => store.items().find((s) => s.name === name && JSON.stringify(s.dimensions) === JSON.stringify({ service: 'svc', ...dims }));
    expect(series('Replays', { status: 'Success', mode: 'Tolerant' })).toMatchObject({ count: 250, sum: 250, min: 1, max: 1, last: 1 });
    expect(series('Replays', { status: 'Failed', mode: 'Tolerant' })).toMatchObject({ count: 25, sum: 25 });
    const latencies = groups.latencyOk?.map((p) => p[2]) ?? [];
    expect(series('ExecutorLatency', { executorType: 'http', outcome: 'ok' })).toMatchObject({ count: 250, sum: latencies.reduce((a, b) => a + b, 0), min: 200, max: 216, last: latencies.at(-1) });
    expect(series('ExecutorLatency', { executorType: 'http', outcome: 'error' })).toMatchObject({ count: 5, sum: 5000 * 5 + 0 + 50 + 100 + 150 + 200, min: 5000, max: 5200 });
    expect(series('TamperedSnapshots', {})).toMatchObject({ count: 3, sum: 3 });
  });

  it('keeps apart dimension sets that differ only in how their names and values split', () => {
    const { store, telemetry } = captured();
    telemetry.record('ExecutorErrors', 'Count', 1, { code: 'ab' });
    telemetry.record('ExecutorErrors', 'Count', 1, { cod: 'eab' });
    telemetry.record('ExecutorErrors', 'Count', 1, { code: 'ab' });
    telemetry.flush();

    expect(store.emf.map(read).map((l) => [l.dimensions, l.values])).toEqual([
      [{ service: 'svc', code: 'ab' }, [1, 1]],
      [{ service: 'svc', cod: 'eab' }, [1]],
    ]);
  });

  it("stamps a line with its last data point's time, and starts new lines for data points of a later minute", () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-02T10:00:58.000Z') });
    const { store, telemetry } = captured();
    telemetry.record('OnWriteLag', 'Milliseconds', 10);
    vi.setSystemTime(Date.parse('2026-12-02T10:00:59.500Z'));
    telemetry.record('OnWriteLag', 'Milliseconds', 20);
    vi.setSystemTime(Date.parse('2026-12-02T10:01:00.100Z'));
    telemetry.record('OnWriteLag', 'Milliseconds', 30);
    telemetry.flush();

    expect(store.emf.map((l) => [new Date(l._aws.Timestamp).toISOString(), read(l).values])).toEqual([
      ['2026-12-02T10:00:59.500Z', [10, 20]],
      ['2026-12-02T10:01:00.100Z', [30]],
    ]);
  });

  it(`publishes what is pending ${FLUSH_AFTER_MS} ms after its oldest data point, without an invocation ending`, () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-02T10:00:00.000Z') });
    const { store, telemetry } = captured();
    telemetry.record('Replays', 'Count', 1, { status: 'Success', mode: 'Strict' });
    vi.advanceTimersByTime(1_000);
    telemetry.record('Replays', 'Count', 1, { status: 'Success', mode: 'Strict' });
    vi.advanceTimersByTime(FLUSH_AFTER_MS - 1_001);
    expect(store.emf).toHaveLength(0);

    vi.advanceTimersByTime(1);
    expect(store.emf.map(read).map((l) => l.values)).toEqual([[1, 1]]);

    // A data point after an invocation's flush waits no longer either, and one timer serves both.
    telemetry.record('Replays', 'Count', 1, { status: 'Success', mode: 'Strict' });
    telemetry.flush();
    vi.advanceTimersByTime(2_000);
    telemetry.record('Replays', 'Count', 1, { status: 'Failed', mode: 'Strict' });
    vi.advanceTimersByTime(FLUSH_AFTER_MS - 1);
    expect(store.emf.map(read).map((l) => l.dimensions.status)).toEqual(['Success', 'Success', 'Failed']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('publishes nothing, and arms no timer, when nothing was recorded', () => {
    vi.useFakeTimers();
    const { store, telemetry } = captured();
    telemetry.flush();
    expect(store.emf).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never throws from flush: a group Powertools refuses is reported and the others are published', () => {
    const errors: unknown[] = [];
    const store = new RecordingStore();
    const telemetry = localTelemetry('svc', store, { onError: (err) => errors.push(err) });
    // A dimension named like the metric: Powertools refuses the line (EMF key collision).
    telemetry.record('Batches', 'Count', 1, { Batches: 'x' });
    telemetry.record('Batches', 'Count', 1, { status: 'SUCCEEDED' });

    expect(() => telemetry.flush()).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(store.emf.map(read)).toEqual([{ name: 'Batches', unit: 'Count', dimensions: { service: 'svc', status: 'SUCCEEDED' }, values: [1] }]);
  });
});

describe('withMetricsPublished', () => {
  it('publishes what an invocation recorded when it fails, and passes its error on', async () => {
    const { store, telemetry } = captured();
    const boom = new Error('boom');
    const handler = withMetricsPublished(telemetry, async (n: number) => {
      for (let i = 0; i < n; i++) telemetry.record('ExecutorErrors', 'Count', 1, { code: 'EXECUTOR_TIMEOUT' });
      throw boom;
    });

    await expect(handler(3)).rejects.toBe(boom);

    expect(store.items()).toMatchObject([{ name: 'ExecutorErrors', dimensions: { service: 'svc', code: 'EXECUTOR_TIMEOUT' }, count: 3, sum: 3 }]);
    expect(store.lines).toBe(1);
  });
});

/** A valid value of every variable any function reads (none is used: no invocation here reaches AWS). */
const ENV: Record<keyof typeof ENV_VARS, string> = {
  TABLE_NAME: 'decisions',
  STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:BatchWorkflow',
  EVENT_BUS_NAME: 'decision-replay',
  SIMILARITY_PROVIDER: 'lexical',
  EXECUTOR_ALLOW_PRIVATE_NETWORKS: 'false',
  EXECUTOR_SECRET_ARN_PREFIX: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:decision-replay/',
  CURSOR_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:CursorsSecret-AbCdEf',
  AUDIT_BUCKET: 'audit',
  AUDIT_KEY_ID: 'key',
  DIGEST_INTERVAL_MINUTES: '60',
  MANIFEST_BUCKET: 'manifests',
  ID_MANIFEST_BUCKETS: '',
};

describe('every Lambda composition', () => {
  it.each(LAMBDA_NAMES)('%s publishes its metrics when each invocation ends, however it ends', async (name: LambdaName) => {
    const pending: unknown[] = [];
    const published: unknown[][] = [];
    const telemetry: Telemetry = {
      record: (...point) => void pending.push(point),
      flush: () => void published.push(pending.splice(0)),
    };
    const unused = new Proxy({}, { get: (_, prop) => (prop === 'then' ? undefined : () => Promise.reject(new Error('no AWS in this test'))) });
    const clients = {
      clock: { now: () => Date.now() },
      ids: { next: () => '01JC0000000000000000000000' },
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      telemetry,
      doc: unused,
      s3: unused,
      executorSecrets: () => unused,
      manifestStore: () => unused,
      batchStarter: () => unused,
      eventPublisher: () => unused,
      auditStore: () => unused,
      digestSigner: () => unused,
    };
    const { compose } = (await import(`../../functions/handlers/${name}.compose.ts`)) as { compose: (config: unknown, clients: unknown) => (event: unknown) => Promise<unknown> };
    const handler = compose(lambdaEnv(name, ENV), clients);
    // An event no route or task accepts: answered (404) or refused, with no AWS call.
    const event = lambdaSpec(name).kind === 'api' ? apiEvent('GET /no-such-route', '/no-such-route') : { unexpected: true };

    await handler(event).catch(() => undefined);

    expect(published).toHaveLength(1);
  });
});
