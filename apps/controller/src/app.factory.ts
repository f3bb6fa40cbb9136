import { type LogLevel, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { type ControllerConfig } from './config/controller-config';
import { ApiExceptionFilter } from './errors/api-exception.filter';
import { validationFailed } from './errors/validation-errors';
import { QueueBoardMiddleware } from './middleware/queue-board.middleware';
import { mountOpenApi } from './openapi/openapi-document';
import { QUEUE_BOARD_PATH } from './services/queue-board.service';

/** Finish reports carry up to 10,000 file errors; everything else is far smaller. */
export const JSON_BODY_LIMIT = '32mb';

export interface ControllerAppOptions {
  logLevels?: LogLevel[] | false;
}

/**
 * Builds the controller application (not yet listening) with its global pipe and filter: main and the
 * integration tests build it the same way.
 */
export async function createControllerApp(config: ControllerConfig, options: ControllerAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: options.logLevels ?? ['log', 'warn', 'error'],
  });
  app.useBodyParser('json', { limit: JSON_BODY_LIMIT });
  app.useGlobalPipes(
    new ValidationPipe({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      validationError: { target: false, value: false },
      exceptionFactory: validationFailed,
    }),
  );
  app.useGlobalFilters(new ApiExceptionFilter());
  app.disable('x-powered-by');
  mountOpenApi(app);
  // Bull Board is an Express app of its own, mounted ahead of Nest's routes; its middleware does the auth.
  app.use(QUEUE_BOARD_PATH, app.get(QueueBoardMiddleware).handle);
  return app;
}
