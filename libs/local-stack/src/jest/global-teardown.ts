// Stops what the global setup started (nothing when the environment's services were used).
import { type LocalStack } from '../local-stack';
import { STACK_GLOBAL } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as Record<string, unknown>)[STACK_GLOBAL] as LocalStack | undefined;
  await stack?.stop();
}
