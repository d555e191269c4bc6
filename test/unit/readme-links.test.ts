import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every relative link in the project's Markdown documents resolves: the file it names exists and,
 * when it names a `#fragment` in a Markdown file, that file has a heading with that anchor. Sections
 * move between README.md and bench/README.md; a link left behind fails here instead of on GitHub.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOCUMENTS = ['README.md', 'bench/README.md'];

/**
 * GitHub's anchor for a heading: its text without Markdown (code spans, links), lower-cased, every
 * character that is not a letter, mark, number, connector, hyphen or space removed, spaces turned
 * into hyphens. A repeated anchor gets -1, -2, … in order.
 */
function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
function prose(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let fenced = false;
  text.split('\n').forEach((l, i) => {
    if (/^\s*(```|~~~)/.test(l)) {
      fenced = !fenced;
      return;
    }
    if (!fenced) out.push({ line: i + 1, text: l });
  });
  return out;
}

function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { text } of prose(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(text);
    if (!m) continue;
    const s = slug(m[1] ?? '');
    const n = seen.get(s);
    seen.set(s, n === undefined ? 0 : n + 1);
    out.add(n === undefined ? s : `${s}-${n + 1}`);
  }
  return out;
}

function links(markdown: string): Array<{ line: number; target: string }> {
  const out: Array<{ line: number; target: string }> = [];
  for (const { line, text } of prose(markdown)) {
    // Inline code may hold `](…)` that is not a link.
    const bare = text.replace(/`[^`]*`/g, '');
    for (const m of bare.matchAll(/\]\(([^)\s]+)\)/g)) out.push({ line, target: m[1] ?? '' });
  }
  return out;
}

describe('slug (GitHub heading anchors)', () => {
  it.each([
    ['Local host (`npm start`)', 'local-host-npm-start'],
    ['Record + read from outside, and batch overhead', 'record--read-from-outside-and-batch-overhead'],
    ["Plan's index: a keys-only twin of GSI1", 'plans-index-a-keys-only-twin-of-gsi1'],
    ['Cost of a 1,000,000-snapshot batch on AWS', 'cost-of-a-1000000-snapshot-batch-on-aws'],
    ['Deployed size: every row under 2× (2026-12-01, 11:28)', 'deployed-size-every-row-under-2-2026-12-01-1128'],
    ['CDK context (`cdk.json` → `context`, or `-c key=value`)', 'cdk-context-cdkjson--context-or--c-keyvalue'],
  ])('%s → #%s', (heading, expected) => {
    expect(slug(heading)).toBe(expected);
  });

  it('numbers repeated headings, and ignores headings inside code blocks', () => {
    expect([...anchors('# A\n## Measured\n```sh\n# not a heading\n```\n## Measured\n### Measured\n')]).toEqual(['a', 'measured', 'measured-1', 'measured-2']);
  });
});

describe.each(DOCUMENTS)('links in %s', (doc) => {
  const path = join(root, doc);
  const text = readFileSync(path, 'utf8');

  it('every relative link names a file that exists and a heading that file has', () => {
    const broken: string[] = [];
    for (const { line, target } of links(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      const [file = '', fragment] = target.split('#', 2);
      const resolved = file === '' ? path : normalize(join(dirname(path), decodeURIComponent(file)));
      if (!existsSync(resolved)) {
        broken.push(`${doc}:${line}: ${target} (no such file)`);
        continue;
      }
      if (fragment !== undefined && resolved.endsWith('.md') && !anchors(readFileSync(resolved, 'utf8')).has(fragment)) {
        broken.push(`${doc}:${line}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
