import { ConfigError, parseControllerConfig } from './controller-config';

const minimal = {
  DATABASE_URL: 'postgresql://berth@db.internal:5432/berth',
  REDIS_URL: 'redis://cache.internal:6379',
  BERTH_RECEIVER_TOKEN: 'a-receiver-token-of-some-length',
};

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    parseControllerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('webhook and objective check settings', () => {
  it('default to a check every 5 minutes and 8 attempts backing off from 10 s, 10 s per request', () => {
    const config = parseControllerConfig(minimal);
    expect(config.rpoCheckIntervalMs).toBe(300_000);
    expect(config.webhooks).toEqual({ attempts: 8, backoffMs: 10_000, timeoutMs: 10_000 });
  });

  it('reads every variable; 0 turns the check off', () => {
    const config = parseControllerConfig({ ...minimal, BERTH_RPO_CHECK_INTERVAL_MS: '0', BERTH_WEBHOOK_ATTEMPTS: '3', BERTH_WEBHOOK_BACKOFF_MS: '250', BERTH_WEBHOOK_TIMEOUT_MS: '5000' });
    expect(config.rpoCheckIntervalMs).toBe(0);
    expect(config.webhooks).toEqual({ attempts: 3, backoffMs: 250, timeoutMs: 5_000 });
    expect(parseControllerConfig({ ...minimal, BERTH_RPO_CHECK_INTERVAL_MS: '60000' }).rpoCheckIntervalMs).toBe(60_000);
  });

  it('names every value out of range at once', () => {
    expect(problemsOf({ ...minimal, BERTH_RPO_CHECK_INTERVAL_MS: '500', BERTH_WEBHOOK_ATTEMPTS: '0', BERTH_WEBHOOK_BACKOFF_MS: 'soon', BERTH_WEBHOOK_TIMEOUT_MS: '600000' })).toEqual([
      'BERTH_RPO_CHECK_INTERVAL_MS must be 0 (off) or a number of milliseconds from 1000 to 86400000',
      'BERTH_WEBHOOK_ATTEMPTS must be a number of attempts from 1 to 50',
      'BERTH_WEBHOOK_BACKOFF_MS must be a number of milliseconds from 100 to 3600000',
      'BERTH_WEBHOOK_TIMEOUT_MS must be a number of milliseconds from 100 to 120000',
    ]);
  });
});
