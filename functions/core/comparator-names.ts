/**
 * The names of the comparators a policy rule may name (DESIGN §4), apart from their registry
 * (comparators.ts): a policy's schema, a stored policy and a replay result need the names only,
 * and a module that imports the registry brings the engines its entries load on first need (RE2,
 * the JSON Schema validator), which every function bundle that can reach them ships. The registry
 * is typed against this list, so a comparator cannot be named here without an entry there, nor
 * have an entry without a name here.
 */
export const COMPARATOR_NAMES = ['ExactMatch', 'SemanticSimilarity', 'MaxIncreasePercent', 'MaxDecreasePercent', 'WithinRange', 'Regex', 'Contains', 'JsonSchema', 'Levenshtein'] as const;

export type ComparatorName = (typeof COMPARATOR_NAMES)[number];

export function isComparatorName(name: string): name is ComparatorName {
  return (COMPARATOR_NAMES as readonly string[]).includes(name);
}
