/**
 * Metrics of decision-replay, in CloudWatch Embedded Metric Format (EMF) through Powertools Metrics,
 * under one namespace. The names here are the ones the CDK dashboard and alarms read
 * (lib/observability.ts) and the local host serves at `GET /_local/metrics`.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** The CloudWatch namespace of every metric of the project. */
export const METRICS_NAMESPACE = 'DecisionReplay';

/** Every metric the functions emit, with the dimensions each carries (besides `service`, the function). */
export const METRIC = {
  /** Count of stored replay results; dimensions `status`, `mode`. */
  replays: 'Replays',
  /** Milliseconds one executor call took (answered or not); dimensions `executorType`, `outcome` (ok | error). */
  executorLatency: 'ExecutorLatency',
  /** Count of executor errors; dimension `code`. */
  executorErrors: 'ExecutorErrors',
  /** Count of violated policy rules; dimension `source` (replay | on-write). */
  policyViolations: 'PolicyViolations',
  /** Milliseconds from a snapshot's `createdAt` until on-write validated it. No extra dimension. */
  onWriteLag: 'OnWriteLag',
  /** Percent of a finished batch's successful replays whose outputs matched. No extra dimension. */
  batchMatchRate: 'BatchMatchRate',
  /** Count of finished batches; dimension `status`. */
  batches: 'Batches',
  /** Count of replays that found their snapshot tampered with. No extra dimension. */
  tamperedSnapshots: 'TamperedSnapshots',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];
export type TelemetryUnit = 'Count' | 'Milliseconds' | 'Percent';

/** Records metrics; each call is one data point with exactly the dimensions given. */
export interface Telemetry {
  record(name: MetricName, unit: TelemetryUnit, value: number, dimensions?: Readonly<Record<string, string>>): void;
}

const UNITS: Record<TelemetryUnit, (typeof MetricUnit)[keyof typeof MetricUnit]> = { Count: MetricUnit.Count, Milliseconds: MetricUnit.Milliseconds, Percent: MetricUnit.Percent };

/**
 * Telemetry over a Powertools Metrics instance. Every data point is published at once, as its own
 * EMF line: dimensions then never leak from one data point to another, and nothing is lost when an
 * invocation ends in an error.
 */
export function powertoolsTelemetry(metrics: Metrics): Telemetry {
  return {
    record(name, unit, value, dimensions) {
      if (dimensions !== undefined) metrics.addDimensions({ ...dimensions });
      metrics.addMetric(name, UNITS[unit], value);
      metrics.publishStoredMetrics();
    },
  };
}

/** The Metrics of one function: namespace {@link METRICS_NAMESPACE}, service name from `POWERTOOLS_SERVICE_NAME` unless given. */
export function createMetrics(serviceName?: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, ...(serviceName !== undefined && { serviceName }) });
}
