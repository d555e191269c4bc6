/**
 * `--output table` aligns its columns by what a terminal shows, not by UTF-16 length: a cell of
 * Chinese, Japanese or Korean text (two columns a character), an emoji, or a letter built from a
 * combining accent used to push every later column of its row out of line.
 */
import { describe, expect, it } from 'vitest';
import { columns, displayWidth, keyValues } from '../../client/src/cli/table.js';

/** The terminal column at which each cell of `line` starts, given the table's separator of two spaces. */
function cellStarts(line: string, cells: readonly string[]): number[] {
  const starts: number[] = [];
  let at = 0;
  for (const c of cells) {
    const i = line.indexOf(c, at);
    expect(i, `'${c}' in '${line}'`).toBeGreaterThanOrEqual(0);
    starts.push(displayWidth(line.slice(0, i)));
    at = i + c.length;
  }
  return starts;
}

describe('table widths', () => {
  it('counts the columns a terminal gives each character', () => {
    expect(displayWidth('approve')).toBe(7);
    expect(displayWidth('承認')).toBe(4);
    expect(displayWidth('한국어')).toBe(6);
    expect(displayWidth('ＡＢ')).toBe(4);
    expect(displayWidth('ｱｲｳ')).toBe(3); // halfwidth katakana
    expect(displayWidth('e\u0301tat')).toBe(4); // é as e + combining acute
    expect(displayWidth('👍')).toBe(2);
    expect(displayWidth('👨\u200d👩\u200d👧')).toBe(2); // one family emoji
    expect(displayWidth('🇯🇵')).toBe(2);
    expect(displayWidth('❤\ufe0f')).toBe(2);
    expect(displayWidth('\u200b')).toBe(0);
    expect(displayWidth('')).toBe(0);
  });

  it('lines up every column of a table whose cells hold wide and combining characters', () => {
    const rows = [
      ['decision', '承認', 'approve'],
      ['理由', 'e\u0301tat', '👍 ok'],
      ['score', 0.82, '🇯🇵'],
    ] as const;
    const out = columns(['name', 'value', 'note'], rows).trimEnd().split('\n');
    const header = cellStarts(out[0] as string, ['name', 'value', 'note']);
    for (const [i, row] of rows.entries()) {
      expect(cellStarts(out[i + 2] as string, row.map(String)), out[i + 2]).toEqual(header);
    }
    // The rule under the header is as wide as each column's widest cell.
    expect(out[1]).toBe(`${'-'.repeat(8)}  ${'-'.repeat(5)}  ${'-'.repeat(7)}`);
  });

  it('pads keys of a key/value block by their shown width', () => {
    const out = keyValues([
      ['判断', 'approve'],
      ['model', 'gpt'],
    ]).split('\n');
    expect(displayWidth(out[0]?.slice(0, out[0].indexOf('approve')) ?? '')).toBe(displayWidth(out[1]?.slice(0, out[1].indexOf('gpt')) ?? ''));
  });
});
