import { execFile, spawnSync } from 'node:child_process';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface RsyncResult {
  readonly seconds: number;
  /** CPU seconds of rsync's processes (user + system of all of them, as the shell that waited for them saw it). */
  readonly cpuSeconds: number;
  readonly literalBytes: number;
  readonly matchedBytes: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
}

/** Path of stock rsync, installing Debian's package when it is missing (says so first). */
export function ensureRsync(log: (line: string) => void): string {
  const found = spawnSync('rsync', ['--version'], { encoding: 'utf8' });
  if (found.status === 0) return 'rsync';
  log('stock rsync not found: installing Debian\'s rsync (apt-get install -y rsync) to compare against it');
  const install = spawnSync('apt-get', ['install', '-y', 'rsync'], { stdio: 'inherit' });
  if (install.status !== 0 || spawnSync('rsync', ['--version']).status !== 0) {
    throw new Error('stock rsync is missing and `apt-get install -y rsync` failed; install it (as root) and run the benchmark again');
  }
  return 'rsync';
}

export function rsyncVersion(): string {
  return spawnSync('rsync', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim() ?? 'rsync';
}

/**
 * One local transfer of `newPath` onto a copy of `basisPath` already at the destination, forced into delta
 * mode (`--no-whole-file`; `--ignore-times` so the quick check never skips the file). rsync then runs its
 * generator, sender and receiver as processes talking over pipes, as it would over ssh.
 */
export async function runRsync(basisPath: string, newPath: string, workDir: string): Promise<RsyncResult> {
  // A single source file and a destination file name: rsync uses the existing destination as the basis.
  const destination = join(workDir, 'rsync-destination');
  await copyFile(basisPath, destination);
  const start = performance.now();
  // Through a shell whose `times` prints the CPU of its waited-for descendants: rsync and the processes it forks.
  const { stdout } = await run('bash', ['-c', 'rsync "$@" && times', 'rsync', '--no-whole-file', '--ignore-times', '--stats', newPath, destination], { maxBuffer: 1024 * 1024 });
  const seconds = (performance.now() - start) / 1000;
  await rm(destination, { force: true });
  return {
    seconds,
    cpuSeconds: childrenCpuSeconds(stdout),
    literalBytes: statNumber(stdout, 'Literal data'),
    matchedBytes: statNumber(stdout, 'Matched data'),
    bytesSent: statNumber(stdout, 'Total bytes sent'),
    bytesReceived: statNumber(stdout, 'Total bytes received'),
  };
}

/** The second line `times` prints: user and system time of the shell's children, as `0m0.123s 0m0.045s`. */
function childrenCpuSeconds(output: string): number {
  const lines = output.trim().split('\n');
  const match = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1]?.trim() ?? '');
  if (match === null) throw new Error(`no CPU times after rsync's output:\n${output}`);
  const [, um, us, sm, ss] = match.map(Number) as [number, number, number, number, number];
  return um * 60 + us + sm * 60 + ss;
}

function statNumber(stats: string, label: string): number {
  const match = new RegExp(`^${label}: ([\\d,]+)`, 'm').exec(stats);
  if (match?.[1] === undefined) throw new Error(`rsync --stats printed no "${label}" line:\n${stats}`);
  return Number(match[1].replace(/,/g, ''));
}
