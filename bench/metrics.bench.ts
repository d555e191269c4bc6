/**
 * Metrics (functions/adapters/telemetry.ts): main-thread CPU per recorded data point, with data
 * points gathered per metric, unit and dimension set into lines of up to 100 values, against the
 * baseline of one EMF line per data point (Powertools' addDimensions + addMetric +
 * publishStoredMetrics for each, what the project did before). Both through the same Powertools
 * Metrics: on AWS printing to a discarding stream (the write itself is left out, so the saving is
 * understated: on Lambda each line is also a write to stdout and a CloudWatch log event), and
 * locally into the store `GET /_local/metrics` reads. Two invocation shapes: a batch chunk of 13
 * items (what a 1,000-item batch at maxConcurrency 40 is cut into), two data points an item
 * (Replays and ExecutorLatency, as observability.ts records them), and an API replay (one item an
 * invocation). Rounds alternate the variants; CPU is process.cpuUsage over each round; the ratio is
 * the median of the paired per-round ratios. An A/A pair (the baseline against itself) shows the
 * noise floor.
 */
import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, powertoolsTelemetry, type Telemetry } from '../functions/adapters/telemetry.js';
import { LocalMetricsStore, localMetrics } from '../functions/local/metrics.js';
import { median, printFigures, type Figure } from './report.js';

const ITEMS = Number(process.env.BENCH_METRICS_ITEMS ?? 2_000);
const ROUNDS = Number(process.env.BENCH_METRICS_ROUNDS ?? 31);
const WARMUP = 3;

/** Powertools Metrics as a Lambda has them, printing to a stream that discards. */
function awsMetrics(): Metrics {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'decision-replay-batch-replay' });
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  (metrics as unknown as { console: Console }).console = new Console({ stdout: discard, stderr: discard });
  return metrics;
}

/** The baseline: each data point its own EMF line, at once. */
function perPoint(metrics: Metrics): Telemetry {
  const units = { Count: MetricUnit.Count, Milliseconds: MetricUnit.Milliseconds, Percent: MetricUnit.Percent };
  return {
    record(name, unit, value, dimensions) {
      if (dimensions !== undefined) metrics.addDimensions({ ...dimensions });
      metrics.addMetric(name, units[unit], value);
      metrics.publishStoredMetrics();
    },
    flush: () => undefined,
  };
}

/** One batch item's data points, as observability.ts records them. */
function item(telemetry: Telemetry, i: number): void {
  telemetry.record('Replays', 'Count', 1, { status: i % 7 === 0 ? 'Failed' : 'Success', mode: 'Tolerant' });
  telemetry.record('ExecutorLatency', 'Milliseconds', 180 + (i % 41), { executorType: 'http', outcome: 'ok' });
}

/** µs of CPU per data point over ITEMS items, invocations of `perInvocation` items each. */
function round(telemetry: Telemetry, perInvocation: number): number {
  const started = process.cpuUsage();
  for (let i = 0; i < ITEMS; i++) {
    item(telemetry, i);
    if ((i + 1) % perInvocation === 0) telemetry.flush();
  }
  telemetry.flush();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / (ITEMS * 2);
}

type Variant = () => Telemetry;

function compare(cases: Record<string, Variant>, perInvocation: number): Record<string, number[]> {
  const times: Record<string, number[]> = {};
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    const order = Object.entries(cases);
    // Alternate which variant goes first.
    if (r % 2 === 1) order.reverse();
    for (const [name, make] of order) {
      const us = round(make(), perInvocation);
      if (r >= WARMUP) (times[name] ??= []).push(us);
    }
  }
  return times;
}

function pairedRatio(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / (b[i] ?? Number.NaN)));
}

export default async function run(): Promise<void> {
  const figures: Figure[] = [];
  for (const [shape, perInvocation] of [['batch chunk of 13 items (1,040 at 40)', 13], ['API replay (1 item an invocation)', 1]] as const) {
    const aws = compare({ gathered: () => powertoolsTelemetry(awsMetrics()), perPoint: () => perPoint(awsMetrics()), perPointAgain: () => perPoint(awsMetrics()) }, perInvocation);
    const local = compare({ gathered: () => powertoolsTelemetry(localMetrics('svc', new LocalMetricsStore())), perPoint: () => perPoint(localMetrics('svc', new LocalMetricsStore())) }, perInvocation);
    const at = (t: Record<string, number[]>, k: string) => median(t[k] ?? []);
    figures.push(
      { figure: `AWS, ${shape}: CPU per data point, gathered ÷ one line each`, ours: at(aws, 'gathered'), baseline: at(aws, 'perPoint'), unit: 'µs', ratio: pairedRatio(aws.gathered ?? [], aws.perPoint ?? []) },
      { figure: `AWS, ${shape}: A/A, one line each ÷ one line each`, ours: at(aws, 'perPointAgain'), baseline: at(aws, 'perPoint'), unit: 'µs', ratio: pairedRatio(aws.perPointAgain ?? [], aws.perPoint ?? []) },
      { figure: `local store, ${shape}: CPU per data point, gathered ÷ one line each`, ours: at(local, 'gathered'), baseline: at(local, 'perPoint'), unit: 'µs', ratio: pairedRatio(local.gathered ?? [], local.perPoint ?? []) },
    );
  }
  printFigures(`metrics: CPU per data point (${ITEMS} items × 2 data points a round, ${ROUNDS} rounds)`, figures);
}
