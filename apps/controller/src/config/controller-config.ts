import { readFileSync } from 'node:fs';
import { type HostPort, parseHostPort } from './host-port';

/**
 * The controller's whole configuration, validated once at boot. This folder is the only place that reads the
 * environment; everything else receives this object through Nest's injector (the abstract class is the token).
 */
export abstract class ControllerConfig {
  abstract readonly databaseUrl: string;
  abstract readonly redisUrl: string;
  /** Where the HTTP API listens (overridden by `--listen`). */
  abstract readonly listen: HostPort;
  /** Redis URL handed to agents for their BullMQ worker (its user and password are dropped when agentRedisAcl applies). */
  abstract readonly agentRedisUrl: string;
  /**
   * `auto`: each enrolled host gets a Redis ACL user limited to its own queue's keys (on the controller's Redis,
   * which must be the one agents reach), unless Redis refuses ACL commands: then agents use agentRedisUrl as it is
   * and a warning says so. `off`: never try (agents use agentRedisUrl as it is).
   */
  abstract readonly agentRedisAcl: AgentRedisAclMode;
  abstract readonly receiver: ReceiverConfig;
  /** How often the run reconciler looks at active runs' jobs; 0 turns it off on this replica. */
  abstract readonly reconcileIntervalMs: number;
  /** Recovery point objective: a host whose last snapshot is older than this (or that has none) breaches it. */
  abstract readonly rpoHours: number;
  /** How often hosts are checked against the objective for host.rpo_breached webhooks; 0 turns it off on this replica. */
  abstract readonly rpoCheckIntervalMs: number;
  abstract readonly webhooks: WebhookDeliveryConfig;
  /** Agent liveness: how often agents heartbeat, and after how many missed heartbeats their host is offline. */
  abstract readonly liveness: LivenessConfig;
  /**
   * An admin API token the controller makes sure exists at boot (named "bootstrap"), so a fresh installation
   * can be administered; null: only tokens created through the API exist.
   */
  abstract readonly adminToken: string | null;
  /** Audit events older than this many days are deleted (hourly); 0 keeps them for ever. */
  abstract readonly auditRetentionDays: number;
}

export interface ReceiverConfig {
  /** Shared secret the receiver presents on the internal API. */
  readonly token: string;
  /** Address agents connect to. */
  readonly address: HostPort;
  readonly tls: boolean;
  /** PEM of the CA agents should trust for the receiver, when it is not publicly trusted. */
  readonly caPem: string | null;
  /** TLS server name agents verify, when it differs from the address' host. */
  readonly serverName: string | null;
}

/** How webhook deliveries are attempted (BullMQ attempts with exponential backoff). */
export interface WebhookDeliveryConfig {
  /** Attempts per delivery, the first included. */
  readonly attempts: number;
  /** Wait before the second attempt; each later one waits twice as long as the one before. */
  readonly backoffMs: number;
  /** Longest one POST may take (connect, send, answer). */
  readonly timeoutMs: number;
}

export interface LivenessConfig {
  /** Interval of the agents' POST heartbeat (told to them in their configuration and in every answer). */
  readonly heartbeatMs: number;
  /** A host whose agent has not been heard of for heartbeatMs x this is offline. */
  readonly offlineAfterBeats: number;
}

/** How long without a word from its agent a host is still online. */
export function offlineAfterMs(liveness: LivenessConfig): number {
  return liveness.heartbeatMs * liveness.offlineAfterBeats;
}

export type AgentRedisAclMode = 'auto' | 'off';

export type Environment = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid controller configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export const CONFIG_DEFAULTS = {
  listen: '0.0.0.0:8080',
  receiverAddress: '127.0.0.1:7443',
  reconcileIntervalMs: 10_000,
  rpoHours: 26,
  rpoCheckIntervalMs: 300_000,
  webhookAttempts: 8,
  webhookBackoffMs: 10_000,
  webhookTimeoutMs: 10_000,
  agentHeartbeatMs: 5_000,
  agentOfflineAfterBeats: 3,
  auditRetentionDays: 400,
} as const;

const HEARTBEAT_RANGE_MS = { min: 200, max: 300_000 } as const;
const OFFLINE_AFTER_BEATS_RANGE = { min: 2, max: 100 } as const;

/** From one hour to a year: the objective is checked against snapshot ages, never finer than that. */
const RPO_HOURS_RANGE = { min: 1, max: 8_760 } as const;

const RECONCILE_INTERVAL_RANGE_MS = { min: 1_000, max: 3_600_000 } as const;
/** 0 keeps audit events for ever; otherwise from a day to a hundred years. */
const AUDIT_RETENTION_DAYS_RANGE = { min: 0, max: 36_500 } as const;
const RPO_CHECK_INTERVAL_RANGE_MS = { min: 1_000, max: 86_400_000 } as const;
const WEBHOOK_ATTEMPTS_RANGE = { min: 1, max: 50 } as const;
const WEBHOOK_BACKOFF_RANGE_MS = { min: 100, max: 3_600_000 } as const;
const WEBHOOK_TIMEOUT_RANGE_MS = { min: 100, max: 120_000 } as const;

const MIN_RECEIVER_TOKEN_LENGTH = 16;
/** API tokens are bearer secrets: at least 128 bits of randomness written out. */
const MIN_ADMIN_TOKEN_LENGTH = 32;
const SERVER_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

/** Validates an environment into a config; throws one ConfigError naming every bad variable. */
export function parseControllerConfig(env: Environment): ControllerConfig {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const url = (name: string, protocols: readonly string[], fallback?: string): string => {
    const value = read(name) ?? fallback;
    if (value === undefined) {
      problems.push(`${name} is required (a ${protocols[0]}// URL)`);
      return '';
    }
    if (!isUrlWithProtocol(value, protocols)) {
      problems.push(`${name} must be a ${protocols.map((protocol) => `${protocol}//`).join(' or ')} URL`);
    }
    return value;
  };
  const hostPort = (name: string, fallback: string, options: { allowPortZero?: boolean } = {}): HostPort => {
    const parsed = parseHostPort(read(name) ?? fallback, options);
    if ('error' in parsed) {
      problems.push(`${name}: ${parsed.error}`);
      return { host: '', port: 0 };
    }
    return parsed;
  };

  const databaseUrl = url('DATABASE_URL', ['postgresql:', 'postgres:']);
  const redisUrl = url('REDIS_URL', ['redis:', 'rediss:']);
  const agentRedisUrl = read('BERTH_AGENT_REDIS_URL') === undefined ? redisUrl : url('BERTH_AGENT_REDIS_URL', ['redis:', 'rediss:']);
  const agentRedisAcl = read('BERTH_AGENT_REDIS_ACL') ?? 'auto';
  if (agentRedisAcl !== 'auto' && agentRedisAcl !== 'off') problems.push('BERTH_AGENT_REDIS_ACL must be auto or off');
  const listen = hostPort('BERTH_CONTROLLER_LISTEN', CONFIG_DEFAULTS.listen, { allowPortZero: true });
  const address = hostPort('BERTH_RECEIVER_ADDRESS', CONFIG_DEFAULTS.receiverAddress);

  const token = read('BERTH_RECEIVER_TOKEN') ?? '';
  if (token.length < MIN_RECEIVER_TOKEN_LENGTH) {
    problems.push(`BERTH_RECEIVER_TOKEN is required, at least ${MIN_RECEIVER_TOKEN_LENGTH} characters (the shared secret the receiver presents)`);
  }

  const caPath = read('BERTH_RECEIVER_TLS_CA');
  const caPem = caPath === undefined ? null : readPem('BERTH_RECEIVER_TLS_CA', caPath, problems);
  const tls = parseBoolean('BERTH_RECEIVER_TLS', read('BERTH_RECEIVER_TLS'), caPath !== undefined, problems);

  const serverName = read('BERTH_RECEIVER_SERVER_NAME') ?? null;
  if (serverName !== null && !SERVER_NAME.test(serverName)) {
    problems.push('BERTH_RECEIVER_SERVER_NAME must be a DNS name');
  }

  const adminToken = read('BERTH_ADMIN_TOKEN') ?? null;
  if (adminToken !== null && (adminToken.length < MIN_ADMIN_TOKEN_LENGTH || /\s/.test(adminToken))) {
    problems.push(`BERTH_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without spaces (e.g. openssl rand -hex 32)`);
  }

  const reconcileIntervalMs = parseInterval('BERTH_RECONCILE_INTERVAL_MS', read('BERTH_RECONCILE_INTERVAL_MS'), CONFIG_DEFAULTS.reconcileIntervalMs, RECONCILE_INTERVAL_RANGE_MS, problems);
  const rpoCheckIntervalMs = parseInterval('BERTH_RPO_CHECK_INTERVAL_MS', read('BERTH_RPO_CHECK_INTERVAL_MS'), CONFIG_DEFAULTS.rpoCheckIntervalMs, RPO_CHECK_INTERVAL_RANGE_MS, problems);
  const webhooks: WebhookDeliveryConfig = {
    attempts: parseWholeNumber('BERTH_WEBHOOK_ATTEMPTS', read('BERTH_WEBHOOK_ATTEMPTS'), CONFIG_DEFAULTS.webhookAttempts, WEBHOOK_ATTEMPTS_RANGE, 'attempts', problems),
    backoffMs: parseWholeNumber('BERTH_WEBHOOK_BACKOFF_MS', read('BERTH_WEBHOOK_BACKOFF_MS'), CONFIG_DEFAULTS.webhookBackoffMs, WEBHOOK_BACKOFF_RANGE_MS, 'milliseconds', problems),
    timeoutMs: parseWholeNumber('BERTH_WEBHOOK_TIMEOUT_MS', read('BERTH_WEBHOOK_TIMEOUT_MS'), CONFIG_DEFAULTS.webhookTimeoutMs, WEBHOOK_TIMEOUT_RANGE_MS, 'milliseconds', problems),
  };
  const rpoHours = parseRpoHours('BERTH_RPO_HOURS', read('BERTH_RPO_HOURS'), problems);
  const liveness: LivenessConfig = {
    heartbeatMs: parseIntegerIn('BERTH_AGENT_HEARTBEAT_MS', read('BERTH_AGENT_HEARTBEAT_MS'), HEARTBEAT_RANGE_MS, CONFIG_DEFAULTS.agentHeartbeatMs, problems),
    offlineAfterBeats: parseIntegerIn('BERTH_AGENT_OFFLINE_AFTER', read('BERTH_AGENT_OFFLINE_AFTER'), OFFLINE_AFTER_BEATS_RANGE, CONFIG_DEFAULTS.agentOfflineAfterBeats, problems),
  };

  const auditRetentionDays = parseWholeNumber('BERTH_AUDIT_RETENTION_DAYS', read('BERTH_AUDIT_RETENTION_DAYS'), CONFIG_DEFAULTS.auditRetentionDays, AUDIT_RETENTION_DAYS_RANGE, 'days (0: keep for ever)', problems);

  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  return {
    databaseUrl,
    redisUrl,
    agentRedisUrl,
    agentRedisAcl: agentRedisAcl === 'off' ? 'off' : 'auto',
    listen,
    receiver: { token, address, tls, caPem, serverName },
    reconcileIntervalMs,
    rpoHours,
    rpoCheckIntervalMs,
    webhooks,
    liveness,
    adminToken,
    auditRetentionDays,
  };
}

let cached: ControllerConfig | undefined;

/** The process' configuration: read from the environment on first use, then cached. */
export function loadControllerConfig(): ControllerConfig {
  cached ??= parseControllerConfig(process.env);
  return cached;
}

function isUrlWithProtocol(value: string, protocols: readonly string[]): boolean {
  try {
    const parsed = new URL(value);
    return protocols.includes(parsed.protocol) && parsed.hostname !== '';
  } catch {
    return false;
  }
}

function parseBoolean(name: string, value: string | undefined, fallback: boolean, problems: string[]): boolean {
  if (value === undefined) return fallback;
  const normalized = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(normalized)) return true;
  if (['0', 'false', 'no', 'off'].includes(normalized)) return false;
  problems.push(`${name} must be true or false`);
  return fallback;
}

/** Milliseconds within the allowed range, or 0 for "off". */
function parseInterval(name: string, value: string | undefined, fallback: number, range: { min: number; max: number }, problems: string[]): number {
  if (value === undefined) return fallback;
  const { min, max } = range;
  const ms = /^\d+$/.test(value) ? Number(value) : NaN;
  if (ms === 0 || (ms >= min && ms <= max)) return ms;
  problems.push(`${name} must be 0 (off) or a number of milliseconds from ${min} to ${max}`);
  return fallback;
}

/** A whole number within the range. */
function parseWholeNumber(name: string, value: string | undefined, fallback: number, range: { min: number; max: number }, unit: string, problems: string[]): number {
  if (value === undefined) return fallback;
  const { min, max } = range;
  const number = /^\d+$/.test(value) ? Number(value) : NaN;
  if (number >= min && number <= max) return number;
  problems.push(`${name} must be a number of ${unit} from ${min} to ${max}`);
  return fallback;
}

function parseIntegerIn(name: string, value: string | undefined, range: { min: number; max: number }, fallback: number, problems: string[]): number {
  if (value === undefined) return fallback;
  const number = /^\d+$/.test(value) ? Number(value) : NaN;
  if (number >= range.min && number <= range.max) return number;
  problems.push(`${name} must be an integer from ${range.min} to ${range.max}`);
  return fallback;
}

/** Hours (fractions allowed, e.g. 36.5) within the allowed range. */
function parseRpoHours(name: string, value: string | undefined, problems: string[]): number {
  if (value === undefined) return CONFIG_DEFAULTS.rpoHours;
  const { min, max } = RPO_HOURS_RANGE;
  const hours = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (hours >= min && hours <= max) return hours;
  problems.push(`${name} must be a number of hours from ${min} to ${max}`);
  return CONFIG_DEFAULTS.rpoHours;
}

function readPem(name: string, path: string, problems: string[]): string | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    problems.push(`${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    return null;
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`${name}: ${path} holds no PEM certificate`);
    return null;
  }
  return text;
}
