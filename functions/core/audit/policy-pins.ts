/**
 * The policy pins of a verified range: every report, replay result and batch result judged under a
 * stored policy version names it, with that version's contentHash (`policy: {name, version,
 * contentHash}`). A sealed `passed` is only as good as the rules it was judged under, so a
 * verification checks each pin against the policy version as the audit digests sealed it — also
 * when that version was stored long before the range, or the range is one function's (a policy
 * version belongs to no single function).
 *
 * For each pinned version: it is re-read where the record source reads records (the table, the
 * API, a bundle's `records/policies.jsonl`), re-hashed, and looked up in the manifest of the
 * digest of its window (or of the late horizon after it), whose signature and manifest hash are
 * checked. Findings:
 * - on the version (`kind: policy`): gone (`missing`), content no longer matching its hash, or hash
 *   not the sealed one (`altered`), in a sealed window but named by no digest (`unexpected`);
 * - on each record whose pin is not the sealed version's contentHash (`altered`): it was judged
 *   under rules that are not the sealed ones (the version was rewritten and restored, say).
 */
import type { KeyObject } from 'node:crypto';
import { policyRecordId, recordContentHash, type RecordKind } from '../records.js';
import { auditObjects, DigestSchema, lateWindows, ManifestFormatError, parseManifest, sha256, verifyDigestSignature, windowOf } from './digest.js';
import type { AuditRecordSource, AuditStore, RecordLocator } from './ports.js';
import type { Finding, FoundRecord } from './verify.js';

/** Where a policy version is stored (the table's key, which the record source reads at). */
export type PolicyLocator = (name: string, version: number) => RecordLocator;

/** A record's policy pin, when it names a stored version with a contentHash. */
export function pinOf(content: Record<string, unknown>): { name: string; version: number; contentHash: string } | undefined {
  const p = content.policy;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return undefined;
  const { name, version, contentHash } = p as Record<string, unknown>;
  if (typeof name !== 'string' || typeof version !== 'number' || !Number.isInteger(version) || typeof contentHash !== 'string') return undefined;
  return { name, version, contentHash };
}

/** What a verification learned of one pinned policy version. */
interface PolicyVersionState {
  id: string;
  /** The stored version's createdAt, when it was found. */
  createdAt?: string;
  /** The contentHash the pins are judged against; undefined when there is none to trust. */
  trusted: string | undefined;
  /** What is wrong with the version itself, as findings (reported once). */
  findings: Array<{ list: 'altered' | 'missing' | 'unexpected' | 'badSignatures'; finding: Finding }>;
}

export interface PolicyPinDeps {
  records: Pick<AuditRecordSource, 'get'>;
  store: Pick<AuditStore, 'getObject'>;
  publicKey: KeyObject | string;
  intervalMs: number;
  locate: PolicyLocator;
  /** "Now": a window not closed by then is not sealed yet (no finding). */
  now: number;
  settleMs: number;
  /** Where the records are read from, for the reasons ("in the table", "in the bundle"). */
  recordsLabel: string;
}

type Push = (list: 'altered' | 'missing' | 'unexpected' | 'badSignatures', finding: Finding) => void;

export class PolicyPinCheck {
  private readonly waiting: Array<{ kind: RecordKind; id: string; pin: { name: string; version: number; contentHash: string } }> = [];
  private readonly versions = new Map<string, Promise<PolicyVersionState>>();

  constructor(private readonly deps: PolicyPinDeps) {}

  /** A record of the range (in scope): its pin, if any, is checked at the next {@link settle}. */
  note(record: FoundRecord): void {
    const pin = pinOf(record.content);
    if (pin !== undefined) this.waiting.push({ kind: record.kind, id: record.id, pin });
  }

  /** Judges the pins noted so far (each version is read once per verification). */
  async settle(push: Push): Promise<void> {
    const batch = this.waiting.splice(0);
    for (const { kind, id, pin } of batch) {
      const state = await this.version(pin.name, pin.version);
      if (state.trusted !== undefined && state.trusted !== pin.contentHash) {
        push('altered', {
          id,
          kind,
          reason: `it pins policy '${pin.name}' version ${pin.version} with contentHash ${pin.contentHash}, but that version is sealed with ${state.trusted}: it was judged under rules that are not the sealed version's (the policy was rewritten behind the service, then perhaps restored)`,
        });
      }
    }
  }

  /**
   * The findings on the pinned versions themselves, once each; `covered` skips a version the run
   * verifies itself (it reports what is wrong with it).
   */
  async finish(push: Push, covered: (id: string, createdAt: string | undefined) => boolean): Promise<void> {
    for (const pending of this.versions.values()) {
      const state = await pending;
      if (covered(state.id, state.createdAt)) continue;
      for (const f of state.findings) push(f.list, f.finding);
    }
  }

  private version(name: string, version: number): Promise<PolicyVersionState> {
    const id = policyRecordId(name, version);
    let state = this.versions.get(id);
    if (state === undefined) {
      state = this.read(name, version, id);
      this.versions.set(id, state);
    }
    return state;
  }

  private async read(name: string, version: number, id: string): Promise<PolicyVersionState> {
    const what = `policy '${name}' version ${version}`;
    const found = await this.deps.records.get(this.deps.locate(name, version));
    if (!found) return { id, trusted: undefined, findings: [{ list: 'missing', finding: { id, kind: 'policy', reason: `${what} is pinned by records of the range but not found ${this.deps.recordsLabel}: deleted` } }] };
    const stored = found.content.contentHash;
    const recomputed = recordContentHash(found.content);
    const intact = typeof stored === 'string' && stored === recomputed;
    const findings: PolicyVersionState['findings'] = [];
    const base = { id, createdAt: found.createdAt };
    if (!intact) findings.push({ list: 'altered', finding: { id, kind: 'policy', reason: `${what}: its content no longer matches its contentHash (recomputed ${recomputed})` } });
    const seal = await this.sealed(found);
    if (seal.state === 'named') {
      if (stored !== seal.contentHash && intact) {
        findings.push({ list: 'altered', finding: { id, kind: 'policy', window: seal.window, reason: `${what}: its contentHash ${String(stored)} is not the ${seal.contentHash} sealed in the digest of ${seal.window}: content and hash were both rewritten` } });
      }
      return { ...base, trusted: seal.contentHash, findings };
    }
    if (seal.state === 'not-named') {
      findings.push({ list: 'unexpected', finding: { id, kind: 'policy', window: seal.window, reason: `${what}, created at ${found.createdAt} in a sealed window, is named by no digest (inserted or back-dated behind the service)` } });
    } else if (seal.state === 'bad-signature') {
      findings.push({ list: 'badSignatures', finding: { id: seal.window, kind: 'digest', window: seal.window, reason: `the digest that seals ${what} does not verify (signature or manifest changed)` } });
    }
    // Not sealed yet (or its seal is broken): the stored version is all there is, if it is intact.
    return { ...base, trusted: intact ? (stored as string) : undefined, findings };
  }

  /** The version's entry in the digest of its window, or of a window of the late horizon after it. */
  private async sealed(found: FoundRecord): Promise<{ state: 'named'; contentHash: string; window: string } | { state: 'not-named' | 'bad-signature'; window: string } | { state: 'not-sealed' }> {
    const { intervalMs, store, publicKey } = this.deps;
    const created = Date.parse(found.createdAt);
    if (Number.isNaN(created)) return { state: 'not-sealed' };
    const first = windowOf(created, intervalMs).start;
    let sealedAny: string | undefined;
    for (let k = 0; k <= lateWindows(intervalMs); k++) {
      const windowStart = new Date(first + k * intervalMs).toISOString();
      const bytes = await store.getObject(auditObjects.digest(windowStart));
      if (!bytes) break;
      const signature = await store.getObject(auditObjects.signature(windowStart));
      let digest;
      try {
        digest = DigestSchema.parse(JSON.parse(bytes.toString('utf8')));
      } catch {
        return { state: 'bad-signature', window: windowStart };
      }
      const manifest = await store.getObject(digest.manifestObject);
      if (signature === undefined || !verifyDigestSignature(bytes, signature, publicKey) || manifest === undefined || sha256(manifest).toString('hex') !== digest.manifestHash) return { state: 'bad-signature', window: windowStart };
      sealedAny ??= windowStart;
      let entries;
      try {
        entries = parseManifest(manifest);
      } catch (err) {
        if (err instanceof ManifestFormatError) return { state: 'bad-signature', window: windowStart };
        throw err;
      }
      const entry = entries.find((e) => e.kind === 'policy' && e.id === found.id);
      if (entry) return { state: 'named', contentHash: entry.contentHash, window: windowStart };
    }
    if (sealedAny === undefined) return { state: 'not-sealed' };
    // Named by none of the digests written so far: if the late horizon after its window is not over, a digest still to be written may seal it.
    const horizonEnd = first + (lateWindows(intervalMs) + 1) * intervalMs + this.deps.settleMs;
    return horizonEnd > this.deps.now ? { state: 'not-sealed' } : { state: 'not-named', window: sealedAny };
  }
}
