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

/**
 * Records metrics. Each `record` is one data point with exactly the dimensions given; data points
 * are published in batches (see {@link bufferedTelemetry}), and `flush` publishes what is pending.
 */
export interface Telemetry {
  record(name: MetricName, unit: TelemetryUnit, value: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Publishes every data point recorded so far. Called when each invocation ends; never throws. */
  flush(): void;
}

/** The data points of one metric under one dimension set, published as one EMF line. */
export interface MetricGroup {
  name: MetricName;
  unit: TelemetryUnit;
  /** Exactly the dimensions each of these data points was recorded with (besides `service`). */
  dimensions: Record<string, string> | undefined;
  /** In the order they were recorded; at most {@link MAX_VALUES_PER_LINE}. */
  values: number[];
  /** Epoch ms of the last data point: the line's EMF `Timestamp`. */
  lastAt: number;
}

/**
 * Most values one EMF line carries for one metric: CloudWatch reads up to 100 values per metric
 * in a line, and Powertools publishes its buffer when a metric reaches 100 values.
 */
export const MAX_VALUES_PER_LINE = 100;

/**
 * The longest a data point waits for its line: 5 s. A batch chunk runs for minutes, and what it
 * recorded is on the dashboard within seconds of happening, not at its end; an invocation cut off
 * without its `finally` (a Lambda timeout, a killed process) loses at most the last 5 s of data
 * points, where it lost none before; and a chunk of 200 ms items still packs ~25 data points per
 * metric into each line, where a 1 s bound would pack 5.
 */
export const FLUSH_AFTER_MS = 5_000;

const MINUTE_MS = 60_000;

export interface BufferedTelemetryOptions {
  /** See {@link FLUSH_AFTER_MS}. */
  flushAfterMs?: number;
  /** What to do with a group its publisher refused (default: print it to stderr): flush never throws. */
  onError?: (err: unknown, group: MetricGroup) => void;
}

/**
 * Telemetry that gathers data points by metric name, unit and exact dimension set, and hands each
 * group to `publish` (one EMF line). Each data point keeps exactly its own dimensions: a group
 * holds only data points recorded with the same ones. A group is published when it reaches
 * {@link MAX_VALUES_PER_LINE} values; everything pending is published on `flush` (the end of each
 * invocation), {@link FLUSH_AFTER_MS} after the oldest pending data point, and before a data point
 * of a later wall-clock minute is taken in — so a line's data points share the minute of its
 * Timestamp, and CloudWatch's per-minute statistics are those of the data points one by one.
 */
export function bufferedTelemetry(publish: (group: MetricGroup) => void, options: BufferedTelemetryOptions = {}): Telemetry {
  const flushAfterMs = options.flushAfterMs ?? FLUSH_AFTER_MS;
  const onError = options.onError ?? ((err: unknown, group: MetricGroup) => console.error(`metric ${group.name} (${group.values.length} data points) could not be published:`, err));
  const groups = new Map<string, MetricGroup>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let minuteEnds = -Infinity;
  const send = (group: MetricGroup) => {
    try {
      publish(group);
    } catch (err) {
      onError(err, group);
    }
  };
  const flush = () => {
    if (groups.size === 0) return;
    const pending = [...groups.values()];
    groups.clear();
    for (const group of pending) send(group);
  };
  // One timer at a time, armed by the first data point while none is pending, and left running by
  // an invocation's flush (arming one per invocation would cost more than its data points): every
  // data point pending when it fires came after it was armed, so none waits more than flushAfterMs.
  const timerFired = () => {
    timer = undefined;
    flush();
  };
  return {
    record(name, unit, value, dimensions) {
      const now = Date.now();
      if (now >= minuteEnds) {
        flush();
        minuteEnds = (Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS;
      }
      // Name, unit and each dimension, length-prefixed: two different dimension sets never share a key.
      let key = `${name}:${unit}`;
      if (dimensions !== undefined) for (const d in dimensions) key += `|${d.length}:${d}${dimensions[d]?.length}:${dimensions[d]}`;
      const group = groups.get(key);
      if (group === undefined) {
        groups.set(key, { name, unit, dimensions: dimensions === undefined ? undefined : { ...dimensions }, values: [value], lastAt: now });
      } else {
        group.values.push(value);
        group.lastAt = now;
        if (group.values.length >= MAX_VALUES_PER_LINE) {
          groups.delete(key);
          send(group);
        }
      }
      if (timer === undefined && groups.size > 0) {
        timer = setTimeout(timerFired, flushAfterMs);
        // A pending flush must not keep a process alive that has nothing else to do.
        timer.unref?.();
      }
    },
    flush,
  };
}

const UNITS: Record<TelemetryUnit, (typeof MetricUnit)[keyof typeof MetricUnit]> = { Count: MetricUnit.Count, Milliseconds: MetricUnit.Milliseconds, Percent: MetricUnit.Percent };

/**
 * Publishes a group through Powertools Metrics as one EMF line: its dimensions (beside `service`),
 * its values as the metric's array, stamped with its last data point's time.
 */
export function publishWithPowertools(metrics: Metrics): (group: MetricGroup) => void {
  return (group) => {
    try {
      // The group's own copy, taken when its first data point was recorded.
      if (group.dimensions !== undefined) metrics.addDimensions(group.dimensions);
      metrics.setTimestamp(group.lastAt);
      // Powertools publishes by itself when a metric reaches 100 values (MAX_METRIC_VALUES_SIZE).
      for (const value of group.values) metrics.addMetric(group.name, UNITS[group.unit], value);
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    } catch (err) {
      // A refused group leaves nothing behind for the next.
      metrics.clearMetrics();
      metrics.clearDimensions();
      throw err;
    }
  };
}

/**
 * Telemetry over a Powertools Metrics instance: data points gathered per metric, unit and
 * dimension set ({@link bufferedTelemetry}), each group published as one EMF line of up to 100
 * values (where it was one line per data point).
 */
export function powertoolsTelemetry(metrics: Metrics, options?: BufferedTelemetryOptions): Telemetry {
  return bufferedTelemetry(publishWithPowertools(metrics), options);
}

/** The Metrics of one function: namespace {@link METRICS_NAMESPACE}, service name from `POWERTOOLS_SERVICE_NAME` unless given. */
export function createMetrics(serviceName?: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, ...(serviceName !== undefined && { serviceName }) });
}
