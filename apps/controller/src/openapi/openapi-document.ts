import { type INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** Where the document and its UI are served. */
export const OPENAPI_UI_PATH = 'docs';
export const OPENAPI_JSON_PATH = 'docs/openapi.json';

/** The OpenAPI document of an application's routes (read from controller metadata: nothing is called). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Berth controller API')
    .setDescription(
      'Operator, agent and receiver APIs of the Berth controller. Errors answer ApiErrorBody {statusCode, code, message, details?}. ' +
        'Every operator route needs `Authorization: Bearer <API token>`: GET needs the viewer role, other methods operator, ' +
        'token management, credentials, webhooks, the audit log and /queues admin. /healthz needs nothing; agent routes take ' +
        "the agent's credential, receiver routes the receiver's shared token.",
    )
    .addBearerAuth()
    .addSecurityRequirements('bearer')
    .setVersion('1')
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Serializes the document as committed in openapi.json (stable key order comes from the metadata, two spaces). */
export function serializeOpenApiDocument(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Serves the UI at /docs and the JSON at /docs/openapi.json. */
export function mountOpenApi(app: INestApplication): void {
  SwaggerModule.setup(OPENAPI_UI_PATH, app, () => buildOpenApiDocument(app), { jsonDocumentUrl: OPENAPI_JSON_PATH, raw: ['json'] });
}
