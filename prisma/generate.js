#!/usr/bin/env node
'use strict';
// Generates Prisma Client (apps/controller/src/generated/prisma, git-ignored) after `npm install` / `npm ci`
// (root package.json `postinstall`). Needs neither a database nor the internet: the schema engine that
// `prisma generate` would otherwise look for is provided by prisma.config.ts (prisma/engine/). Run it by
// hand after editing prisma/schema.prisma: `node prisma/generate.js` (or `npx prisma generate`).
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const repositoryRoot = path.join(__dirname, '..');

function prismaCli() {
  try {
    return path.join(path.dirname(require.resolve('prisma/package.json', { paths: [repositoryRoot] })), 'build', 'index.js');
  } catch {
    return null;
  }
}

const cli = prismaCli();
if (cli === null) {
  // An install without devDependencies (a production image) cannot generate; the client must come from
  // the build stage that had them.
  process.stdout.write('berth: prisma CLI not installed (devDependencies omitted); skipping Prisma Client generation.\n');
  process.exit(0);
}

const result = spawnSync(process.execPath, [cli, 'generate'], {
  cwd: repositoryRoot,
  stdio: 'inherit',
  // No update check or telemetry: they would only wait on hosts these machines cannot reach.
  env: { ...process.env, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});
if (result.status !== 0) {
  process.stderr.write(`berth: "prisma generate" failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`}); fix the schema or run "node prisma/generate.js" again.\n`);
  process.exit(1);
}
