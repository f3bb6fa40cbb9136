import { ConfigError, parseControllerConfig } from './controller-config';

const minimal = {
  DATABASE_URL: 'postgresql://berth@db.internal:5432/berth',
  REDIS_URL: 'redis://cache.internal:6379',
  BERTH_RECEIVER_TOKEN: 'a-receiver-token-of-some-length',
};

describe('BERTH_AUDIT_RETENTION_DAYS', () => {
  it('defaults to 400 days, takes 0 (keep for ever) and whole days up to a hundred years', () => {
    expect(parseControllerConfig(minimal).auditRetentionDays).toBe(400);
    expect(parseControllerConfig({ ...minimal, BERTH_AUDIT_RETENTION_DAYS: '0' }).auditRetentionDays).toBe(0);
    expect(parseControllerConfig({ ...minimal, BERTH_AUDIT_RETENTION_DAYS: '36500' }).auditRetentionDays).toBe(36_500);
  });

  it.each(['-1', '1.5', '36501', 'forever'])('refuses %s, naming the variable and what it takes', (value) => {
    expect(() => parseControllerConfig({ ...minimal, BERTH_AUDIT_RETENTION_DAYS: value })).toThrow(ConfigError);
    expect(() => parseControllerConfig({ ...minimal, BERTH_AUDIT_RETENTION_DAYS: value })).toThrow(
      'BERTH_AUDIT_RETENTION_DAYS must be a number of days (0: keep for ever) from 0 to 36500',
    );
  });
});
