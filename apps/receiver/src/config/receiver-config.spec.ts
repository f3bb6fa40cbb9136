import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config-error';
import { DEFAULT_CREDENTIAL_CHECK_MS, DEFAULT_LIMITS, loadReceiverConfig, type ReceiverConfig } from './receiver-config';

const baseEnv = { BERTH_REPOSITORY: '/srv/berth', BERTH_CONTROLLER_URL: 'http://controller:3000/', BERTH_RECEIVER_TOKEN: 'tok' };

function load(argv: string[], env: NodeJS.ProcessEnv = baseEnv): ReceiverConfig {
  const parsed = loadReceiverConfig(argv, env);
  if (parsed.help) throw new Error('unexpected help');
  return parsed.config;
}

function problem(argv: string[], env: NodeJS.ProcessEnv): string {
  try {
    load(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('configuration was accepted');
}

describe('loadReceiverConfig', () => {
  it('applies defaults', () => {
    const config = load([]);
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 7443 });
    expect(config.repositoryDir).toBe('/srv/berth');
    expect(config.controllerUrl).toBe('http://controller:3000');
    expect(config.receiverToken).toBe('tok');
    expect(config.tls).toBeNull();
    expect(config.limits).toEqual({ ...DEFAULT_LIMITS, chunkMaxBytes: 1024 * 1024 });
    expect(config.admission).toEqual({ mode: 'adaptive', commitLatencyTargetMs: 500 });
    expect(config.writeThrottle).toBeNull();
    expect(config.metricsListen).toBeNull();
    expect(config.credentialCheckMs).toBe(DEFAULT_CREDENTIAL_CHECK_MS);
  });

  it('reads admission, write throttle and metrics settings', () => {
    const config = load([], {
      ...baseEnv,
      BERTH_RECEIVER_ADMISSION: 'fixed',
      BERTH_RECEIVER_COMMIT_TARGET_MS: '250',
      BERTH_RECEIVER_WRITE_BYTES_PER_SEC: String(2 * 1024 * 1024),
      BERTH_RECEIVER_METRICS_LISTEN: '127.0.0.1:9464',
      BERTH_RECEIVER_CREDENTIAL_CHECK_MS: '500',
    });
    expect(config.credentialCheckMs).toBe(500);
    expect(config.admission).toEqual({ mode: 'fixed', commitLatencyTargetMs: 250 });
    expect(config.writeThrottle).toEqual({ bytesPerSecond: 2 * 1024 * 1024, opsPerSecond: null });
    expect(config.metricsListen).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(load([], { ...baseEnv, BERTH_RECEIVER_WRITE_OPS_PER_SEC: '200' }).writeThrottle).toEqual({ bytesPerSecond: null, opsPerSecond: 200 });
  });

  it('prefers flags over the environment and reads the token from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-config-'));
    try {
      writeFileSync(join(dir, 'token'), '  file-token\n');
      const config = load(['--listen', '[::1]:9000', '--repository=/data/repo', '--controller', 'https://c.example', '--token-file', join(dir, 'token')]);
      expect(config.listen).toEqual({ host: '::1', port: 9000 });
      expect(config.repositoryDir).toBe('/data/repo');
      expect(config.controllerUrl).toBe('https://c.example');
      expect(config.receiverToken).toBe('file-token');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads limits and TLS files from the environment', () => {
    const config = load([], {
      ...baseEnv,
      BERTH_TLS_CERT: '/etc/berth/cert.pem',
      BERTH_TLS_KEY: '/etc/berth/key.pem',
      BERTH_RECEIVER_MAX_SESSIONS: '2',
      BERTH_HEARTBEAT_MS: '1000',
      BERTH_IDLE_TIMEOUT_MS: '10000',
      BERTH_MAX_FRAME_BYTES: String(2 * 1024 * 1024),
      BERTH_RECEIVER_SIGNATURE_CACHE_MIN_BYTES: String(32 * 1024 * 1024),
      BERTH_RECEIVER_SIGNATURE_CACHE_MAX_BYTES: String(8 * 1024 * 1024 * 1024),
    });
    expect(config.tls).toEqual({ certFile: '/etc/berth/cert.pem', keyFile: '/etc/berth/key.pem' });
    expect(config.limits).toMatchObject({ maxSessions: 2, heartbeatMs: 1000, idleTimeoutMs: 10_000, maxFrameBytes: 2 * 1024 * 1024, chunkMaxBytes: 1024 * 1024 });
    expect(config.limits).toMatchObject({ signatureCacheMinBytes: 32 * 1024 * 1024, signatureCacheMaxBytes: 8 * 1024 * 1024 * 1024 });
  });

  it('says what is wrong', () => {
    expect(problem([], { ...baseEnv, BERTH_REPOSITORY: '' })).toMatch(/repository directory is missing/);
    expect(problem([], { ...baseEnv, BERTH_CONTROLLER_URL: undefined })).toMatch(/controller URL/);
    expect(problem([], { ...baseEnv, BERTH_CONTROLLER_URL: 'ftp://x' })).toMatch(/http\(s\)/);
    expect(problem([], { ...baseEnv, BERTH_RECEIVER_TOKEN: ' ' })).toMatch(/receiver token is missing/);
    expect(problem(['--token-file', '/nonexistent/token'], baseEnv)).toMatch(/cannot read --token-file/);
    expect(problem(['--listen', 'localhost'], baseEnv)).toMatch(/HOST:PORT/);
    expect(problem(['--listen', 'h:70000'], baseEnv)).toMatch(/HOST:PORT/);
    expect(problem(['--bogus'], baseEnv)).toMatch(/unknown argument "--bogus"/);
    expect(problem(['--listen'], baseEnv)).toMatch(/--listen needs a value/);
    expect(problem([], { ...baseEnv, BERTH_TLS_CERT: '/c.pem' })).toMatch(/both BERTH_TLS_CERT and BERTH_TLS_KEY/);
    expect(problem([], { ...baseEnv, BERTH_RECEIVER_MAX_SESSIONS: '0' })).toMatch(/BERTH_RECEIVER_MAX_SESSIONS must be an integer from 1/);
    expect(problem([], { ...baseEnv, BERTH_HEARTBEAT_MS: 'fast' })).toMatch(/BERTH_HEARTBEAT_MS/);
    expect(problem([], { ...baseEnv, BERTH_HEARTBEAT_MS: '5000', BERTH_IDLE_TIMEOUT_MS: '6000' })).toMatch(/at least twice/);
    expect(problem([], { ...baseEnv, BERTH_MAX_FRAME_BYTES: String(64 * 1024 * 1024) })).toMatch(/BERTH_MAX_FRAME_BYTES/);
    expect(problem([], { ...baseEnv, BERTH_RECEIVER_CREDIT_BYTES: '1024' })).toMatch(/BERTH_RECEIVER_CREDIT_BYTES/);
    expect(problem([], { ...baseEnv, BERTH_RECEIVER_ADMISSION: 'aimd' })).toMatch(/BERTH_RECEIVER_ADMISSION must be "fixed" or "adaptive", got "aimd"/);
    expect(problem([], { ...baseEnv, BERTH_RECEIVER_COMMIT_TARGET_MS: '0' })).toMatch(/BERTH_RECEIVER_COMMIT_TARGET_MS/);
    expect(problem([], { ...baseEnv, BERTH_RECEIVER_WRITE_BYTES_PER_SEC: '1000' })).toMatch(/BERTH_RECEIVER_WRITE_BYTES_PER_SEC must be an integer from 65536/);
    expect(problem([], { ...baseEnv, BERTH_RECEIVER_WRITE_OPS_PER_SEC: 'slow' })).toMatch(/BERTH_RECEIVER_WRITE_OPS_PER_SEC/);
    expect(problem([], { ...baseEnv, BERTH_RECEIVER_METRICS_LISTEN: '9464' })).toMatch(/BERTH_RECEIVER_METRICS_LISTEN must be HOST:PORT/);
    expect(problem([], { ...baseEnv, BERTH_RECEIVER_CREDENTIAL_CHECK_MS: '10' })).toMatch(/BERTH_RECEIVER_CREDENTIAL_CHECK_MS/);
    expect(problem([], { ...baseEnv, BERTH_RECEIVER_SIGNATURE_CACHE_MAX_BYTES: '1000' })).toMatch(/BERTH_RECEIVER_SIGNATURE_CACHE_MAX_BYTES must be an integer from 1048576/);
  });

  it('answers --help without validating anything', () => {
    expect(loadReceiverConfig(['--help'], {})).toEqual({ help: true });
  });
});
