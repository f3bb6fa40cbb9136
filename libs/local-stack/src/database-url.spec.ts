import { databaseName, describeServiceUrl, quoteIdentifier, withDatabase } from './database-url';

describe('database URLs', () => {
  it('swaps the database and keeps credentials, host and parameters', () => {
    const url = withDatabase('postgresql://berth:s%40cret@db.example:6543/berth?schema=public&sslmode=require', 'berth_test_1');
    expect(url).toBe('postgresql://berth:s%40cret@db.example:6543/berth_test_1?schema=public&sslmode=require');
    expect(databaseName(url)).toBe('berth_test_1');
  });

  it('describes a service without its credentials', () => {
    expect(describeServiceUrl('postgresql://berth:hunter2@10.0.0.5:5432/berth')).toBe('10.0.0.5:5432/berth');
    expect(describeServiceUrl('redis://:hunter2@cache')).toBe('cache:6379');
    expect(describeServiceUrl('not a url')).toBe('(unparsable URL)');
  });

  it('quotes identifiers, doubling embedded quotes', () => {
    expect(quoteIdentifier('a"b')).toBe('"a""b"');
  });
});
