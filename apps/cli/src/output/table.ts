/** Aligned plain-text tables: a header row, then one row per item, columns separated by two spaces. */

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  /** Numbers read better right-aligned. */
  readonly align?: 'left' | 'right';
}

/** Display width: code points, so names in UTF-8 line up (wide CJK glyphs are not accounted for). */
function width(text: string): number {
  return Array.from(text).length;
}

function pad(text: string, to: number, align: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, to - width(text)));
  return align === 'right' ? fill + text : text + fill;
}

/** Control characters (newlines, tabs, escapes in file names) would break the alignment and the terminal. */
export function sanitizeCell(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : char;
  }
  return out;
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((column) => sanitizeCell(column.value(row))));
  const widths = columns.map((column, i) => Math.max(width(column.header), ...cells.map((line) => width(line[i] ?? ''))));
  const render = (line: readonly string[]): string =>
    line
      .map((cell, i) => {
        const isLast = i === line.length - 1;
        const align = columns[i]?.align ?? 'left';
        return isLast && align === 'left' ? cell : pad(cell, widths[i] ?? 0, align);
      })
      .join('  ')
      .trimEnd();
  return [render(columns.map((c) => c.header)), ...cells.map(render)].join('\n') + '\n';
}

/** "key: value" lines with the keys padded to one width. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const keyWidth = Math.max(0, ...fields.map(([key]) => width(key) + 1));
  return fields.map(([key, value]) => `${pad(`${key}:`, keyWidth, 'left')}  ${sanitizeCell(value)}`).join('\n') + '\n';
}
