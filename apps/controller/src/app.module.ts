import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { ControllerConfig } from './config/controller-config';
import { AgentController } from './controllers/agent.controller';
import { AuditController } from './controllers/audit.controller';
import { TokenController } from './controllers/token.controller';
import { ApiAuthGuard } from './middleware/api-auth.guard';
import { AuditInterceptor } from './middleware/audit.interceptor';
import { ApiTokenRepository } from './repositories/api-token.repository';
import { AuditRepository } from './repositories/audit.repository';
import { ApiTokenService } from './services/api-token.service';
import { AuditRetentionService } from './services/audit-retention.service';
import { AuditService } from './services/audit.service';
import { CredentialController } from './controllers/credential.controller';
import { HealthController } from './controllers/health.controller';
import { GroupController } from './controllers/group.controller';
import { HostController } from './controllers/host.controller';
import { MetricsController } from './controllers/metrics.controller';
import { ReceiverController } from './controllers/receiver.controller';
import { ReportController } from './controllers/report.controller';
import { RunController } from './controllers/run.controller';
import { SnapshotController } from './controllers/snapshot.controller';
import { StatusPageController } from './controllers/status-page.controller';
import { WebhookController } from './controllers/webhook.controller';
import { AgentAuthGuard } from './middleware/agent-auth.guard';
import { QueueBoardMiddleware } from './middleware/queue-board.middleware';
import { ReceiverTokenGuard } from './middleware/receiver-token.guard';
import { AgentRedisAclRepository } from './repositories/agent-redis-acl.repository';
import { CredentialRepository } from './repositories/credential.repository';
import { DatabaseRepository } from './repositories/database.repository';
import { GroupRepository } from './repositories/group.repository';
import { HostRepository } from './repositories/host.repository';
import { QueueDepthRepository } from './repositories/queue-depth.repository';
import { QueueBoardRepository } from './repositories/queue-board.repository';
import { QueueRepository } from './repositories/queue.repository';
import { RedisRepository } from './repositories/redis.repository';
import { ReportRepository } from './repositories/report.repository';
import { RunRepository } from './repositories/run.repository';
import { ScheduleQueueRepository } from './repositories/schedule-queue.repository';
import { ScheduleRepository } from './repositories/schedule.repository';
import { SnapshotRepository } from './repositories/snapshot.repository';
import { StatusAssetRepository } from './repositories/status-asset.repository';
import { WebhookHttpRepository } from './repositories/webhook-http.repository';
import { WebhookQueueRepository } from './repositories/webhook-queue.repository';
import { WebhookRepository } from './repositories/webhook.repository';
import { AgentAccessService } from './services/agent-access.service';
import { AgentService } from './services/agent.service';
import { CredentialService } from './services/credential.service';
import { HealthService } from './services/health.service';
import { GroupService } from './services/group.service';
import { HostService } from './services/host.service';
import { MetricsService } from './services/metrics.service';
import { QueueBoardService } from './services/queue-board.service';
import { ReportService } from './services/report.service';
import { RunCancelService } from './services/run-cancel.service';
import { RunReconcilerService } from './services/run-reconciler.service';
import { RunRetryService } from './services/run-retry.service';
import { RunService } from './services/run.service';
import { ScheduleSyncService } from './services/schedule-sync.service';
import { ScheduleTickService } from './services/schedule-tick.service';
import { SessionService } from './services/session.service';
import { RpoWatchService } from './services/rpo-watch.service';
import { SnapshotService } from './services/snapshot.service';
import { WebhookDeliveryService } from './services/webhook-delivery.service';
import { WebhookService } from './services/webhook.service';

const repositories = [DatabaseRepository, RedisRepository, QueueRepository, HostRepository, CredentialRepository, RunRepository, SnapshotRepository];
const scheduling = [GroupRepository, ScheduleRepository, ScheduleQueueRepository, GroupService, ScheduleSyncService, ScheduleTickService];
const services = [HostService, RunService, RunRetryService, RunCancelService, RunReconcilerService, SnapshotService, HealthService, AgentService, SessionService];
// Reporting: fleet report, host history, Prometheus metrics.
const reporting = { repositories: [ReportRepository, QueueDepthRepository], services: [ReportService, MetricsService], controllers: [ReportController, MetricsController] };
// Who may do what: API tokens with roles, checked on every route by a global guard; state-changing calls audited.
const access = {
  repositories: [ApiTokenRepository, AuditRepository],
  services: [ApiTokenService, AuditService, AuditRetentionService],
  controllers: [TokenController, AuditController],
  global: [
    { provide: APP_GUARD, useClass: ApiAuthGuard },
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  ],
};
// Browser pages: the status page (static shell over the JSON API) and Bull Board at /queues (admins only).
const browser = {
  controllers: [StatusPageController],
  providers: [StatusAssetRepository, QueueBoardRepository, QueueBoardService, QueueBoardMiddleware],
};
// Webhooks: run.failed and objective breach notifications, their delivery queue and the admin API.
const webhooks = {
  repositories: [WebhookRepository, WebhookQueueRepository, WebhookHttpRepository],
  services: [WebhookDeliveryService, WebhookService, RpoWatchService],
  controllers: [WebhookController],
};
// Who may do what, agent side: credentials, re-enrollment, per-host Redis ACL users.
const agentAccess = { repositories: [AgentRedisAclRepository], services: [AgentAccessService, CredentialService], controllers: [CredentialController] };
const controllers = [HostController, GroupController, RunController, SnapshotController, HealthController, AgentController, ReceiverController];

/** The whole controller; the validated configuration is given by the caller (main, or a test). */
@Module({})
export class AppModule {
  static forRoot(config: ControllerConfig): DynamicModule {
    return {
      module: AppModule,
      controllers: [...controllers, ...reporting.controllers, ...access.controllers, ...browser.controllers, ...webhooks.controllers, ...agentAccess.controllers],
      providers: [
        { provide: ControllerConfig, useValue: config },
        ...repositories,
        ...services,
        ...scheduling,
        ...reporting.repositories,
        ...reporting.services,
        ...access.repositories,
        ...access.services,
        ...access.global,
        ...webhooks.repositories,
        ...webhooks.services,
        ...browser.providers,
        ...agentAccess.repositories,
        ...agentAccess.services,
        AgentAuthGuard,
        ReceiverTokenGuard,
      ],
    };
  }
}
