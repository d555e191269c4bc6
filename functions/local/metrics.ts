/**
 * Local window onto the metrics (`GET /_local/metrics`): each function's Powertools Metrics writes
 * the same EMF lines it writes on AWS, and this store parses them — namespace, dimensions, metric
 * names, units and values as CloudWatch would read them — into one aggregate per series.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, powertoolsTelemetry, type Telemetry } from '../adapters/telemetry.js';

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
      for (const metric of directive.Metrics ?? []) {
        const name = metric.Name ?? '';
        const raw = emf[name];
        for (const value of (Array.isArray(raw) ? raw : [raw]).filter((v): v is number => typeof v === 'number')) this.add(namespace, name, metric.Unit ?? 'None', dimensions, value, at);
      }
    }
  }

  private add(namespace: string, name: string, unit: string, dimensions: Record<string, string>, value: number, at: string): void {
    const key = JSON.stringify([namespace, name, Object.entries(dimensions).sort()]);
    const s = this.series.get(key);
    if (s === undefined) {
      this.series.set(key, { namespace, name, unit, dimensions, count: 1, sum: value, min: value, max: value, last: value, lastAt: at });
      return;
    }
    s.count += 1;
    s.sum += value;
    s.min = Math.min(s.min, value);
    s.max = Math.max(s.max, value);
    s.last = value;
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

/** The telemetry of one local function (service `serviceName`), read into `store`. */
export function localTelemetry(serviceName: string, store: LocalMetricsStore): Telemetry {
  return powertoolsTelemetry(new CapturedMetrics(serviceName, (line) => store.ingest(line)));
}
