import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { inheritedEnvironment } from '../config/harness-env';
import { LogFile } from './log-file';
import { BERTH_BIN, ORPHAN_GUARD, REPO_ROOT } from './paths';
import { trackProcess, untrackProcess } from './registry';

/** The services bin/berth.js starts (any other word is passed through, e.g. to a stand-in entry script). */
export type ServiceName = 'controller' | 'receiver' | 'agent' | (string & {});

export interface SpawnServiceOptions {
  readonly service: ServiceName;
  /** Flags after `berth <service>`. */
  readonly args?: readonly string[];
  /** Service settings; the harness' own BERTH_*, DATABASE_URL and REDIS_URL are never inherited. */
  readonly env: Readonly<Record<string, string>>;
  /** File that receives stdout and stderr (appended; its directory is created). */
  readonly logFile: string;
  /** Label for messages, e.g. "agent web-1". */
  readonly label?: string;
  /** Entry script run as `node --require <orphan guard> <entry> <service> <args>`; default bin/berth.js. */
  readonly entry?: string;
}

export interface ExitStatus {
  /** Exit code, or 128 + signal number when a signal ended it (as a shell reports it). */
  readonly code: number;
  readonly signal: NodeJS.Signals | null;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };

/** One running `node bin/berth.js <service>` process with its log. */
export class ServiceProcess {
  readonly exited: Promise<ExitStatus>;
  private exitStatus: ExitStatus | null = null;
  /** Whether the harness signalled it (stop, kill, signal): an exit without one is the service's own doing. */
  private signalled = false;

  private constructor(
    readonly label: string,
    child: ChildProcess,
    readonly pid: number,
    readonly log: LogFile,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        untrackProcess(pid);
        this.exitStatus = { code: code ?? 128 + (signal !== null ? (SIGNAL_NUMBERS[signal] ?? 0) : 0), signal };
        resolve(this.exitStatus);
      });
    });
  }

  static async spawn(options: SpawnServiceOptions): Promise<ServiceProcess> {
    await fs.mkdir(path.dirname(options.logFile), { recursive: true });
    const fd = openSync(options.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, ['--require', ORPHAN_GUARD, options.entry ?? BERTH_BIN, options.service, ...(options.args ?? [])], {
        cwd: REPO_ROOT,
        env: { ...inheritedEnvironment(), ...options.env, BERTH_HARNESS_PARENT_PID: String(process.pid) },
        stdio: ['ignore', fd, fd],
        // Own process group: Ctrl-C in a terminal reaches the harness, which stops services in order.
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid;
    if (pid === undefined) {
      const error = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new Error(`could not start ${options.service}: ${error.message}`);
    }
    trackProcess(pid);
    return new ServiceProcess(options.label ?? options.service, child, pid, new LogFile(options.logFile));
  }

  get running(): boolean {
    return this.exitStatus === null;
  }

  /** It exited without being signalled by the harness: it failed or stopped by itself. */
  get exitedUnasked(): boolean {
    return this.exitStatus !== null && !this.signalled;
  }

  /** Sends a signal (SIGTERM by default), waits for the exit, escalates to SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number> {
    if (this.exitStatus !== null) return this.exitStatus.code;
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return (await this.exited).code;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL at once (a crash, as far as the service's peers can tell). */
  kill(): void {
    this.signal('SIGKILL');
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exitStatus !== null) return;
    this.signalled = true;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /** Text for an error: what the service last said. */
  async describeFailure(what: string): Promise<string> {
    const status = this.exitStatus === null ? 'still running' : `exited with ${this.exitStatus.signal ?? `code ${this.exitStatus.code}`}`;
    return `${this.label} ${what} (${status}); log ${this.log.path}:\n${await this.log.tail()}`;
  }
}
