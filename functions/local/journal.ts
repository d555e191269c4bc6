/**
 * A small append-only journal in DATA_DIR: what was begun and not yet finished, so that a restart
 * after a crash (SIGKILL, Ctrl-C, power cut of the process) picks it up again.
 *
 * Lines are `+<key>\t<data>` (begun, with what is needed to redo it) and `-<key>` (finished). Each
 * line is written with one synchronous `write` before the work is acknowledged, so a killed
 * process has either written it whole or not at all (the OS keeps it even without fsync); a torn
 * last line is ignored on reading. The file is compacted (rewritten with the open entries only)
 * on open and whenever it has grown by {@link COMPACT_EVERY} finished entries, so it stays as small
 * as the work in flight.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';

/** Finished entries between compactions. */
export const COMPACT_EVERY = 5_000;

export class Journal {
  private fd: number;
  private readonly open = new Map<string, string>();
  private finished = 0;
  private closed = false;

  /** Opens (creating) the journal at `path`; entries left open by the last process are in {@link pending}. */
  constructor(private readonly path: string) {
    if (existsSync(path)) {
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line.startsWith('+')) {
          const tab = line.indexOf('\t');
          if (tab > 1) this.open.set(line.slice(1, tab), line.slice(tab + 1));
        } else if (line.startsWith('-')) {
          this.open.delete(line.slice(1));
        }
      }
    }
    this.fd = this.rewrite();
  }

  /** Entries begun and not finished, oldest first: key → data. */
  pending(): ReadonlyMap<string, string> {
    return new Map(this.open);
  }

  /** Records that `key` was begun (idempotent: a key already open keeps its first data). */
  begin(key: string, data: string): void {
    if (this.closed || this.open.has(key)) return;
    if (key.includes('\n') || key.includes('\t') || data.includes('\n')) throw new Error('journal keys and data are single-line');
    writeSync(this.fd, `+${key}\t${data}\n`);
    this.open.set(key, data);
  }

  /** Records that `key` is finished. */
  finish(key: string): void {
    // After close (a late completion while the host shuts down) the entry stays open: the next
    // start looks at it again, which is always safe.
    if (this.closed || !this.open.delete(key)) return;
    writeSync(this.fd, `-${key}\n`);
    this.finished += 1;
    if (this.finished >= COMPACT_EVERY) {
      closeSync(this.fd);
      this.fd = this.rewrite();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  /** Rewrites the file with the open entries only (write-then-rename), and opens it for appending. */
  private rewrite(): number {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, [...this.open].map(([k, d]) => `+${k}\t${d}\n`).join(''));
    renameSync(tmp, this.path);
    this.finished = 0;
    return openSync(this.path, 'a');
  }
}
