/** The chain head in memory (benchmarks and unit tests; the hosts keep it in the table). */
import type { ChainHead, ChainHeadStore } from '../../core/audit/ports.js';

export class MemoryChainHead implements ChainHeadStore {
  head: ChainHead | undefined;

  async get(): Promise<ChainHead | undefined> {
    return this.head && { ...this.head };
  }

  async advance(from: ChainHead | undefined, to: ChainHead): Promise<boolean> {
    if (this.head?.digestHash !== from?.digestHash) return false;
    this.head = { ...to };
    return true;
  }
}
