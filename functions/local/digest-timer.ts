/**
 * The local host's digester schedule: runs the digester a settle time after each window closes
 * (the deployed stack runs it on an EventBridge rate). Runs never overlap; `runNow()` runs it at
 * once (tests, `POST /_local/digest`), after any run in progress.
 */
import { windowOf } from '../core/audit/digest.js';
import type { Clock } from '../core/ports.js';

export class DigestTimer<T = unknown> {
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly seal: () => Promise<T>,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly settleMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.arm();
  }

  /** Runs the digester now (after any run in progress) and returns what it sealed. */
  runNow(): Promise<T> {
    const run = this.chain.then(() => this.seal());
    this.chain = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  private arm(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    const due = windowOf(now - this.settleMs, this.intervalMs).end + this.settleMs;
    this.timer = setTimeout(() => {
      this.runNow().catch(this.onError).finally(() => this.arm());
    }, Math.min(Math.max(0, due - now), 2 ** 31 - 1));
    this.timer.unref();
  }
}
