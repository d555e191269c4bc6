/**
 * The audit store on the local host: `DATA_DIR/audit/` (digests/, manifests/), files written
 * once (exclusive create) and read-only afterwards; or the same layout in memory.
 */
import { chmod, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { auditObjects } from '../../core/audit/digest.js';
import { AuditObjectExistsError, type AuditStore } from '../../core/audit/ports.js';

const DIGEST_SUFFIX = '.json';

function inRange(start: string, from?: string, to?: string): boolean {
  return (from === undefined || start >= from) && (to === undefined || start < to);
}

/** Window starts from digest object names, ascending. */
function digestStarts(names: Iterable<string>): string[] {
  return [...names].filter((n) => n.endsWith(DIGEST_SUFFIX)).map((n) => n.slice(0, -DIGEST_SUFFIX.length)).sort();
}

export class FileAuditStore implements AuditStore {
  constructor(private readonly root: string) {}

  async putDigest(windowStart: string, parts: { digest: Buffer; signature: Buffer; manifest: Buffer; manifestObject: string }): Promise<void> {
    if ((await this.getObject(auditObjects.digest(windowStart))) !== undefined) throw new AuditObjectExistsError(auditObjects.digest(windowStart));
    // Leftovers of an attempt that died before its digest was written are replaced: until the
    // digest exists, the window is not sealed.
    await this.replace(parts.manifestObject, parts.manifest);
    await this.replace(auditObjects.signature(windowStart), parts.signature);
    await this.writeOnce(auditObjects.digest(windowStart), parts.digest);
  }

  async getObject(name: string): Promise<Buffer | undefined> {
    try {
      return await readFile(join(this.root, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async getObjectRange(name: string, start: number, end: number): Promise<{ bytes: Buffer; size: number } | undefined> {
    let file;
    try {
      file = await open(join(this.root, name), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const { size } = await file.stat();
      const length = Math.max(0, Math.min(end, size - 1) - start + 1);
      const bytes = Buffer.alloc(length);
      let read = 0;
      while (read < length) {
        const { bytesRead } = await file.read(bytes, read, length - read, start + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      return { bytes: bytes.subarray(0, read), size };
    } finally {
      await file.close();
    }
  }

  async listDigests(from?: string, to?: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, 'digests'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return digestStarts(names).filter((s) => inRange(s, from, to));
  }

  async latestDigest(): Promise<string | undefined> {
    return (await this.listDigests()).at(-1);
  }

  private async replace(name: string, bytes: Buffer): Promise<void> {
    await rm(join(this.root, name), { force: true });
    await this.writeOnce(name, bytes);
  }

  private async writeOnce(name: string, bytes: Buffer): Promise<void> {
    const path = join(this.root, name);
    await mkdir(dirname(path), { recursive: true });
    try {
      await writeFile(path, bytes, { flag: 'wx', mode: 0o444 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AuditObjectExistsError(name);
      throw err;
    }
    await chmod(path, 0o444);
  }
}

/** The same store in memory (`npm start -- --in-memory`, tests). */
export class MemoryAuditStore implements AuditStore {
  readonly objects = new Map<string, Buffer>();

  async putDigest(windowStart: string, parts: { digest: Buffer; signature: Buffer; manifest: Buffer; manifestObject: string }): Promise<void> {
    if (this.objects.has(auditObjects.digest(windowStart))) throw new AuditObjectExistsError(auditObjects.digest(windowStart));
    this.objects.set(parts.manifestObject, Buffer.from(parts.manifest));
    this.objects.set(auditObjects.signature(windowStart), Buffer.from(parts.signature));
    this.objects.set(auditObjects.digest(windowStart), Buffer.from(parts.digest));
  }

  async getObject(name: string): Promise<Buffer | undefined> {
    const o = this.objects.get(name);
    return o && Buffer.from(o);
  }

  async getObjectRange(name: string, start: number, end: number): Promise<{ bytes: Buffer; size: number } | undefined> {
    const o = this.objects.get(name);
    return o && { bytes: Buffer.from(o.subarray(start, Math.max(start, end + 1))), size: o.length };
  }

  async listDigests(from?: string, to?: string): Promise<string[]> {
    return digestStarts([...this.objects.keys()].filter((k) => k.startsWith('digests/')).map((k) => k.slice('digests/'.length))).filter((s) => inRange(s, from, to));
  }

  async latestDigest(): Promise<string | undefined> {
    return (await this.listDigests()).at(-1);
  }
}
