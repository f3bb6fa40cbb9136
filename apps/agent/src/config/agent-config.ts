/**
 * The agent's configuration: flags first, then the environment, then defaults. Read and validated once
 * at boot; the only place of the agent that reads `process.env`.
 */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { AgentError, AgentErrorCode } from '../errors/agent-error';

export interface AgentConfig {
  /** Base URL of the controller, without a trailing slash. */
  readonly controllerUrl: string;
  /** Used only when no credential is stored yet. */
  readonly enrollmentSecret: string | null;
  /** Holds credential.json (mode 0600). */
  readonly stateDir: string;
  /** Jobs processed at once by this agent. */
  readonly concurrency: number;
}

export const AGENT_USAGE = `Usage: berth agent [--controller URL] [--enroll-secret SECRET] [--state-dir DIR] [--concurrency N]

  --controller URL        controller base URL (env BERTH_CONTROLLER_URL)
  --enroll-secret SECRET  one-time enrollment secret from "berth host add" (env BERTH_ENROLLMENT_SECRET);
                          used only when no credential is stored yet
  --state-dir DIR         where the agent keeps its credential (env BERTH_AGENT_STATE_DIR; default
                          /var/lib/berth-agent as root, else ~/.local/state/berth-agent)
  --concurrency N         jobs run at once (env BERTH_AGENT_CONCURRENCY; default 1)
`;

const FLAGS = {
  '--controller': 'controller',
  '--enroll-secret': 'enrollSecret',
  '--state-dir': 'stateDir',
  '--concurrency': 'concurrency',
} as const;
type FlagKey = (typeof FLAGS)[keyof typeof FLAGS];

export type AgentCommandLine = { help: true } | { help: false; config: AgentConfig };

export function loadAgentConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AgentCommandLine {
  if (argv.includes('--help') || argv.includes('-h')) return { help: true };
  const flags = parseFlags(argv);
  return {
    help: false,
    config: {
      controllerUrl: parseControllerUrl(flags.controller ?? env['BERTH_CONTROLLER_URL']),
      enrollmentSecret: nonEmpty(flags.enrollSecret ?? env['BERTH_ENROLLMENT_SECRET']),
      stateDir: parseStateDir(flags.stateDir ?? env['BERTH_AGENT_STATE_DIR'], env),
      concurrency: parseConcurrency(flags.concurrency ?? env['BERTH_AGENT_CONCURRENCY']),
    },
  };
}

function parseFlags(argv: readonly string[]): Partial<Record<FlagKey, string>> {
  const flags: Partial<Record<FlagKey, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!Object.prototype.hasOwnProperty.call(FLAGS, name)) {
      throw configError(`unknown argument "${arg}"`);
    }
    const key = FLAGS[name as keyof typeof FLAGS];
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw configError(`${name} needs a value`);
    flags[key] = value;
  }
  return flags;
}

function parseControllerUrl(raw: string | undefined): string {
  if (raw === undefined || raw.trim() === '') {
    throw configError('the controller URL is missing: pass --controller URL or set BERTH_CONTROLLER_URL');
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw configError(`BERTH_CONTROLLER_URL / --controller is not a URL: "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(`BERTH_CONTROLLER_URL / --controller must be http:// or https://, got "${raw}"`);
  }
  return url.toString().replace(/\/+$/, '');
}

function parseStateDir(raw: string | undefined, env: NodeJS.ProcessEnv): string {
  const value = nonEmpty(raw);
  if (value !== null) {
    if (!isAbsolute(value)) throw configError(`BERTH_AGENT_STATE_DIR / --state-dir must be an absolute path, got "${value}"`);
    return value;
  }
  if (process.getuid?.() === 0) return '/var/lib/berth-agent';
  const home = nonEmpty(env['HOME']) ?? homedir();
  return join(home, '.local', 'state', 'berth-agent');
}

function parseConcurrency(raw: string | undefined): number {
  const value = nonEmpty(raw);
  if (value === null) return 1;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 64) {
    throw configError(`BERTH_AGENT_CONCURRENCY / --concurrency must be an integer from 1 to 64, got "${value}"`);
  }
  return Number(value);
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value.trim() === '' ? null : value.trim();
}

function configError(message: string): AgentError {
  return new AgentError(AgentErrorCode.Config, message);
}
