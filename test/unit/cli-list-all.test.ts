/**
 * `list --all` prints a function's snapshots as the pages arrive, not after gathering them all:
 * a long history is more than one string (or the heap) holds. The JSON is the very text a single
 * `JSON.stringify({items}, null, 2)` would give.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../client/src/cli/main.js';

const PAGES = 3;
const PER_PAGE = 2;
const snapshot = (i: number) => ({
  snapshotId: `01M8VP1EMWG90XEJPS66ZG6A${String(i).padStart(2, '0')}`,
  createdAt: `2026-12-02T15:30:${String(i).padStart(2, '0')}.000Z`,
  schemaVersion: 1,
  functionName: 'f',
  inputs: [{ name: 'a', value: { n: i, nested: [i, { deep: 'x' }] } }],
  outputs: [{ name: 'b', value: `out ${i}` }],
  inputsHash: 'a'.repeat(64),
  contentHash: 'b'.repeat(64),
});
const ALL = Array.from({ length: PAGES * PER_PAGE }, (_, i) => snapshot(i));

describe('list --all', () => {
  let server: Server;
  let endpoint: string;
  /** What happened, in order: page requests and stdout writes. */
  const events: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const page = Number(url.searchParams.get('cursor') ?? '0');
      events.push(`request page ${page}`);
      const items = url.searchParams.get('functionName') === 'empty' ? [] : ALL.slice(page * PER_PAGE, (page + 1) * PER_PAGE);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ items, ...(page + 1 < PAGES && items.length > 0 && { nextCursor: String(page + 1) }) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function run(args: string[]) {
    let stdout = '';
    events.length = 0;
    const code = await main([...args, '--endpoint', endpoint], {
      stdout: {
        write: (s: string) => {
          if (s.includes('"snapshotId"') || /^01M8/.test(s)) events.push('wrote an item');
          stdout += s;
        },
        isTTY: false,
      },
      stderr: { write: () => true, isTTY: false },
      stdin: Readable.from([]),
      env: {},
      cwd: process.cwd(),
    });
    return { code, stdout };
  }

  it('writes the first page before it asks for the last, and the JSON is that of the whole list', async () => {
    const r = await run(['list', '--function', 'f', '--all', '-o', 'json']);

    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${JSON.stringify({ items: ALL }, null, 2)}\n`);
    expect(events.indexOf('wrote an item')).toBeLessThan(events.indexOf(`request page ${PAGES - 1}`));
  });

  it('without --all, --quiet prints the page’s ids one per line, not joined by a literal \\n', async () => {
    const page = await run(['list', '--function', 'f', '-q']);
    expect(page).toEqual({ code: 0, stdout: `${ALL.slice(0, PER_PAGE).map((s) => s.snapshotId).join('\n')}\n` });
    expect(await run(['list', '--function', 'empty', '-q'])).toEqual({ code: 0, stdout: '' });
  });

  it('with --cursor, follows every page after that cursor, not the whole list again', async () => {
    const r = await run(['list', '--function', 'f', '--all', '--cursor', '1', '-q']);

    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${ALL.slice(PER_PAGE).map((s) => s.snapshotId).join('\n')}\n`);
    expect(events.filter((e) => e.startsWith('request'))).toEqual(['request page 1', 'request page 2']);
  });

  it('prints an empty list as {"items": []}, and one id per line with --quiet', async () => {
    expect((await run(['list', '--function', 'empty', '--all', '-o', 'json'])).stdout).toBe(`${JSON.stringify({ items: [] }, null, 2)}\n`);
    const quiet = await run(['list', '--function', 'f', '--all', '-q']);
    expect(quiet.stdout).toBe(`${ALL.map((s) => s.snapshotId).join('\n')}\n`);
    expect(events.indexOf('wrote an item')).toBeLessThan(events.indexOf(`request page ${PAGES - 1}`));
  });

  it('still prints one table of every row', async () => {
    const r = await run(['list', '--function', 'f', '--all', '-o', 'table']);

    expect(r.stdout.trim().split('\n')).toHaveLength(2 + ALL.length);
  });
});
