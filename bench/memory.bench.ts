/**
 * Memory of the local host under sustained recording (issue 9, "Memory"): the real `npm start`
 * (`node --import tsx bin/local.ts`, a child process) with a fresh DATA_DIR takes 3 bursts of
 * 30,000 `POST /snapshots` (~1 KB decisions, all different) at 16 keep-alive connections, with an
 * idle pause after each burst. Its RSS is sampled from /proc every 250 ms throughout.
 *
 * Printed, each with its target:
 * - RSS after each burst (once the host is idle: on-write delivery drained);
 * - RSS growth between the 2nd and 3rd burst (≤ 10 %);
 * - peak RSS (≤ 400 MB), with its anonymous and mapped-file parts at that sample (a LevelDB
 *   compaction shows as mapped files). The host runs dynalite in a worker thread of the same
 *   process, so this is host + dynalite together, one process;
 * - bytes on disk per recorded snapshot, the whole DATA_DIR (≤ 5 KB).
 *
 * Knobs: BENCH_MEMORY_BURSTS (3), BENCH_MEMORY_PER_BURST (30000), BENCH_MEMORY_CONNECTIONS (16),
 * BENCH_MEMORY_IDLE_MS (5000), BENCH_MEMORY_NODE_OPTIONS (extra node flags for the host, e.g.
 * `--heapsnapshot-signal=SIGUSR2` when looking for a leak), BENCH_MEMORY_KEEP_DIR=1 (keep DATA_DIR).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchClient } from './http-client.js';
import { startHostProcess } from './local-process.js';
import { printFigures } from './report.js';

const BURSTS = Number(process.env.BENCH_MEMORY_BURSTS ?? 3);
const PER_BURST = Number(process.env.BENCH_MEMORY_PER_BURST ?? 30_000);
const CONNECTIONS = Number(process.env.BENCH_MEMORY_CONNECTIONS ?? 16);
const IDLE_MS = Number(process.env.BENCH_MEMORY_IDLE_MS ?? 5_000);
const SAMPLE_MS = 250;
const MB = 1024 * 1024;

/** A ~1 KB decision; `i` makes each one different (inputs, outputs, context). */
function decision(i: number): string {
  return JSON.stringify({
    functionName: `approve_loan_${i % 8}`,
    inputs: [
      { name: 'applicant', value: { income: 40_000 + i, age: 20 + (i % 50), debt: 12_000 + (i % 997), employer: `Employer number ${i % 311}`, region: 'north-east' }, type: 'object' },
      { name: 'history', value: Array.from({ length: 6 }, (_, k) => ({ month: k + 1, balance: 1_000 + ((i * 7 + k) % 5_000), late: (i + k) % 9 === 0 })), type: 'array' },
    ],
    outputs: [
      { name: 'decision', value: i % 3 === 0 ? 'decline' : 'approve', type: 'string' },
      { name: 'score', value: (i % 1000) / 1000, type: 'number' },
      { name: 'rationale', value: `Income of ${40_000 + i} is ${i % 3 === 0 ? 'below' : 'above'} the threshold for this region; debt ratio considered.`, type: 'string' },
    ],
    modelParameters: { modelName: 'credit-llm', modelVersion: '2026-10', temperature: 0 },
    context: { tenant: `tenant-${i % 5}`, promptVersion: 'v3', requestId: `req-${i}` },
    executionTimeMs: 100 + (i % 50),
  });
}

/** `pid`'s resident set in bytes, and of it anonymous memory (heaps) and mapped files (Linux /proc, one read). */
function memoryOf(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => {
    const m = new RegExp(`${name}:\\s+(\\d+) kB`).exec(status);
    if (!m) throw new Error(`no ${name} for pid ${pid}`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Bytes of every file under `dir`. */
function du(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    total += entry.isDirectory() ? du(p) : statSync(p).size;
  }
  return total;
}

export default async function memoryBench(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-memory-'));
  const host = await startHostProcess({ dataDir, tableName: 'bench-memory', nodeOptions: (process.env.BENCH_MEMORY_NODE_OPTIONS ?? '').split(' ').filter((s) => s !== '') });
  const { pid, url } = host;
  const http = new BenchClient(url, CONNECTIONS);
  let peak = 0;
  let peakParts = { anon: 0, file: 0 };
  const sampler = setInterval(() => {
    try {
      const now = memoryOf(pid);
      if (now.rss > peak) {
        peak = now.rss;
        peakParts = now;
      }
    } catch {
      // the host has exited
    }
  }, SAMPLE_MS);
  const afterBurst: number[] = [];
  let recorded = 0;
  try {
    const startRss = memoryOf(pid).rss;
    console.log(`\nmemory bench: host pid ${pid}, DATA_DIR ${dataDir}, RSS at start ${(startRss / MB).toFixed(0)} MB`);
    for (let burst = 0; burst < BURSTS; burst++) {
      const t = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (next < PER_BURST) {
            const i = burst * PER_BURST + next++;
            const res = await http.request('POST', '/snapshots', decision(i));
            if (res.status !== 201) throw new Error(`POST /snapshots answered ${res.status}: ${res.body.slice(0, 300)}`);
            recorded += 1;
          }
        }),
      );
      const seconds = (performance.now() - t) / 1000;
      const endRss = memoryOf(pid).rss;
      // Idle: let on-write delivery drain and the collector run, as a user's pause would.
      await new Promise((r) => setTimeout(r, IDLE_MS));
      const parts = memoryOf(pid);
      const rss = parts.rss;
      afterBurst.push(rss);
      console.log(`burst ${burst + 1}: ${PER_BURST} snapshots in ${seconds.toFixed(1)} s (${(PER_BURST / seconds).toFixed(0)}/s); RSS at its end ${(endRss / MB).toFixed(0)} MB, after ${IDLE_MS / 1000} s idle ${(rss / MB).toFixed(0)} MB (anonymous memory, the heaps: ${(parts.anon / MB).toFixed(0)} MB; mapped files, libraries and LevelDB's tables: ${(parts.file / MB).toFixed(0)} MB); DATA_DIR ${(du(dataDir) / MB).toFixed(1)} MB`);
    }
    const disk = du(dataDir);
    const last = afterBurst[afterBurst.length - 1] as number;
    const prev = afterBurst[afterBurst.length - 2] ?? last;
    printFigures(`Local host memory: ${BURSTS} x ${PER_BURST} snapshots at ${CONNECTIONS} connections, DATA_DIR on disk (host + dynalite: one process)`, [
      ...afterBurst.map((rss, i) => ({ figure: `RSS after burst ${i + 1} (idle ${IDLE_MS / 1000} s)`, ours: rss / MB, unit: 'MB' })),
      { figure: `RSS growth, burst ${afterBurst.length - 1} -> ${afterBurst.length}`, ours: ((last - prev) / prev) * 100, unit: '%', target: '<= 10' },
      { figure: `peak RSS (host + dynalite worker; at the peak: anonymous ${(peakParts.anon / MB).toFixed(0)} MB, mapped files ${(peakParts.file / MB).toFixed(0)} MB)`, ours: peak / MB, unit: 'MB', target: '<= 400' },
      { figure: `on disk per snapshot (${recorded} recorded, ${(disk / MB).toFixed(1)} MB)`, ours: disk / recorded / 1024, unit: 'KB', target: '<= 5' },
    ]);
  } finally {
    clearInterval(sampler);
    http.close();
    await host.stop();
    if (process.env.BENCH_MEMORY_KEEP_DIR !== '1') rmSync(dataDir, { recursive: true, force: true });
  }
}
