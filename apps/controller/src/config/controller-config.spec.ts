import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseControllerConfig } from './controller-config';

const minimal = {
  DATABASE_URL: 'postgresql://berth@db.internal:5432/berth',
  REDIS_URL: 'redis://cache.internal:6379',
  BERTH_RECEIVER_TOKEN: 'a-receiver-token-of-some-length',
};

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    parseControllerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseControllerConfig', () => {
  it('applies the defaults', () => {
    const config = parseControllerConfig(minimal);
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.agentRedisUrl).toBe(minimal.REDIS_URL);
    expect(config.agentRedisAcl).toBe('auto');
    expect(config.reconcileIntervalMs).toBe(10_000);
    expect(config.liveness).toEqual({ heartbeatMs: 5_000, offlineAfterBeats: 3 });
    expect(config.receiver).toEqual({ token: minimal.BERTH_RECEIVER_TOKEN, address: { host: '127.0.0.1', port: 7443 }, tls: false, caPem: null, serverName: null });
  });

  it('reads every variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
    try {
      const caPath = join(dir, 'ca.pem');
      writeFileSync(caPath, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const config = parseControllerConfig({
        ...minimal,
        BERTH_CONTROLLER_LISTEN: '127.0.0.1:9000',
        BERTH_RECEIVER_ADDRESS: 'backup.internal:7443',
        BERTH_RECEIVER_TLS_CA: caPath,
        BERTH_RECEIVER_SERVER_NAME: 'receiver.berth',
        BERTH_AGENT_REDIS_URL: 'rediss://agents:secret@cache.internal:6380',
        BERTH_RECONCILE_INTERVAL_MS: '2500',
        BERTH_AGENT_REDIS_ACL: 'off',
      });
      expect(config.agentRedisAcl).toBe('off');
      expect(config.reconcileIntervalMs).toBe(2_500);
      expect(config.listen).toEqual({ host: '127.0.0.1', port: 9000 });
      expect(config.agentRedisUrl).toBe('rediss://agents:secret@cache.internal:6380');
      expect(config.receiver.tls).toBe(true);
      expect(config.receiver.caPem).toContain('BEGIN CERTIFICATE');
      expect(config.receiver.serverName).toBe('receiver.berth');
      expect(config.receiver.address).toEqual({ host: 'backup.internal', port: 7443 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names every missing or malformed variable at once', () => {
    expect(problemsOf({})).toEqual([
      'DATABASE_URL is required (a postgresql:// URL)',
      'REDIS_URL is required (a redis:// URL)',
      'BERTH_RECEIVER_TOKEN is required, at least 16 characters (the shared secret the receiver presents)',
    ]);
    const problems = problemsOf({
      ...minimal,
      DATABASE_URL: 'mysql://x',
      BERTH_CONTROLLER_LISTEN: 'everywhere',
      BERTH_RECEIVER_TLS: 'maybe',
      BERTH_RECEIVER_TLS_CA: '/nonexistent/ca.pem',
      BERTH_RECEIVER_SERVER_NAME: 'not a name',
      BERTH_RECONCILE_INTERVAL_MS: '50',
      BERTH_AGENT_REDIS_ACL: 'sometimes',
    });
    expect(problems).toEqual([
      'DATABASE_URL must be a postgresql:// or postgres:// URL',
      'BERTH_AGENT_REDIS_ACL must be auto or off',
      expect.stringMatching(/^BERTH_CONTROLLER_LISTEN: "everywhere" is not host:port/),
      'BERTH_RECEIVER_TLS_CA: cannot read /nonexistent/ca.pem (ENOENT)',
      'BERTH_RECEIVER_TLS must be true or false',
      'BERTH_RECEIVER_SERVER_NAME must be a DNS name',
      'BERTH_RECONCILE_INTERVAL_MS must be 0 (off) or a number of milliseconds from 1000 to 3600000',
    ]);
  });

  it('treats empty variables as unset and lets BERTH_RECEIVER_TLS override the default', () => {
    const config = parseControllerConfig({ ...minimal, BERTH_CONTROLLER_LISTEN: '', BERTH_RECEIVER_TLS: 'true' });
    expect(config.listen.port).toBe(8080);
    expect(config.receiver.tls).toBe(true);
  });

  it('turns the reconciler off with BERTH_RECONCILE_INTERVAL_MS=0', () => {
    expect(parseControllerConfig({ ...minimal, BERTH_RECONCILE_INTERVAL_MS: '0' }).reconcileIntervalMs).toBe(0);
    expect(problemsOf({ ...minimal, BERTH_RECONCILE_INTERVAL_MS: 'often' })).toEqual(['BERTH_RECONCILE_INTERVAL_MS must be 0 (off) or a number of milliseconds from 1000 to 3600000']);
  });

  it('reads the agent heartbeat interval and the missed heartbeats that make a host offline, within their ranges', () => {
    expect(parseControllerConfig({ ...minimal, BERTH_AGENT_HEARTBEAT_MS: '500', BERTH_AGENT_OFFLINE_AFTER: '4' }).liveness).toEqual({ heartbeatMs: 500, offlineAfterBeats: 4 });
    expect(problemsOf({ ...minimal, BERTH_AGENT_HEARTBEAT_MS: '50', BERTH_AGENT_OFFLINE_AFTER: '1' })).toEqual([
      'BERTH_AGENT_HEARTBEAT_MS must be an integer from 200 to 300000',
      'BERTH_AGENT_OFFLINE_AFTER must be an integer from 2 to 100',
    ]);
  });
});

describe('BERTH_AUDIT_RETENTION_DAYS', () => {
  it('defaults to 400 days, takes 0 (keep for ever) and whole days up to a hundred years', () => {
    expect(parseControllerConfig(minimal).auditRetentionDays).toBe(400);
    expect(parseControllerConfig({ ...minimal, BERTH_AUDIT_RETENTION_DAYS: '0' }).auditRetentionDays).toBe(0);
    expect(parseControllerConfig({ ...minimal, BERTH_AUDIT_RETENTION_DAYS: '36500' }).auditRetentionDays).toBe(36_500);
  });

  it.each(['-1', '1.5', '36501', 'forever'])('refuses %s, naming the variable and what it takes', (value) => {
    expect(problemsOf({ ...minimal, BERTH_AUDIT_RETENTION_DAYS: value })).toEqual(['BERTH_AUDIT_RETENTION_DAYS must be a number of days (0: keep for ever) from 0 to 36500']);
  });
});
