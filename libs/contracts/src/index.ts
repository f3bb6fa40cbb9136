export * from './queues';
export * from './api';
export * from './agent-api';
export * from './reports';
export * from './schedule-api';
export * from './auth-api';
export * from './webhook-api';
