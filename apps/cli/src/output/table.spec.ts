import { renderFields, renderTable, sanitizeCell } from './table';

describe('renderTable', () => {
  it('aligns columns, right-aligns numbers and trims trailing space', () => {
    const text = renderTable(
      [
        { name: 'web-1', files: '12' },
        { name: 'db', files: '1,234' },
      ],
      [
        { header: 'NAME', value: (r) => r.name },
        { header: 'FILES', value: (r) => r.files, align: 'right' },
      ],
    );
    expect(text).toBe('NAME   FILES\nweb-1     12\ndb     1,234\n');
  });

  it('escapes control characters so a file name cannot break the layout', () => {
    expect(sanitizeCell('a\nb\tc\u001b[2J')).toBe('a\\x0ab\\x09c\\x1b[2J');
  });

  it('renders key/value fields with aligned values', () => {
    expect(renderFields([['run', 'x'], ['status', 'ok']])).toBe('run:     x\nstatus:  ok\n');
  });
});
