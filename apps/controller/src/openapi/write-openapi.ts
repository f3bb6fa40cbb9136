import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildOpenApiDocument, serializeOpenApiDocument } from './openapi-document';
import { createPreviewApp } from './preview-app';

/**
 * `node apps/controller/dist/openapi/write-openapi.js [FILE]` (npm run openapi): writes the controller's
 * OpenAPI document to FILE (default openapi.json in the current directory). Needs no database or Redis.
 */
async function main(target: string): Promise<void> {
  const app = await createPreviewApp();
  try {
    writeFileSync(target, serializeOpenApiDocument(buildOpenApiDocument(app)));
  } finally {
    await app.close();
  }
  process.stdout.write(`wrote ${target}\n`);
}

main(resolve(process.argv[2] ?? 'openapi.json')).catch((error: unknown) => {
  process.stderr.write(`berth openapi: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
