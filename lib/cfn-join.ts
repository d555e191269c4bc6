/**
 * Flattens a resolved CloudFormation value — a string, or `Fn::Join`s nesting strings and tokens —
 * into one string. The one place that walks `Fn::Join`: the batch definition's local rendering,
 * cdk-nag finding ids and the infra tests all use it, each saying what a token becomes.
 */

/** How the parts that are not strings or joins (Ref, Fn::GetAtt, …) and the strings are written. */
export interface FlattenOptions {
  /** A token: anything but a string or an `Fn::Join`. */
  token(node: unknown): string;
  /** A string part (default: as it is). */
  text?(value: string): string;
}

/** Joins `value` the way CloudFormation's `Fn::Join` would, writing tokens with `options.token`. */
export function flattenJoin(value: unknown, options: FlattenOptions): string {
  if (typeof value === 'string') return options.text ? options.text(value) : value;
  const join = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['Fn::Join'] : undefined;
  if (Array.isArray(join) && join.length === 2 && typeof join[0] === 'string' && Array.isArray(join[1])) {
    return (join[1] as unknown[]).map((part) => flattenJoin(part, options)).join(join[0]);
  }
  return options.token(value);
}
