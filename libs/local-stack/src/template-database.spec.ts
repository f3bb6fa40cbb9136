import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrationsFingerprint, templateDatabaseName } from './template-database';

describe('migrationsFingerprint', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-migrations-'));
    fs.mkdirSync(path.join(dir, '20260101000000_init'));
    fs.writeFileSync(path.join(dir, '20260101000000_init', 'migration.sql'), 'CREATE TABLE a (id int);\n');
    fs.writeFileSync(path.join(dir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is stable while the migrations are unchanged', () => {
    expect(migrationsFingerprint(dir)).toBe(migrationsFingerprint(dir));
    expect(migrationsFingerprint(dir)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changes when a migration is edited or added', () => {
    const before = migrationsFingerprint(dir);
    fs.appendFileSync(path.join(dir, '20260101000000_init', 'migration.sql'), '-- edited\n');
    const edited = migrationsFingerprint(dir);
    fs.mkdirSync(path.join(dir, '20260102000000_next'));
    fs.writeFileSync(path.join(dir, '20260102000000_next', 'migration.sql'), 'CREATE TABLE b (id int);\n');
    expect(new Set([before, edited, migrationsFingerprint(dir)]).size).toBe(3);
  });

  it('names templates within PostgreSQL identifier limits', () => {
    expect(templateDatabaseName(migrationsFingerprint(dir)).length).toBeLessThanOrEqual(63 - '_building'.length);
  });
});
