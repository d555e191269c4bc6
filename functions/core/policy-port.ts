/**
 * The policy store port, the stored form of a policy and its lookup by name, apart from the
 * policy's schemas (./policy-model.ts): a function that starts batches naming a policy, or that
 * composes the policy store, needs none of them.
 *
 * Policy versions are sealed records (core/records.ts): each carries the `contentHash` of its
 * content, and nothing judges a decision under a version whose content no longer matches it.
 */
import { ConflictError, NotFoundError } from './errors.js';
import type { PolicyBody, StoredPolicy } from './policy-model.js';
import { recordContentHash, sealRecord } from './records.js';

/**
 * Port: versioned policy storage. Each put stores the next version (1, 2, …) and moves LATEST;
 * implemented over DynamoDB in adapters/dynamodb.
 */
export interface PolicyStore {
  /** Stores `body` as the next version of `body.name` and returns the stored (sealed) policy. */
  putNextVersion(body: PolicyBody & { name: string }, createdAt: string): Promise<StoredPolicy>;
  getLatest(name: string): Promise<StoredPolicy | undefined>;
  getVersion(name: string, version: number): Promise<StoredPolicy | undefined>;
  /** Latest versions, by name; `cursor` is an opaque token this store issued. */
  list(limit: number, cursor?: string): Promise<{ items: StoredPolicy[]; nextCursor?: string }>;
  /** Latest versions of the policies whose `functionNames` include `functionName`. */
  listAttachedTo(functionName: string): Promise<StoredPolicy[]>;
}

/**
 * What a report, a replay result or a batch pins of the stored policy version it was judged
 * under: its name, version and the contentHash that version is sealed with. `contentHash` is
 * absent for an inline policy (version null: nothing stored to pin).
 */
export interface PolicyPin {
  name: string;
  version: number | null;
  contentHash?: string;
}

/** A named policy resolved for evaluation: its rules and the pin of the version they come from. */
export type ResolvedPolicy = { name: string; version: number; contentHash: string; rules: StoredPolicy['rules'] };

/**
 * 409 POLICY_TAMPERED: the stored policy version no longer matches its contentHash (or carries
 * none, or is not the version a batch pinned). Its rules are not applied: a verdict under rules
 * that may have been loosened behind the service would be sealed as if the policy said so.
 */
export class PolicyTamperedError extends ConflictError {
  constructor(
    readonly policyName: string,
    readonly version: number,
    problem: string,
  ) {
    super(`policy '${policyName}' version ${version} ${problem}; its rules are not applied. Restore the version from a copy, or PUT the policy again to store a new sealed version`, {
      code: 'POLICY_TAMPERED',
      details: { name: policyName, version },
    });
    this.name = 'PolicyTamperedError';
  }
}

/**
 * The verdict of {@link checkPolicySeal} per policy object read: the on-write path sees the same
 * objects for as long as the attached-policies cache keeps them (a few seconds), so a snapshot
 * pays for hashing its policies only when they were read afresh. (Objects read from a store are
 * never changed in place.)
 */
const sealVerdicts = new WeakMap<object, string | null>();

/**
 * What is wrong with a stored policy version's seal, or undefined when its content matches its
 * contentHash. A version without a contentHash is not trusted either: it was stored before
 * versions were sealed, or its hash was removed, and the two cannot be told apart.
 */
export function checkPolicySeal(stored: StoredPolicy): string | undefined {
  const known = sealVerdicts.get(stored);
  if (known !== undefined) return known ?? undefined;
  const problem = sealProblem(stored);
  sealVerdicts.set(stored, problem ?? null);
  return problem;
}

function sealProblem(stored: StoredPolicy): string | undefined {
  const recorded = (stored as { contentHash?: unknown }).contentHash;
  if (typeof recorded !== 'string') return 'carries no contentHash (stored before policy versions were sealed, or its hash was removed)';
  const actual = recordContentHash(stored);
  if (actual !== recorded) return `no longer matches its contentHash (recorded ${recorded}, its content hashes to ${actual}): it was altered after it was stored`;
  return undefined;
}

/**
 * The stored policy `name`: its `version`, else its latest; 404 when there is none, 409
 * {@link PolicyTamperedError} when the version fails its seal or is not the `pinned` contentHash
 * (a batch's pin: the version was rewritten, content and hash, since the batch started).
 */
export async function resolveNamedPolicy(policies: PolicyStore, name: string, version?: number, pinned?: string): Promise<ResolvedPolicy> {
  const stored = version === undefined ? await policies.getLatest(name) : await policies.getVersion(name, version);
  if (!stored) throw version === undefined ? new NotFoundError('policy', name) : new NotFoundError('policy', `${name} version ${version}`, { message: `policy '${name}' has no version ${version}` });
  const problem = checkPolicySeal(stored);
  if (problem !== undefined) throw new PolicyTamperedError(stored.name, stored.version, problem);
  const contentHash = stored.contentHash as string;
  if (pinned !== undefined && pinned !== contentHash) throw new PolicyTamperedError(stored.name, stored.version, `has contentHash ${contentHash}, not the ${pinned} pinned when the batch started: it was rewritten since`);
  return { name: stored.name, version: stored.version, contentHash, rules: stored.rules };
}

/** The stored form of a validated body, sealed: `functionNames` defaults to none and is de-duplicated. */
export function buildStoredPolicy(body: PolicyBody & { name: string }, version: number, createdAt: string): StoredPolicy {
  return sealRecord({
    name: body.name,
    version,
    ...(body.description !== undefined && { description: body.description }),
    functionNames: [...new Set(body.functionNames ?? [])],
    rules: body.rules,
    createdAt,
  });
}
