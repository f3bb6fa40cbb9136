import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOpenApiDocument, serializeOpenApiDocument } from '../src/openapi/openapi-document';
import { createPreviewApp } from '../src/openapi/preview-app';
import { type ControllerHarness, startController } from './support/controller-app';

jest.setTimeout(60_000);

const COMMITTED = join(__dirname, '..', '..', '..', 'openapi.json');

interface Document {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> }>>;
  components: { schemas: Record<string, unknown> };
}

describe('OpenAPI document', () => {
  let controller: ControllerHarness;

  beforeAll(async () => {
    controller = await startController();
  });
  afterAll(async () => {
    await controller.close();
  });

  it('is served at /docs/openapi.json with the reporting paths and named response types, and the UI at /docs', async () => {
    const served = (await controller.api.get('/docs/openapi.json').expect(200).expect('content-type', /application\/json/)).body as Document;
    for (const path of ['/hosts', '/runs/{id}', '/reports/fleet', '/hosts/{idOrName}/history', '/metrics', '/healthz']) {
      expect(Object.keys(served.paths)).toContain(path);
    }
    expect(served.paths['/reports/fleet']?.['get']?.responses['200']?.content?.['application/json']?.schema?.$ref).toBe('#/components/schemas/FleetReportDto');
    expect(served.paths['/hosts/{idOrName}/history']?.['get']?.responses['200']?.content?.['application/json']?.schema?.$ref).toBe('#/components/schemas/HostHistoryResponseDto');
    expect(Object.keys(served.components.schemas)).toEqual(expect.arrayContaining(['FleetReportDto', 'FleetHostReportDto', 'FleetTotalsDto', 'HostHistoryEntryDto', 'CreateHostDto']));

    const ui = await controller.api.get('/docs').expect(200);
    expect(ui.text).toContain('<title>Swagger UI</title>');
  });

  it('is built without PostgreSQL or Redis (preview mode) exactly as the running controller serves it, and matches the committed openapi.json', async () => {
    const preview = await createPreviewApp();
    let generated: string;
    try {
      generated = serializeOpenApiDocument(buildOpenApiDocument(preview));
    } finally {
      await preview.close();
    }
    const served = (await controller.api.get('/docs/openapi.json').expect(200)).body as unknown;
    expect(JSON.parse(generated)).toEqual(served);
    // The drift check (.ci/run runs the same comparison on the built script): regenerate with `npm run openapi`.
    expect(generated).toBe(readFileSync(COMMITTED, 'utf8'));
  });
});
