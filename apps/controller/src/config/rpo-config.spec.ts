import { ConfigError, parseControllerConfig } from './controller-config';

const minimal = {
  DATABASE_URL: 'postgresql://berth@db.internal:5432/berth',
  REDIS_URL: 'redis://cache.internal:6379',
  BERTH_RECEIVER_TOKEN: 'a-receiver-token-of-some-length',
};

describe('BERTH_RPO_HOURS', () => {
  it('defaults to 26 hours (a daily backup with two hours of slack)', () => {
    expect(parseControllerConfig(minimal).rpoHours).toBe(26);
  });

  it('accepts whole and fractional hours', () => {
    expect(parseControllerConfig({ ...minimal, BERTH_RPO_HOURS: '48' }).rpoHours).toBe(48);
    expect(parseControllerConfig({ ...minimal, BERTH_RPO_HOURS: ' 1.5 ' }).rpoHours).toBe(1.5);
  });

  it.each(['0', '0.5', '-3', 'a day', '8761', '1e3'])('refuses %p, naming the variable and the range', (value) => {
    let problems: readonly string[] = [];
    try {
      parseControllerConfig({ ...minimal, BERTH_RPO_HOURS: value });
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems;
    }
    expect(problems).toEqual(['BERTH_RPO_HOURS must be a number of hours from 1 to 8760']);
  });
});
