import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { type ControllerConfig } from '../config/controller-config';

/**
 * Placeholder configuration for a preview application: preview mode builds the module graph (controllers and
 * their routes) without instantiating a single provider, so nothing here is ever connected to.
 */
const PREVIEW_CONFIG: ControllerConfig = {
  databaseUrl: 'postgresql://preview.invalid/berth',
  redisUrl: 'redis://preview.invalid:6379',
  agentRedisUrl: 'redis://preview.invalid:6379',
  agentRedisAcl: 'off',
  listen: { host: '127.0.0.1', port: 0 },
  receiver: { token: 'preview-only-never-used', address: { host: '127.0.0.1', port: 7443 }, tls: false, caPem: null, serverName: null },
  reconcileIntervalMs: 0,
  rpoHours: 26,
  rpoCheckIntervalMs: 0,
  webhooks: { attempts: 1, backoffMs: 1_000, timeoutMs: 1_000 },
  liveness: { heartbeatMs: 5_000, offlineAfterBeats: 3 },
  adminToken: null,
  auditRetentionDays: 0,
};

/**
 * The real AppModule in Nest's preview mode: same controllers and routes as the running controller, no
 * PostgreSQL or Redis connection, so `npm run openapi` and the drift check need neither.
 */
export function createPreviewApp(): Promise<INestApplication> {
  return NestFactory.create(AppModule.forRoot(PREVIEW_CONFIG), { preview: true, logger: false, abortOnError: false });
}
