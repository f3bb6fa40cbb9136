export * from './queues';
export * from './api';
export * from './agent-api';
