/**
 * The policy store port, the stored form of a policy and its lookup by name, apart from the
 * policy's schemas (./policy-model.ts): a function that starts batches naming a policy, or that
 * composes the policy store, needs none of them.
 */
import { NotFoundError } from './errors.js';
import type { PolicyBody, StoredPolicy } from './policy-model.js';

/**
 * Port: versioned policy storage. Each put stores the next version (1, 2, …) and moves LATEST;
 * implemented over DynamoDB in adapters/dynamodb.
 */
export interface PolicyStore {
  /** Stores `body` as the next version of `body.name` and returns the stored policy. */
  putNextVersion(body: PolicyBody & { name: string }, createdAt: string): Promise<StoredPolicy>;
  getLatest(name: string): Promise<StoredPolicy | undefined>;
  getVersion(name: string, version: number): Promise<StoredPolicy | undefined>;
  /** Latest versions, by name; `cursor` is an opaque token this store issued. */
  list(limit: number, cursor?: string): Promise<{ items: StoredPolicy[]; nextCursor?: string }>;
  /** Latest versions of the policies whose `functionNames` include `functionName`. */
  listAttachedTo(functionName: string): Promise<StoredPolicy[]>;
}

/** The stored policy `name`: its `version`, else its latest; 404 when there is none. */
export async function resolveNamedPolicy(policies: PolicyStore, name: string, version?: number): Promise<{ name: string; version: number; rules: StoredPolicy['rules'] }> {
  const stored = version === undefined ? await policies.getLatest(name) : await policies.getVersion(name, version);
  if (!stored) throw version === undefined ? new NotFoundError('policy', name) : new NotFoundError('policy', `${name} version ${version}`, { message: `policy '${name}' has no version ${version}` });
  return { name: stored.name, version: stored.version, rules: stored.rules };
}

/** The stored form of a validated body: `functionNames` defaults to none and is de-duplicated. */
export function buildStoredPolicy(body: PolicyBody & { name: string }, version: number, createdAt: string): StoredPolicy {
  return {
    name: body.name,
    version,
    ...(body.description !== undefined && { description: body.description }),
    functionNames: [...new Set(body.functionNames ?? [])],
    rules: body.rules,
    createdAt,
  };
}
