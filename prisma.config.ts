// Prisma CLI configuration (Prisma 7 reads the datasource URL here, not from schema.prisma).
// `prisma migrate ...` and `prisma db ...` need DATABASE_URL; `prisma generate` does not.
import path from 'node:path';
import { defineConfig } from 'prisma/config';

// The CLI would download its native schema engine from Prisma's binaries host, which Berth's build and
// test machines cannot reach; prisma/engine/schema-engine.js runs the same engine compiled to WebAssembly
// (from npm) behind the binary's interface. An explicitly set PRISMA_SCHEMA_ENGINE_BINARY still wins.
process.env['PRISMA_SCHEMA_ENGINE_BINARY'] ??= path.join(__dirname, 'prisma', 'engine', 'schema-engine.js');

const databaseUrl = process.env['DATABASE_URL'];

export default defineConfig({
  schema: path.join(__dirname, 'prisma', 'schema.prisma'),
  migrations: { path: path.join(__dirname, 'prisma', 'migrations') },
  ...(databaseUrl ? { datasource: { url: databaseUrl } } : {}),
});
