/**
 * The receiver's configuration: flags first, then the environment, then defaults. Read and validated once
 * at boot; the only place of the receiver that reads `process.env`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_MAX_FRAME_BYTES, MAX_FRAME_BYTES } from '@berth/wire';
import { ConfigError } from './config-error';
import { nonEmpty, parseHostPort, parseInteger, parseUrl, type HostPort } from './config-values';

export interface ReceiverLimits {
  readonly maxSessions: number;
  readonly heartbeatMs: number;
  readonly idleTimeoutMs: number;
  /** A connection must send Hello within this time. */
  readonly helloTimeoutMs: number;
  readonly maxFrameBytes: number;
  /** Initial and maximum byte credit of a backup session. */
  readonly creditBytes: number;
  readonly creditOps: number;
  readonly chunkMaxEntries: number;
  readonly chunkMaxBytes: number;
  /** A changed file travels as a delta when both its versions have at least this many bytes. */
  readonly deltaMinBytes: number;
  /** Signatures of stored files at least this large are kept beside the repository (SignatureCache). */
  readonly signatureCacheMinBytes: number;
  /** The kept signatures are pruned to this many bytes, least recently used first (SignatureCache.prune). */
  readonly signatureCacheMaxBytes: number;
}

export interface ReceiverConfig {
  readonly listen: HostPort;
  readonly repositoryDir: string;
  readonly controllerUrl: string;
  readonly receiverToken: string;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null;
  readonly limits: ReceiverLimits;
  readonly admission: AdmissionSettings;
  /** Repository write throttle (a slow disk); null: unthrottled. */
  readonly writeThrottle: WriteThrottleSettings | null;
  /** Where to serve GET /metrics (Prometheus text); null: off. */
  readonly metricsListen: HostPort | null;
  /** How often the credentials of open sessions are checked again with the controller (revoked: the session ends). */
  readonly credentialCheckMs: number;
}

export const DEFAULT_CREDENTIAL_CHECK_MS = 2000;

export type AdmissionMode = 'fixed' | 'adaptive';

export interface AdmissionSettings {
  /** fixed: always limits.maxSessions slots; adaptive: AIMD on commit latency, limits.maxSessions the ceiling. */
  readonly mode: AdmissionMode;
  readonly commitLatencyTargetMs: number;
}

export interface WriteThrottleSettings {
  /** Content bytes handed to the repository per second; null: unlimited. */
  readonly bytesPerSecond: number | null;
  /** Files, trees and journal appends per second; null: unlimited. */
  readonly opsPerSecond: number | null;
}

/** Byte credit below this could stall a session: the receiver keeps up to ~2 content chunks unflushed per file. */
export const MIN_CREDIT_BYTES = 8 * 1024 * 1024;

export const DEFAULT_LIMITS: ReceiverLimits = {
  maxSessions: 4,
  heartbeatMs: 5000,
  idleTimeoutMs: 60_000,
  helloTimeoutMs: 10_000,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  creditBytes: 32 * 1024 * 1024,
  creditOps: 4096,
  chunkMaxEntries: 1024,
  chunkMaxBytes: 1024 * 1024,
  deltaMinBytes: 64 * 1024,
  signatureCacheMinBytes: 16 * 1024 * 1024,
  signatureCacheMaxBytes: 1024 * 1024 * 1024,
};

export const RECEIVER_USAGE = `Usage: berth receiver [--listen HOST:PORT] [--repository DIR] [--controller URL] [--token-file FILE]

  --listen HOST:PORT   where to accept agents (env BERTH_RECEIVER_LISTEN; default 0.0.0.0:7443)
  --repository DIR     the repository directory (env BERTH_REPOSITORY)
  --controller URL     controller base URL, used to verify sessions (env BERTH_CONTROLLER_URL)
  --token-file FILE    file holding the receiver token (else env BERTH_RECEIVER_TOKEN)

Environment only:
  BERTH_TLS_CERT, BERTH_TLS_KEY        PEM files; TLS when both are set
  BERTH_RECEIVER_MAX_SESSIONS          sessions writing at once (default 4); others wait in line
  BERTH_HEARTBEAT_MS                   heartbeat interval (default 5000)
  BERTH_IDLE_TIMEOUT_MS                a peer silent this long is dropped (default 60000)
  BERTH_MAX_FRAME_BYTES                largest accepted frame (default ${DEFAULT_MAX_FRAME_BYTES})
  BERTH_RECEIVER_HELLO_TIMEOUT_MS      time allowed for the first frame (default 10000)
  BERTH_RECEIVER_CREDIT_BYTES          per-session byte window (default 33554432, at least ${MIN_CREDIT_BYTES})
  BERTH_RECEIVER_CREDIT_OPS            per-session entry window (default 4096)
  BERTH_RECEIVER_CHUNK_MAX_ENTRIES     entries per chunk (default 1024, at most the entry window)
  BERTH_RECEIVER_DELTA_MIN_BYTES       changed files at least this large travel as deltas (default 65536)
  BERTH_RECEIVER_SIGNATURE_CACHE_MIN_BYTES
                                       stored files at least this large keep their delta signature beside the
                                       repository, so a delta need not read the whole previous version (default 16777216)
  BERTH_RECEIVER_SIGNATURE_CACHE_MAX_BYTES
                                       at most this many bytes of kept signatures, least recently used removed first,
                                       checked at start and hourly (default 1073741824, at least 1 MiB)
  BERTH_RECEIVER_ADMISSION             fixed | adaptive (default adaptive: AIMD on commit latency, max sessions the ceiling)
  BERTH_RECEIVER_COMMIT_TARGET_MS      commit latency the adaptive admission steers to (default 500)
  BERTH_RECEIVER_WRITE_BYTES_PER_SEC   throttle repository writes to this many bytes/s (default unlimited)
  BERTH_RECEIVER_WRITE_OPS_PER_SEC     throttle repository file operations to this many/s (default unlimited)
  BERTH_RECEIVER_METRICS_LISTEN        HOST:PORT serving GET /metrics in Prometheus text format (default off)
  BERTH_RECEIVER_CREDENTIAL_CHECK_MS   how often open sessions' credentials are checked again; revoked ones end (default ${DEFAULT_CREDENTIAL_CHECK_MS})
`;

const FLAGS = { '--listen': 'listen', '--repository': 'repository', '--controller': 'controller', '--token-file': 'tokenFile' } as const;
type FlagKey = (typeof FLAGS)[keyof typeof FLAGS];

export type ReceiverCommandLine = { readonly help: true } | { readonly help: false; readonly config: ReceiverConfig };

export function loadReceiverConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ReceiverCommandLine {
  if (argv.includes('--help') || argv.includes('-h')) return { help: true };
  const flags = parseFlags(argv);
  const repository = nonEmpty(flags.repository ?? env['BERTH_REPOSITORY']);
  if (repository === null) throw new ConfigError('the repository directory is missing: pass --repository DIR or set BERTH_REPOSITORY');
  return {
    help: false,
    config: {
      listen: parseHostPort(flags.listen ?? env['BERTH_RECEIVER_LISTEN'] ?? '0.0.0.0:7443', 'BERTH_RECEIVER_LISTEN / --listen'),
      repositoryDir: isAbsolute(repository) ? repository : resolve(repository),
      controllerUrl: parseUrl(flags.controller ?? env['BERTH_CONTROLLER_URL'], 'the controller URL (--controller or BERTH_CONTROLLER_URL)'),
      receiverToken: readToken(flags.tokenFile, env['BERTH_RECEIVER_TOKEN']),
      tls: readTls(env['BERTH_TLS_CERT'], env['BERTH_TLS_KEY']),
      limits: readLimits(env),
      admission: readAdmission(env),
      writeThrottle: readWriteThrottle(env),
      metricsListen: readMetricsListen(env),
      credentialCheckMs: parseInteger(env['BERTH_RECEIVER_CREDENTIAL_CHECK_MS'], 'BERTH_RECEIVER_CREDENTIAL_CHECK_MS', DEFAULT_CREDENTIAL_CHECK_MS, 100, 3_600_000),
    },
  };
}

export function readLimits(env: NodeJS.ProcessEnv): ReceiverLimits {
  const d = DEFAULT_LIMITS;
  const creditOps = parseInteger(env['BERTH_RECEIVER_CREDIT_OPS'], 'BERTH_RECEIVER_CREDIT_OPS', d.creditOps, 16, 1_000_000);
  const heartbeatMs = parseInteger(env['BERTH_HEARTBEAT_MS'], 'BERTH_HEARTBEAT_MS', d.heartbeatMs, 10, 3_600_000);
  const idleTimeoutMs = parseInteger(env['BERTH_IDLE_TIMEOUT_MS'], 'BERTH_IDLE_TIMEOUT_MS', d.idleTimeoutMs, 50, 86_400_000);
  if (idleTimeoutMs < 2 * heartbeatMs) {
    throw new ConfigError(`BERTH_IDLE_TIMEOUT_MS (${idleTimeoutMs}) must be at least twice BERTH_HEARTBEAT_MS (${heartbeatMs}), or healthy peers would be dropped`);
  }
  const maxFrameBytes = parseInteger(env['BERTH_MAX_FRAME_BYTES'], 'BERTH_MAX_FRAME_BYTES', d.maxFrameBytes, 2 * 1024 * 1024, MAX_FRAME_BYTES);
  return {
    maxSessions: parseInteger(env['BERTH_RECEIVER_MAX_SESSIONS'], 'BERTH_RECEIVER_MAX_SESSIONS', d.maxSessions, 1, 10_000),
    heartbeatMs,
    idleTimeoutMs,
    helloTimeoutMs: parseInteger(env['BERTH_RECEIVER_HELLO_TIMEOUT_MS'], 'BERTH_RECEIVER_HELLO_TIMEOUT_MS', d.helloTimeoutMs, 50, 3_600_000),
    maxFrameBytes,
    creditBytes: parseInteger(env['BERTH_RECEIVER_CREDIT_BYTES'], 'BERTH_RECEIVER_CREDIT_BYTES', d.creditBytes, MIN_CREDIT_BYTES, 4 * 1024 * 1024 * 1024),
    creditOps,
    chunkMaxEntries: parseInteger(env['BERTH_RECEIVER_CHUNK_MAX_ENTRIES'], 'BERTH_RECEIVER_CHUNK_MAX_ENTRIES', Math.min(d.chunkMaxEntries, creditOps), 1, creditOps),
    // Agents size chunks by an upper bound of their encoding; half a frame leaves room for that estimate's slack.
    chunkMaxBytes: Math.min(d.chunkMaxBytes, Math.floor(maxFrameBytes / 2)),
    deltaMinBytes: parseInteger(env['BERTH_RECEIVER_DELTA_MIN_BYTES'], 'BERTH_RECEIVER_DELTA_MIN_BYTES', d.deltaMinBytes, 1, Number.MAX_SAFE_INTEGER),
    signatureCacheMinBytes: parseInteger(
      env['BERTH_RECEIVER_SIGNATURE_CACHE_MIN_BYTES'],
      'BERTH_RECEIVER_SIGNATURE_CACHE_MIN_BYTES',
      d.signatureCacheMinBytes,
      1024 * 1024,
      Number.MAX_SAFE_INTEGER,
    ),
    signatureCacheMaxBytes: parseInteger(
      env['BERTH_RECEIVER_SIGNATURE_CACHE_MAX_BYTES'],
      'BERTH_RECEIVER_SIGNATURE_CACHE_MAX_BYTES',
      d.signatureCacheMaxBytes,
      1024 * 1024,
      Number.MAX_SAFE_INTEGER,
    ),
  };
}

export function readAdmission(env: NodeJS.ProcessEnv): AdmissionSettings {
  const raw = nonEmpty(env['BERTH_RECEIVER_ADMISSION']) ?? 'adaptive';
  if (raw !== 'fixed' && raw !== 'adaptive') throw new ConfigError(`BERTH_RECEIVER_ADMISSION must be "fixed" or "adaptive", got "${raw}"`);
  return { mode: raw, commitLatencyTargetMs: parseInteger(env['BERTH_RECEIVER_COMMIT_TARGET_MS'], 'BERTH_RECEIVER_COMMIT_TARGET_MS', 500, 1, 3_600_000) };
}

export function readWriteThrottle(env: NodeJS.ProcessEnv): WriteThrottleSettings | null {
  const bytes = nonEmpty(env['BERTH_RECEIVER_WRITE_BYTES_PER_SEC']);
  const ops = nonEmpty(env['BERTH_RECEIVER_WRITE_OPS_PER_SEC']);
  if (bytes === null && ops === null) return null;
  return {
    // Below 64 KiB/s one 1 MiB chunk would take longer than any sane idle timeout.
    bytesPerSecond: bytes === null ? null : parseInteger(bytes, 'BERTH_RECEIVER_WRITE_BYTES_PER_SEC', 0, 64 * 1024, Number.MAX_SAFE_INTEGER),
    opsPerSecond: ops === null ? null : parseInteger(ops, 'BERTH_RECEIVER_WRITE_OPS_PER_SEC', 0, 1, 10_000_000),
  };
}

function readMetricsListen(env: NodeJS.ProcessEnv): HostPort | null {
  const raw = nonEmpty(env['BERTH_RECEIVER_METRICS_LISTEN']);
  return raw === null ? null : parseHostPort(raw, 'BERTH_RECEIVER_METRICS_LISTEN');
}

function parseFlags(argv: readonly string[]): Partial<Record<FlagKey, string>> {
  const flags: Partial<Record<FlagKey, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!Object.prototype.hasOwnProperty.call(FLAGS, name)) throw new ConfigError(`unknown argument "${arg}" (see berth receiver --help)`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new ConfigError(`${name} needs a value`);
    flags[FLAGS[name as keyof typeof FLAGS]] = value;
  }
  return flags;
}

function readToken(tokenFile: string | undefined, envToken: string | undefined): string {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(tokenFile, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read --token-file ${tokenFile}: ${(error as Error).message}`);
    }
    const token = nonEmpty(text);
    if (token === null) throw new ConfigError(`--token-file ${tokenFile} is empty`);
    return token;
  }
  const token = nonEmpty(envToken);
  if (token === null) throw new ConfigError('the receiver token is missing: pass --token-file FILE or set BERTH_RECEIVER_TOKEN');
  return token;
}

function readTls(cert: string | undefined, key: string | undefined): ReceiverConfig['tls'] {
  const certFile = nonEmpty(cert);
  const keyFile = nonEmpty(key);
  if (certFile === null && keyFile === null) return null;
  if (certFile === null || keyFile === null) throw new ConfigError('TLS needs both BERTH_TLS_CERT and BERTH_TLS_KEY (or neither for plain TCP)');
  return { certFile, keyFile };
}
