/**
 * Local window onto the metrics (`GET /_local/metrics`): each function's Powertools Metrics writes
 * the same EMF lines it writes on AWS, and this store parses them — namespace, dimensions, metric
 * names, units and values as CloudWatch would read them — into one aggregate per series.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, powertoolsTelemetry, type BufferedTelemetryOptions, type Telemetry } from '../adapters/telemetry.js';

/** One series: a metric name under one set of dimension values. */
export interface LocalSeries {
  namespace: string;
  name: string;
  unit: string;
  dimensions: Record<string, string>;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  lastAt: string;
}

interface EmfLine {
  _aws?: { Timestamp?: number; CloudWatchMetrics?: Array<{ Namespace?: string; Dimensions?: string[][]; Metrics?: Array<{ Name?: string; Unit?: string }> }> };
  [key: string]: unknown;
}

export class LocalMetricsStore {
  private readonly series = new Map<string, LocalSeries>();
  /** EMF lines read so far. */
  lines = 0;

  /** Reads one EMF line (the JSON object Powertools would print); a line that is not EMF is ignored. */
  ingest(line: string): void {
    let emf: EmfLine;
    try {
      emf = JSON.parse(line) as EmfLine;
    } catch {
      return;
    }
    const directives = emf._aws?.CloudWatchMetrics;
    if (!Array.isArray(directives)) return;
    this.lines += 1;
    const at = new Date(emf._aws?.Timestamp ?? Date.now()).toISOString();
    for (const directive of directives) {
      const namespace = directive.Namespace ?? '';
      const dimensions: Record<string, string> = {};
      for (const set of directive.Dimensions ?? []) for (const d of set) if (typeof emf[d] === 'string') dimensions[d] = emf[d];
      const sortedDimensions = Object.entries(dimensions).sort();
      for (const metric of directive.Metrics ?? []) {
        const name = metric.Name ?? '';
        const raw = emf[name];
        // A metric's value is a number, or an array of up to 100 (each one data point).
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number');
        if (values.length > 0) this.add(JSON.stringify([namespace, name, sortedDimensions]), { namespace, name, unit: metric.Unit ?? 'None', dimensions }, values, at);
      }
    }
  }

  /** Adds a line's values of one series (found by `key`: namespace, name, sorted dimensions). */
  private add(key: string, id: Pick<LocalSeries, 'namespace' | 'name' | 'unit' | 'dimensions'>, values: number[], at: string): void {
    let s = this.series.get(key);
    if (s === undefined) {
      s = { ...id, dimensions: { ...id.dimensions }, count: 0, sum: 0, min: Infinity, max: -Infinity, last: 0, lastAt: at };
      this.series.set(key, s);
    }
    for (const value of values) {
      s.count += 1;
      s.sum += value;
      if (value < s.min) s.min = value;
      if (value > s.max) s.max = value;
    }
    s.last = values[values.length - 1] ?? s.last;
    s.lastAt = at;
  }

  /** Every series, by metric name then dimensions. */
  items(): LocalSeries[] {
    return [...this.series.values()].sort((a, b) => (a.name === b.name ? JSON.stringify(a.dimensions).localeCompare(JSON.stringify(b.dimensions)) : a.name.localeCompare(b.name)));
  }
}

/** Powertools Metrics whose EMF lines go to `sink` instead of stdout (the serialization is Powertools' own). */
class CapturedMetrics extends Metrics {
  constructor(
    serviceName: string,
    private readonly sink: (line: string) => void,
  ) {
    super({ namespace: METRICS_NAMESPACE, serviceName });
  }

  override publishStoredMetrics(): this {
    try {
      if (this.hasStoredMetrics()) this.sink(JSON.stringify(this.serializeMetrics()));
    } finally {
      this.clearMetrics();
      this.clearDimensions();
      this.clearMetadata();
    }
    return this;
  }
}

/** Powertools Metrics of one local function (service `serviceName`) whose EMF lines are read into `store`. */
export function localMetrics(serviceName: string, store: LocalMetricsStore): Metrics {
  return new CapturedMetrics(serviceName, (line) => store.ingest(line));
}

/** The telemetry of one local function (service `serviceName`), read into `store`: the same buffering and EMF lines as on AWS. */
export function localTelemetry(serviceName: string, store: LocalMetricsStore, options?: BufferedTelemetryOptions): Telemetry {
  return powertoolsTelemetry(localMetrics(serviceName, store), options);
}
